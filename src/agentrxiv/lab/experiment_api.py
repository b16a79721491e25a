"""Alias of ``agentrxiv.sandbox.experiment_api``, where the in-sandbox experiment API lives.

Kept because programs that labs generated before the sandbox became its own package (saved
in checkpoints and in published papers' code) say ``from agentrxiv.lab.experiment_api
import ...``; resuming such a lab, or re-running such code, must keep working. New code
imports ``agentrxiv.sandbox.experiment_api``."""

from agentrxiv.sandbox.experiment_api import (
    BENCHMARK_ENV,
    DATA_ENV,
    DEFAULT_TIMEOUT_S,
    FIGURE_DIR,
    MODEL_ENV,
    RESULT_FILE,
    SOCKET_ENV,
    SPLIT_ENV,
    ExperimentResult,
    GatewayChatModel,
    grade,
    load_problems,
    read_result,
    save_figure,
    target_model,
    write_result,
)

__all__ = [
    "BENCHMARK_ENV",
    "DATA_ENV",
    "DEFAULT_TIMEOUT_S",
    "FIGURE_DIR",
    "MODEL_ENV",
    "RESULT_FILE",
    "SOCKET_ENV",
    "SPLIT_ENV",
    "ExperimentResult",
    "GatewayChatModel",
    "grade",
    "load_problems",
    "read_result",
    "save_figure",
    "target_model",
    "write_result",
]

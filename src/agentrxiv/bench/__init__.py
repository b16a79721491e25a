"""The MATH-500 evaluation harness: loader, answer extraction and grading, techniques,
the concurrent runner with Wilson intervals, and the ``agentrxiv bench`` report."""

from agentrxiv.bench.grading import GradeResult, extract_answer, grade, is_equivalent
from agentrxiv.bench.math500 import Problem, load_math500, sample_path
from agentrxiv.bench.report import EvalReport, ProblemRecord, wilson_interval
from agentrxiv.bench.runner import EvaluationStopped, evaluate
from agentrxiv.bench.techniques import Technique, resolve_technique

__all__ = [
    "EvalReport",
    "EvaluationStopped",
    "GradeResult",
    "Problem",
    "ProblemRecord",
    "Technique",
    "evaluate",
    "extract_answer",
    "grade",
    "is_equivalent",
    "load_math500",
    "resolve_technique",
    "sample_path",
    "wilson_interval",
]

"""What a lab's sandbox may see of its benchmark: the dev split, written as JSONL outside
every run's working directory (``<lab_dir>/data/<name>-dev.jsonl``, mounted read-only), and the
environment that points programs at it. The test split is never written anywhere; inside the
sandbox ``AGENTRXIV_ALLOWED_SPLIT=dev`` makes the registry refuse any other split."""

from __future__ import annotations

import re
from pathlib import Path

from agentrxiv.bench.registry import ALLOWED_SPLIT_ENV
from agentrxiv.lab.config import LabConfig

DATA_ENV = "AGENTRXIV_DATA"
BENCHMARK_ENV = "AGENTRXIV_BENCHMARK"
SPLIT_ENV = "AGENTRXIV_SPLIT"
LAB_SPLIT = "dev"


def dev_data_path(lab_dir: Path, spec: str) -> Path:
    """Where the lab's dev problems live (a file name safe for any benchmark spec)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec).strip("_") or "benchmark"
    return lab_dir.resolve() / "data" / f"{safe}-{LAB_SPLIT}.jsonl"


def prepare_dev_data(config: LabConfig, lab_dir: Path) -> tuple[Path, dict[str, str]]:
    """Write the dev split's JSONL and return its path and the sandbox environment."""
    bench = config.bench()
    path = bench.write_jsonl(LAB_SPLIT, dev_data_path(lab_dir, bench.spec))
    env = {
        DATA_ENV: str(path),
        BENCHMARK_ENV: bench.spec,
        SPLIT_ENV: LAB_SPLIT,
        ALLOWED_SPLIT_ENV: LAB_SPLIT,
    }
    return path, env

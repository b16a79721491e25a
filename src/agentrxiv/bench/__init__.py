"""The evaluation harness: the benchmark registry (math500, arith, multiple choice) with
dev/test splits, answer extraction and grading per format, techniques, the concurrent runner
with Wilson intervals, and the ``agentrxiv bench`` report."""

from agentrxiv.bench.grading import GradeResult, extract_answer, grade, is_equivalent
from agentrxiv.bench.math500 import Problem, load_math500, sample_path
from agentrxiv.bench.registry import Benchmark, benchmark_names, get_benchmark
from agentrxiv.bench.report import EvalReport, ProblemRecord, wilson_interval
from agentrxiv.bench.runner import EvaluationStopped, evaluate
from agentrxiv.bench.techniques import Technique, resolve_technique

__all__ = [
    "Benchmark",
    "EvalReport",
    "EvaluationStopped",
    "GradeResult",
    "Problem",
    "ProblemRecord",
    "Technique",
    "evaluate",
    "benchmark_names",
    "extract_answer",
    "get_benchmark",
    "grade",
    "is_equivalent",
    "load_math500",
    "resolve_technique",
    "sample_path",
    "wilson_interval",
]

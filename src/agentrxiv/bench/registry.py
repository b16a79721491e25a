"""The benchmark registry: a benchmark is a loader, an answer format, a grader and a
deterministic split into ``dev`` and ``test`` by a fixed seed.

Built in: ``math500`` (file or bundled sample; stratified 40% dev by subject and level:
200 dev / 300 test on the full 500), ``arith`` (synthetic, generated from a seed, see
``bench.arith``) and the multiple-choice ``gpqa-diamond``, ``mmlu-pro`` and ``medqa``
(local JSONL or, only when asked with ``data="hub"``, a download; see ``bench.multiple_choice``).

Labs see only ``dev``; ``test`` is reserved for verification. A process whose environment sets
``AGENTRXIV_ALLOWED_SPLIT=dev`` (the lab's sandbox does) is refused any other split.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentrxiv.bench.arith import make_arith
from agentrxiv.bench.base import (
    ALLOWED_SPLIT_ENV,
    DEFAULT_SEED,
    Benchmark,
    FileBenchmark,
    check_split,
)
from agentrxiv.bench.math500 import Problem, load_math500, resolve_data_path
from agentrxiv.bench.multiple_choice import MC_BENCHMARKS, make_multiple_choice
from agentrxiv.errors import ConfigError

__all__ = [
    "ALLOWED_SPLIT_ENV",
    "Benchmark",
    "FileBenchmark",
    "benchmark_names",
    "check_split",
    "get_benchmark",
    "load_problems_jsonl",
    "parse_spec",
]


def _math500(data: str | Path | None, seed: int, **options: Any) -> Benchmark:
    _no_options("math500", options)
    path = resolve_data_path(None if str(data) == "hub" else data or "sample")
    return FileBenchmark("math500", "math", lambda: load_math500(path), seed=seed, source=str(path))


def _no_options(name: str, options: dict[str, Any]) -> None:
    if options:
        raise ConfigError(f"{name} takes no options (got {', '.join(sorted(options))})")


def _factories() -> dict[str, Callable[..., Benchmark]]:
    table: dict[str, Callable[..., Benchmark]] = {"math500": _math500, "arith": make_arith}
    for name in MC_BENCHMARKS:
        table[name] = _bind(make_multiple_choice, name)
    return table


def _bind(function: Callable[..., Benchmark], name: str) -> Callable[..., Benchmark]:
    """``function`` with the benchmark name bound first."""

    def bound(data: str | Path | None, seed: int, **options: Any) -> Benchmark:
        return function(name, data, seed, **options)

    return bound


def benchmark_names() -> list[str]:
    """The names ``get_benchmark`` knows."""
    return list(_factories())


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"arith:digits=3,operation=mul"`` -> ``("arith", {"digits": "3", ...})``."""
    name, _, rest = spec.strip().partition(":")
    options: dict[str, str] = {}
    for part in rest.split(",") if rest.strip() else []:
        key, equals, value = part.partition("=")
        if not equals or not key.strip():
            raise ConfigError(f"bad benchmark setting {part!r} in {spec!r}: expected key=value")
        options[key.strip()] = value.strip()
    return name.strip(), options


def get_benchmark(
    name: str, *, data: str | Path | None = None, seed: int | None = None, **options: Any
) -> Benchmark:
    """The benchmark ``name`` (or a spec ``name:key=value,...``); ``data`` is a JSONL path,
    ``"sample"`` (math500) or ``"hub"`` (download, needs network); ``options`` are its
    settings (arith: digits, operands, operation, dev_size, test_size)."""
    base, spec_options = parse_spec(name)
    merged: dict[str, Any] = {**spec_options, **options}
    if seed is None and "seed" in merged:
        try:
            seed = int(merged["seed"])
        except ValueError:
            raise ConfigError(
                f"benchmark seed must be an integer, got {merged['seed']!r}"
            ) from None
    merged.pop("seed", None)
    factories = _factories()
    if base not in factories:
        raise ConfigError(f"unknown benchmark {base!r}", hint=f"use one of {', '.join(factories)}")
    return factories[base](data, DEFAULT_SEED if seed is None else seed, **merged)


def load_problems_jsonl(path: str | Path) -> list[Problem]:
    """Problems written by ``Benchmark.write_jsonl`` (what a lab's sandbox reads)."""
    return load_math500(path)

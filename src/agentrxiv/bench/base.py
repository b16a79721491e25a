"""What a benchmark is: a named problem set with dev/test splits, a grader and few-shot
examples, split reproducibly from a seed (``Benchmark``, ``FileBenchmark``).

The concrete benchmarks (``math500``, ``arith``, the multiple-choice sets) and the lookup by
name live in ``registry``."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentrxiv.bench.answers import ANSWER_FORMATS, grade_as
from agentrxiv.bench.grading import GradeResult
from agentrxiv.bench.math500 import Problem
from agentrxiv.errors import ConfigError

SPLITS: tuple[str, ...] = ("dev", "test", "all")
#: The fixed seed of every split (and of arith's generation) unless one is given.
DEFAULT_SEED = 2026
#: The share of a file benchmark's problems in ``dev`` (MATH-500: 200 of 500).
DEV_FRACTION = 0.4
ALLOWED_SPLIT_ENV = "AGENTRXIV_ALLOWED_SPLIT"


def check_split(split: str) -> str:
    """``split`` if it is dev, test or all and this process may read it."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}: use dev, test or all")
    allowed = os.environ.get(ALLOWED_SPLIT_ENV)
    if allowed and split != allowed:
        raise ConfigError(f"only the {allowed} split is available here, not {split!r}")
    return split


class Benchmark:
    """A benchmark: ``problems(split)``, ``grade(answer, problem)`` and ``write_jsonl``.

    Subclasses implement ``_make_splits`` (dev and test lists, disjoint, deterministic)."""

    def __init__(
        self,
        name: str,
        answer_format: str,
        *,
        seed: int = DEFAULT_SEED,
        source: str = "",
        options: dict[str, Any] | None = None,
        default_options: dict[str, Any] | None = None,
        default_max_tokens: int | None = None,
    ) -> None:
        if answer_format not in ANSWER_FORMATS:
            raise ConfigError(f"unknown answer format {answer_format!r}")
        self.name = name
        self.answer_format = answer_format
        self.seed = seed
        self.source = source
        self.options = dict(options or {})
        self.default_options = dict(default_options or {})
        #: A completion cap that suits the answers (arith: short), when the caller sets none.
        self.default_max_tokens = default_max_tokens
        self._splits: dict[str, list[Problem]] | None = None

    @property
    def spec(self) -> str:
        """The name plus every non-default setting, e.g. ``arith:digits=3,operation=mul``:
        what papers record as their benchmark, and what ``get_benchmark`` accepts back."""
        changed = {
            k: v for k, v in sorted(self.options.items()) if self.default_options.get(k) != v
        }
        if self.seed != DEFAULT_SEED:
            changed["seed"] = self.seed
        if not changed:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v}" for k, v in changed.items())

    def _make_splits(self) -> dict[str, list[Problem]]:
        raise NotImplementedError

    def _all_splits(self) -> dict[str, list[Problem]]:
        if self._splits is None:
            splits = self._make_splits()
            dev_ids = {p.unique_id for p in splits["dev"]}
            if dev_ids & {p.unique_id for p in splits["test"]}:
                raise ConfigError(f"{self.name}: dev and test splits overlap")  # a bug guard
            self._splits = splits
        return self._splits

    def problems(self, split: str = "all", limit: int | None = None) -> list[Problem]:
        """The problems of ``split`` (dev, test or all) in a fixed order; the first ``limit``."""
        check_split(split)
        splits = self._all_splits()
        if split == "all":
            chosen = splits.get("all", splits["dev"] + splits["test"])
        else:
            chosen = splits[split]
        if limit is not None:
            if limit < 1:
                raise ConfigError(f"limit must be at least 1, got {limit}")
            chosen = chosen[:limit]
        return list(chosen)

    def sizes(self) -> dict[str, int]:
        """How many problems each split holds."""
        splits = self._all_splits()
        return {"dev": len(splits["dev"]), "test": len(splits["test"])}

    def grade_result(self, answer: str, problem: Problem) -> GradeResult:
        """The verdict on one model output with the extracted answer and the method."""
        return grade_as(self.answer_format, answer or "", problem.answer, problem.problem)

    def grade(self, answer: str, problem: Problem) -> bool:
        """Whether the model output ``answer`` is correct for ``problem``."""
        return self.grade_result(answer, problem).correct

    def few_shot_examples(self, k: int = 3) -> list[Problem]:
        """Worked examples for few-shot prompting: never test problems (default: dev[:k])."""
        return self._all_splits()["dev"][:k]

    def write_jsonl(self, split: str, path: Path) -> Path:
        """Write ``split``'s problems as JSONL (the ``Problem`` fields) to ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(p.model_dump(), ensure_ascii=False) for p in self.problems(split)]
        temp = target.with_name(f".{target.name}.tmp")
        temp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(temp, target)
        return target

    def info(self) -> dict[str, Any]:
        """What identifies this benchmark's problems (recorded in reports)."""
        return {
            "benchmark": self.name,
            "spec": self.spec,
            "answer_format": self.answer_format,
            "seed": self.seed,
            "source": self.source,
            "options": self.options,
            "sizes": self.sizes(),
        }


def _rank(seed: int, unique_id: str) -> str:
    return hashlib.sha256(f"{seed}:{unique_id}".encode()).hexdigest()


def stratified_split(
    problems: list[Problem], dev_fraction: float, seed: int
) -> dict[str, list[Problem]]:
    """Split by (subject, level): round(n * dev_fraction) dev problems, shared out over the
    strata by largest remainder; within a stratum the lowest SHA-256(seed:id) go to dev.
    File order is kept in both splits."""
    strata: dict[tuple[str, int], list[Problem]] = {}
    for problem in problems:
        strata.setdefault((problem.subject, problem.level), []).append(problem)
    n_dev = round(len(problems) * dev_fraction)
    quotas = {key: n_dev * len(group) / len(problems) for key, group in strata.items()}
    counts = {key: int(quota) for key, quota in quotas.items()}
    leftover = n_dev - sum(counts.values())
    by_remainder = sorted(quotas, key=lambda k: (counts[k] - quotas[k], _rank(seed, str(k))))
    for key in by_remainder[:leftover]:
        counts[key] += 1
    dev_ids: set[str] = set()
    for key, group in strata.items():
        ranked = sorted(group, key=lambda p: _rank(seed, p.unique_id))
        dev_ids.update(p.unique_id for p in ranked[: counts[key]])
    return {
        "dev": [p for p in problems if p.unique_id in dev_ids],
        "test": [p for p in problems if p.unique_id not in dev_ids],
        "all": list(problems),
    }


class FileBenchmark(Benchmark):
    """A benchmark read by ``loader`` and split by ``stratified_split``."""

    def __init__(
        self,
        name: str,
        answer_format: str,
        loader: Callable[[], list[Problem]],
        *,
        dev_fraction: float = DEV_FRACTION,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, answer_format, **kwargs)
        self.loader = loader
        self.dev_fraction = dev_fraction

    def _make_splits(self) -> dict[str, list[Problem]]:
        problems = self.loader()
        seen: set[str] = set()
        for problem in problems:
            if problem.unique_id in seen:
                raise ConfigError(f"{self.name}: duplicate problem id {problem.unique_id!r}")
            seen.add(problem.unique_id)
        return stratified_split(problems, self.dev_fraction, self.seed)

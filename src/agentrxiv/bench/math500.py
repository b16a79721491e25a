"""MATH-500 problems: the ``Problem`` record and loaders for a JSONL file, the bundled
20-problem sample, or (only when asked explicitly) the Hugging Face hub copy."""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ValidationError

from agentrxiv.errors import ConfigError

logger = logging.getLogger(__name__)

HUB_REPO = "HuggingFaceH4/MATH-500"
HUB_FILENAME = "test.jsonl"
SAMPLE_NAME = "math500_sample20.jsonl"


class Problem(BaseModel):
    """One benchmark problem in the ``HuggingFaceH4/MATH-500`` format; ``answer_format``
    (``math``, ``integer`` or ``letter``) says how answers to it are graded."""

    problem: str
    solution: str
    answer: str
    subject: str
    level: int
    unique_id: str
    answer_format: str = "math"


def sample_path() -> Path:
    """Path of the bundled, stratified 20-problem sample (MIT licence, upstream fields)."""
    return Path(str(resources.files("agentrxiv.bench") / "data" / SAMPLE_NAME))


def download_math500() -> Path:
    """Download the MATH-500 test file from the Hugging Face hub (network needed)."""
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(HUB_REPO, HUB_FILENAME, repo_type="dataset"))
    except Exception as exc:  # noqa: BLE001 - offline, missing package, or hub error
        raise ConfigError(
            f"could not download {HUB_REPO}/{HUB_FILENAME} from the Hugging Face hub "
            f"({type(exc).__name__})",
            hint="pass --data PATH to a local MATH-500 JSONL file, or use --data sample",
        ) from exc


def resolve_data_path(path: str | Path | None) -> Path:
    """The file to read: ``None`` downloads from the hub, ``"sample"`` is the bundled one."""
    if path is None:
        return download_math500()
    if str(path) == "sample":
        return sample_path()
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise ConfigError(f"MATH-500 file not found: {resolved}")
    return resolved


def parse_problems(lines: list[str], source: str) -> list[Problem]:
    """Parse JSONL lines into problems; a bad line raises one error naming line and field."""
    problems: list[Problem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}, line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise ConfigError(f"{source}, line {number}: expected a JSON object")
        try:
            problems.append(Problem.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "?"
            raise ConfigError(
                f"{source}, line {number}: field '{field}': {first['msg'].lower()}"
            ) from exc
    return problems


def load_math500(path: str | Path | None = None, limit: int | None = None) -> list[Problem]:
    """Load MATH-500 problems from a JSONL ``path`` (``None``: the hub; ``"sample"``: bundled)."""
    source = resolve_data_path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {source}: {exc}") from exc
    problems = parse_problems(lines, str(source))
    if not problems:
        raise ConfigError(f"{source} holds no problems")
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"limit must be at least 1, got {limit}")
        problems = problems[:limit]
    logger.debug("loaded %d problems from %s", len(problems), source)
    return problems


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file (recorded in reports so results name their data)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def stratified_sample(problems: list[Problem], size: int) -> list[Problem]:
    """A deterministic sample of ``size`` problems, stratified by subject (largest remainder);
    within a subject, evenly spaced picks over (level, SHA-256 of ``unique_id``) spread the
    levels. Input order is kept."""
    by_subject: dict[str, list[Problem]] = {}
    for problem in problems:
        by_subject.setdefault(problem.subject, []).append(problem)
    quotas = {s: size * len(group) / len(problems) for s, group in by_subject.items()}
    counts = {s: int(q) for s, q in quotas.items()}
    leftover = size - sum(counts.values())
    for subject in sorted(quotas, key=lambda s: (counts[s] - quotas[s], s))[:leftover]:
        counts[subject] += 1
    chosen: set[str] = set()
    for subject, group in by_subject.items():
        ranked = sorted(group, key=_level_then_hash)
        count = counts[subject]
        picks = [int((i + 0.5) * len(ranked) / count) for i in range(count)]
        chosen.update(ranked[i].unique_id for i in picks)
    return [p for p in problems if p.unique_id in chosen]


def _level_then_hash(problem: Problem) -> tuple[int, str]:
    return problem.level, hashlib.sha256(problem.unique_id.encode()).hexdigest()

"""Multiple-choice benchmarks for transfer studies: ``gpqa-diamond``, ``mmlu-pro``, ``medqa``.

Each reads a local JSONL file whose lines use the Hugging Face dataset's own column names:

- ``gpqa-diamond`` (``Idavidrein/gpqa``, config ``gpqa_diamond``): ``Question``,
  ``Correct Answer``, ``Incorrect Answer 1`` .. ``3``; optional ``Record ID``,
  ``High-level domain``. The four options are shuffled per question by the benchmark seed.
- ``mmlu-pro`` (``TIGER-Lab/MMLU-Pro``): ``question``, ``options`` (list, up to 10),
  ``answer`` (letter) or ``answer_index``, ``category``; optional ``question_id``.
- ``medqa`` (``GBaker/MedQA-USMLE-4-options``): ``question``, ``options`` (dict ``A``-``D``
  or ``A``-``E``), ``answer_idx`` (letter); optional ``meta_info``.

``data="hub"`` downloads the rows through the Hugging Face datasets-server API with httpx
(network needed; ``HF_TOKEN`` for the gated GPQA) into ``$AGENTRXIV_HOME/bench``; nothing
downloads unless asked. The problem text lists the options; the gold answer is a letter.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentrxiv.bench.answers import ALL_LETTERS
from agentrxiv.bench.base import Benchmark, FileBenchmark
from agentrxiv.bench.math500 import Problem
from agentrxiv.errors import ConfigError

INSTRUCTION = "Answer with the letter ({first}-{last}) of the correct option."
HUB_ROWS_URL = "https://datasets-server.huggingface.co/rows"
HUB_PAGE = 100
#: name -> (Hugging Face dataset, config, split)
HUB_SOURCES = {
    "gpqa-diamond": ("Idavidrein/gpqa", "gpqa_diamond", "train"),
    "mmlu-pro": ("TIGER-Lab/MMLU-Pro", "default", "test"),
    "medqa": ("GBaker/MedQA-USMLE-4-options", "default", "test"),
}
MC_BENCHMARKS: tuple[str, ...] = tuple(HUB_SOURCES)


def format_question(question: str, options: list[str]) -> str:
    """The question followed by lettered options and the answer instruction."""
    lines = [question.strip(), ""]
    lines += [f"{ALL_LETTERS[i]}) {str(option).strip()}" for i, option in enumerate(options)]
    lines += ["", INSTRUCTION.format(first="A", last=ALL_LETTERS[len(options) - 1])]
    return "\n".join(lines)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def _field(row: dict[str, Any], name: str) -> Any:
    if name not in row or row[name] in (None, ""):
        raise ValueError(f"missing field '{name}'")
    return row[name]


def gpqa_problem(row: dict[str, Any], seed: int) -> Problem:
    """A GPQA row as a problem; the options' order comes from the seed and the record."""
    question = str(_field(row, "Question"))
    correct = str(_field(row, "Correct Answer")).strip()
    wrong = [str(_field(row, f"Incorrect Answer {i}")).strip() for i in (1, 2, 3)]
    uid = str(row.get("Record ID") or _digest(question))
    options = [correct, *wrong]
    random.Random(f"gpqa:{seed}:{uid}").shuffle(options)
    return Problem(
        problem=format_question(question, options),
        solution=str(row.get("Explanation") or ""),
        answer=ALL_LETTERS[options.index(correct)],
        subject=str(row.get("High-level domain") or "gpqa"),
        level=0,
        unique_id=f"gpqa-{uid}",
        answer_format="letter",
    )


def mmlu_pro_problem(row: dict[str, Any], seed: int) -> Problem:
    """An MMLU-Pro row as a problem (options as given; gold ``answer`` or ``answer_index``)."""
    question = str(_field(row, "question"))
    options = [str(o) for o in _field(row, "options")]
    if not 2 <= len(options) <= len(ALL_LETTERS):
        raise ValueError(f"'options' must hold 2-{len(ALL_LETTERS)} entries")
    if row.get("answer") not in (None, ""):
        answer = str(row["answer"]).strip().upper()
    else:
        answer = ALL_LETTERS[int(_field(row, "answer_index"))]
    if answer not in ALL_LETTERS[: len(options)]:
        raise ValueError(f"'answer' {answer!r} is not one of the options")
    uid = str(row.get("question_id") if row.get("question_id") is not None else _digest(question))
    return Problem(
        problem=format_question(question, options),
        solution=str(row.get("cot_content") or ""),
        answer=answer,
        subject=str(_field(row, "category")),
        level=0,
        unique_id=f"mmlu-pro-{uid}",
        answer_format="letter",
    )


def medqa_problem(row: dict[str, Any], seed: int) -> Problem:
    """A MedQA row (``options`` dict keyed A-D or A-E, gold ``answer_idx``) as a problem."""
    question = str(_field(row, "question"))
    raw = _field(row, "options")
    if isinstance(raw, list):  # some copies store [{"key": "A", "value": "..."}]
        raw = {item["key"]: item["value"] for item in raw}
    if not isinstance(raw, dict):
        raise ValueError("'options' must be a mapping of letters to options")
    letters = sorted(raw)
    if "".join(letters) != ALL_LETTERS[: len(letters)] or len(letters) < 2:
        raise ValueError(f"'options' keys must be A, B, C, ... (got {', '.join(letters)})")
    answer = str(_field(row, "answer_idx")).strip().upper()
    if answer not in letters:
        raise ValueError(f"'answer_idx' {answer!r} is not one of the options")
    meta = row.get("meta_info")
    return Problem(
        problem=format_question(question, [str(raw[k]) for k in letters]),
        solution=str(row.get("answer") or ""),
        answer=answer,
        subject=str(meta) if isinstance(meta, str) and meta else "medqa",
        level=0,
        unique_id=f"medqa-{_digest(question, json.dumps(raw, sort_keys=True))}",
        answer_format="letter",
    )


PARSERS: dict[str, Callable[[dict[str, Any], int], Problem]] = {
    "gpqa-diamond": gpqa_problem,
    "mmlu-pro": mmlu_pro_problem,
    "medqa": medqa_problem,
}


def load_rows(name: str, path: Path, seed: int) -> list[Problem]:
    """Parse a local JSONL file; a bad line raises one error naming the line and field."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("expected a JSON object")
            problem = PARSERS[name](row, seed)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ConfigError(f"{path}, line {number}: {exc}") from exc
        if problem.unique_id in seen:  # identical questions: keep both, distinct ids
            seen[problem.unique_id] += 1
            problem.unique_id += f"-{seen[problem.unique_id]}"
        else:
            seen[problem.unique_id] = 0
        problems.append(problem)
    if not problems:
        raise ConfigError(f"{path} holds no problems")
    return problems


def download(name: str) -> Path:
    """Fetch ``name``'s rows from the Hugging Face datasets-server into the cache (once)."""
    import httpx

    from agentrxiv.paths import home_dir

    target = home_dir() / "bench" / f"{name}.jsonl"
    if target.is_file():
        return target
    dataset, config, split = HUB_SOURCES[name]
    token = os.environ.get("HF_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    rows: list[dict[str, Any]] = []
    try:
        with httpx.Client(timeout=60, headers=headers) as client:
            while True:
                params = {"dataset": dataset, "config": config, "split": split}
                params.update(offset=str(len(rows)), length=str(HUB_PAGE))
                response = client.get(HUB_ROWS_URL, params=params)
                response.raise_for_status()
                page = response.json()
                rows += [item["row"] for item in page.get("rows", [])]
                if not page.get("rows") or len(rows) >= int(page.get("num_rows_total", 0)):
                    break
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"could not download {dataset} from the Hugging Face hub ({exc})",
            hint="pass --data PATH to a local JSONL file (GPQA is gated: set HF_TOKEN)",
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    os.replace(temp, target)
    return target


def make_multiple_choice(
    name: str, data: str | Path | None, seed: int, **options: Any
) -> Benchmark:
    """The multiple-choice benchmark ``name`` from a JSONL path or ``"hub"``."""
    if options:
        raise ConfigError(f"{name} takes no options (got {', '.join(sorted(options))})")
    if data is None:
        raise ConfigError(
            f"{name} needs data: --data PATH to a local JSONL file, or --data hub to download it"
        )
    path = download(name) if str(data) == "hub" else Path(data).expanduser()
    if not path.is_file():
        raise ConfigError(f"{name} data file not found: {path}")
    return FileBenchmark(
        name,
        "letter",
        lambda: load_rows(name, path, seed),
        seed=seed,
        source=str(path),
        default_max_tokens=None,
    )

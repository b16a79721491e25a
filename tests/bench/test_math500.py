"""The MATH-500 loader and the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrxiv.bench.math500 import load_math500, sample_path, stratified_sample
from agentrxiv.errors import ConfigError


def test_load_and_limit(math500_path: Path) -> None:
    problems = load_math500(math500_path, limit=7)
    assert len(problems) == 7
    assert problems[0].unique_id == "test/precalculus/807.json"
    assert isinstance(problems[0].level, int)


def test_bundled_sample_is_the_stratified_draw(math500_path: Path) -> None:
    sample = load_math500("sample")
    assert len(sample) == 20
    assert [p.unique_id for p in sample] == [
        p.unique_id for p in stratified_sample(load_math500(math500_path), 20)
    ]
    assert len({p.subject for p in sample}) == 7
    assert len({p.level for p in sample}) == 5
    upstream = {json.loads(line)["unique_id"]: line for line in math500_path.open()}
    for line in sample_path().read_text().splitlines():
        assert upstream[json.loads(line)["unique_id"]].rstrip("\n") == line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"problem": "x"}\n', "line 1: field 'solution'"),
        ("\n" + "not json\n", "line 2: not valid JSON"),
        ("[1, 2]\n", "line 1: expected a JSON object"),
        ("", "holds no problems"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_math500(path)


def test_bad_level_type_names_field(tmp_path: Path) -> None:
    row = {
        "problem": "p",
        "solution": "s",
        "answer": "1",
        "subject": "A",
        "level": "hard",
        "unique_id": "u",
    }
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ConfigError, match="line 1: field 'level'"):
        load_math500(path)


def test_missing_file_and_offline_hub(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_math500(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match="Hugging Face hub"):
        load_math500(None)  # HF_HUB_OFFLINE=1 in tests

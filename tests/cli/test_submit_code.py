"""Papers name their technique: ``agentrxiv submit PAPER.md --code FILE`` with front matter
``technique: FILE:function`` against a real server; bad names fail on one line (CLI) or with
422 (API); the lab's extraction of ``solve`` from an experiment program."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentrxiv.archive.technique import check_technique, defined_function, extract_technique
from agentrxiv.bench.registry import get_benchmark
from agentrxiv.lab.technique_space import (
    TechniqueOptions,
    render_driver,
    render_technique,
    worked_examples,
)

pytestmark = pytest.mark.integration

TECHNIQUE = '''"""Three worked examples."""

EXAMPLES = [("What is 1 + 2?", "3")]


def solve(problem, model):
    messages = [{"role": "user", "content": problem}]
    return model.chat(messages, max_tokens=16).text
'''


def paper_file(tmp_path: Path, technique: str) -> Path:
    path = tmp_path / "paper.md"
    path.write_text(
        "---\n"
        "title: Few-shot arithmetic\n"
        "abstract: Worked examples help a small model add.\n"
        f"technique: {technique}\n"
        "results:\n"
        "  - {benchmark: arith, metric: accuracy, value: 0.3, n: 200, split: dev,"
        " model: local/smollm2}\n"
        "---\n# Method\nWe show three worked examples.\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module", autouse=True)
def warm_server(sqlite_server) -> None:  # noqa: ANN001
    """The first paper loads the server's embedding model: slow on a busy machine, so it is
    posted here with a long timeout rather than by the CLI under test."""
    paper = {"title": "Warm-up", "abstract": "Loads the embedding model."}
    with sqlite_server.client(sqlite_server.token) as client:
        client.post("/api/v1/papers", json=paper, timeout=600).raise_for_status()


def submit(server, *args: str) -> subprocess.CompletedProcess[str]:  # noqa: ANN001
    return subprocess.run(
        [sys.executable, "-m", "agentrxiv.cli.main", "submit", *args]
        + ["--server", server.url, "--token", server.token],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_submit_code_attaches_files_and_records_the_technique(sqlite_server, tmp_path: Path):
    code = tmp_path / "fewshot.py"
    code.write_text(TECHNIQUE, encoding="utf-8")
    helper = tmp_path / "notes.txt"
    helper.write_text("raw notes", encoding="utf-8")
    paper = paper_file(tmp_path, "fewshot.py:solve")
    proc = submit(sqlite_server, str(paper), "--code", str(code), "--code", str(helper))
    assert proc.returncode == 0, proc.stderr
    paper_id = proc.stdout.strip()
    with sqlite_server.client() as client:
        body = client.get(f"/api/v1/papers/{paper_id}").json()
    assert body["technique"] == "fewshot.py:solve"
    assert body["code_files"] == {"fewshot.py": TECHNIQUE, "notes.txt": "raw notes"}


@pytest.mark.parametrize(
    ("technique", "attach", "message"),
    [
        ("other.py:solve", True, "'other.py' is not one of the attached code files"),
        ("fewshot.py:answer", True, "defines no top-level answer(problem, model)"),
        ("fewshot.py:solve", False, "'fewshot.py' is not one of the attached code files"),
        ("fewshot.py", True, "must look like FILE.py:function"),
    ],
)
def test_submit_refuses_a_technique_it_cannot_find(
    sqlite_server, tmp_path: Path, technique: str, attach: bool, message: str
):
    code = tmp_path / "fewshot.py"
    code.write_text(TECHNIQUE, encoding="utf-8")
    args = [str(paper_file(tmp_path, technique))] + (["--code", str(code)] if attach else [])
    proc = submit(sqlite_server, *args)
    assert proc.returncode != 0 and proc.stdout == ""
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_api_answers_422_for_a_technique_outside_the_code(sqlite_server):
    paper = {
        "title": "t",
        "abstract": "a",
        "code_files": {"a.py": "def solve(problem):\n    return ''\n"},
        "technique": "a.py:solve",
    }
    with sqlite_server.client(sqlite_server.token) as client:
        response = client.post("/api/v1/papers", json=paper)
    assert response.status_code == 422
    assert "solve() must take (problem, model)" in response.text


def test_extraction_keeps_solve_and_drops_the_experiment_driver():
    options = TechniqueOptions(samples=3, temperature=0.7, max_tokens=32)
    program = render_technique(
        options, "check", "Check your work.", worked_examples(get_benchmark("arith"))
    ) + render_driver(
        name="check", benchmark="arith", limit=None, max_tokens=32, concurrency=2, held_out=[]
    )
    assert defined_function(program, "solve") == ""
    code = extract_technique(program, "The technique.")
    assert defined_function(code, "solve") == ""
    assert "def main" not in code and "__main__" not in code and "def build_messages" in code
    assert code.startswith('"""The technique."""')
    namespace: dict = {}
    exec(compile(code, "technique.py", "exec"), namespace)  # noqa: S102 - rendered template
    assert namespace["OPTIONS"]["samples"] == 3
    with pytest.raises(ValueError, match="defines no top-level solve"):
        extract_technique("def main():\n    pass\n", "x")
    assert check_technique("a.py:solve", {"a.py": "solve = print\n"}) == ""
    assert "does not parse" in check_technique("a.py:solve", {"a.py": "def solve(:\n"})

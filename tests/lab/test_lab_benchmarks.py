"""Labs see only the dev split (the real sandbox cannot read a test problem), record the split
and benchmark they measured, and publish their technique as ``technique.py:solve``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agentrxiv.archive.technique import defined_function
from agentrxiv.bench.registry import get_benchmark
from agentrxiv.client import ArchiveClient
from agentrxiv.lab.devdata import prepare_dev_data
from agentrxiv.llm.scripted import register_script, unregister_script
from agentrxiv.sandbox import SandboxConfig, SandboxRunner

SNOOP = r"""
import json, os, re
from agentrxiv.bench.registry import get_benchmark
from agentrxiv.sandbox.experiment_api import load_problems

found, readable = set(), 0
roots = [os.path.dirname(os.path.dirname(os.getcwd())), os.getcwd(), "/tmp"]
roots.append(os.path.dirname(os.environ["AGENTRXIV_DATA"]))
for root in roots:
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                with open(os.path.join(folder, name), encoding="utf-8", errors="ignore") as f:
                    found.update(re.findall(r"arith-[0-9a-f]{12}", f.read()))
                readable += 1
            except OSError:
                pass
try:
    get_benchmark("arith").problems("test")
    refused = False
except Exception as exc:
    refused = "only the dev split" in str(exc)
loaded = [p.unique_id for p in load_problems()]
print(json.dumps({"found": sorted(found), "loaded": loaded, "refused": refused,
                  "readable": readable}))
"""


def arith_config(labkit, **overrides):  # noqa: ANN001, ANN201
    return labkit.config(
        benchmark="arith", benchmark_options={"dev_size": 12, "test_size": 20}, **overrides
    )


def test_sandbox_sees_the_dev_split_and_no_test_problem(labkit, tmp_path: Path) -> None:
    config = arith_config(labkit)
    lab_dir = config.lab_dir
    path, env = prepare_dev_data(config, lab_dir)
    bench = get_benchmark("arith", dev_size=12, test_size=20)
    dev_ids = {p.unique_id for p in bench.problems("dev")}
    test_ids = {p.unique_id for p in bench.problems("test")}
    assert path.parent == lab_dir.resolve() / "data" and env["AGENTRXIV_DATA"] == str(path)
    assert set(re.findall(r"arith-[0-9a-f]{12}", path.read_text())) == dev_ids
    runner = SandboxRunner(
        lab_dir / "runs", None, "test", SandboxConfig(wall_s=60), env=env, data_files=[path]
    )
    run = runner.run(SNOOP, "snoop", with_model=False)
    assert run.ok, run.error
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(seen["loaded"]) == dev_ids
    assert seen["refused"] is True  # the registry refuses the test split in the sandbox
    assert set(seen["found"]) <= dev_ids and not set(seen["found"]) & test_ids
    assert dev_ids <= set(seen["found"])  # the snoop did read the dev file


def arith_target(messages: list[dict[str, str]]) -> str:
    """Right when the system prompt asks to check, else right on every second problem."""
    text = messages[-1]["content"]
    match = re.search(r"What is (\d+) \+ (\d+)\?", text)
    if not match:
        return "I do not know."
    left, right = int(match.group(1)), int(match.group(2))
    checks = "check" in messages[0]["content"].lower()
    return f"\\boxed{{{left + right if checks or left % 2 else 0}}}"


@pytest.fixture
def arith_model():  # noqa: ANN201
    register_script("arith-target", arith_target)
    yield "scripted/arith-target"
    unregister_script("arith-target")


@pytest.mark.integration
def test_arith_lab_measures_dev_and_publishes_its_technique(
    labkit, sqlite_server, arith_model: str
) -> None:
    config = arith_config(labkit, lab_name="arith-lab", target_model=arith_model)
    rt = labkit.run(config, server=sqlite_server)
    best = rt.state.experiments.best()
    assert best.result["split"] == "dev"
    assert best.result["benchmark"] == "arith:dev_size=12,test_size=20"
    assert best.score == pytest.approx(1.0)
    with ArchiveClient(sqlite_server.url) as client:
        paper = client.get(rt.state.published_id)
    assert paper.technique == "technique.py:solve"
    technique = paper.code_files["technique.py"]
    assert defined_function(technique, "solve") == ""
    assert "def main" not in technique and "write_result(" not in technique
    assert {(r.benchmark, r.split) for r in paper.results} == {(best.result["benchmark"], "dev")}
    assert "arith" in paper.categories
    namespace: dict = {}
    exec(compile(technique, "technique.py", "exec"), namespace)  # noqa: S102 - our own template

    class Echo:
        spec = "echo"

        def chat(self, messages, **kwargs):  # noqa: ANN001, ANN003, ANN201
            from agentrxiv.llm.base import ChatResult

            return ChatResult(text=arith_target(messages), model="echo")

    assert namespace["solve"]("What is 20 + 22?", Echo()) == "\\boxed{42}"


def test_program_without_solve_is_rejected_before_it_runs(labkit) -> None:
    from agentrxiv.lab.checkpoint import ProgramRecord
    from agentrxiv.lab.phases import experiments

    rt = labkit.runtime(labkit.config(lab_name="no-solve"))
    record = ProgramRecord(id="x", code="print('hi')\n", origin="replace")
    experiments.run_program(rt, record, "x")
    assert record.score is None and "solve(problem, model)" in record.error
    assert not (rt.lab_dir / "runs" / "x").exists()


SAMPLE_SNOOP = r"""
import json, os
from agentrxiv.bench.math500 import sample_path
found = []
for name in ("math500_sample20.jsonl",):
    path = str(sample_path())
    try:
        with open(path, encoding="utf-8") as f:
            found.append(len(f.read()))
    except OSError as exc:
        found.append(type(exc).__name__)
print(json.dumps({"found": found, "listing": os.listdir(os.path.dirname(path))}))
"""


def test_sandbox_cannot_read_the_bundled_math500_sample(labkit) -> None:
    """The package ships the MATH-500 sample (dev and test problems): hidden in the sandbox."""
    config = labkit.config(lab_name="sample-snoop")
    path, env = prepare_dev_data(config, config.lab_dir)
    runner = SandboxRunner(
        config.lab_dir / "runs", None, "test", SandboxConfig(wall_s=60), env=env, data_files=[path]
    )
    run = runner.run(SAMPLE_SNOOP, "snoop", with_model=False)
    assert run.ok, run.error
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen == {"found": ["FileNotFoundError"], "listing": []}

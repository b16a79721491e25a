"""Runs a paper's technique in the sandbox (the one the lab uses): a small driver program
(``DRIVER``) is given the technique's code files and the problem texts (never the gold
answers), imports the technique file, calls ``solve(problem, model)`` for each problem with
the target model reached through the model gateway, and writes the answers to
``answers.json`` with the number of model calls each problem made. Grading happens outside,
in the verifier's process. Untrusted code never runs in this process."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentrxiv.bench.math500 import Problem
from agentrxiv.llm.base import ChatModel
from agentrxiv.sandbox import SandboxConfig, SandboxRunner

log = logging.getLogger(__name__)

ANSWERS_FILE = "answers.json"
TECHNIQUE_DIR = "technique"

# The sandboxed driver. PAYLOAD is a JSON literal inserted below; it holds the code files,
# the technique reference and the problems' ids and texts.
DRIVER = r"""
import importlib.util, json, os, sys, traceback
from concurrent.futures import ThreadPoolExecutor

PAYLOAD = json.loads(__PAYLOAD__)
ROOT = os.path.abspath("technique")


def write(body):
    with open("answers.json.tmp", "w", encoding="utf-8") as handle:
        json.dump(body, handle)
    os.replace("answers.json.tmp", "answers.json")


for rel, text in PAYLOAD["files"].items():
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
sys.path.insert(0, ROOT)
try:
    spec = importlib.util.spec_from_file_location(
        "paper_technique", os.path.join(ROOT, PAYLOAD["file"])
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
except BaseException as exc:
    write({"fatal": "importing %s failed: %s: %s" % (PAYLOAD["file"], type(exc).__name__, exc)})
    sys.exit(0)
solve = getattr(module, PAYLOAD["function"], None)
if not callable(solve):
    write({"fatal": "%s defines no callable %r" % (PAYLOAD["file"], PAYLOAD["function"])})
    sys.exit(0)

import threading
from agentrxiv.sandbox.experiment_api import target_model

model = target_model()
current = threading.local()
calls = {}
inner_complete = model.complete


def counted_complete(request, *args, **kwargs):
    # Calls per problem (the thread's current problem); the verifier checks their sum
    # against the calls it saw at the gateway, so inflating them only hides them all.
    problem_id = getattr(current, "problem", None)
    if problem_id is not None:
        calls[problem_id] = calls.get(problem_id, 0) + 1
    return inner_complete(request, *args, **kwargs)


model.complete = counted_complete


def attempt(problem):
    current.problem = problem["id"]
    try:
        out = solve(problem["text"], model)
        if not isinstance(out, str):
            return {"id": problem["id"], "output": None,
                    "error": "TypeError: solve returned %s, not str" % type(out).__name__}
        return {"id": problem["id"], "output": out, "error": None}
    except Exception as exc:
        return {"id": problem["id"], "output": None, "error": "%s: %s" % (type(exc).__name__, exc)}
    finally:
        current.problem = None


def attempt_counted(problem):
    answer = attempt(problem)
    answer["model_calls"] = calls.get(problem["id"], 0)
    return answer


with ThreadPoolExecutor(max_workers=PAYLOAD["concurrency"]) as pool:
    answers = list(pool.map(attempt_counted, PAYLOAD["problems"]))
write({"answers": answers})
"""


@dataclass
class SandboxedRun:
    """What the technique produced: outputs and errors per problem id, or why it failed."""

    outputs: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, str | None] = field(default_factory=dict)
    # Calls to the target model per problem, as the driver counted them (checked by the
    # caller against the gateway's own count).
    model_calls: dict[str, int] = field(default_factory=dict)
    failure: str | None = None
    isolation: str = ""


def driver_source(
    files: dict[str, str], technique: str, problems: list[Problem], concurrency: int
) -> str:
    """The driver program for ``technique`` (``FILE:function``) over ``problems``."""
    file, _, function = technique.rpartition(":")
    payload = {
        "files": files,
        "file": file,
        "function": function,
        "problems": [{"id": p.unique_id, "text": p.problem} for p in problems],
        "concurrency": max(1, concurrency),
    }
    return DRIVER.replace("__PAYLOAD__", repr(json.dumps(payload)))


def _read_answers(workdir: Path) -> dict[str, Any] | None:
    path = workdir / ANSWERS_FILE
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def run_technique(
    files: dict[str, str],
    technique: str,
    problems: list[Problem],
    model: ChatModel,
    runs_dir: Path,
    limits: SandboxConfig,
    *,
    concurrency: int = 4,
    tag: str = "verify",
) -> SandboxedRun:
    """Run ``technique`` on ``problems`` in the sandbox with ``model`` behind the gateway."""
    runner = SandboxRunner(runs_dir, model, tag, limits)
    program = driver_source(files, technique, problems, concurrency)
    run = runner.run(program, "technique")
    workdir = run.workdir or runs_dir / "technique"
    body = _read_answers(workdir)
    limit_hit = run.exit_code != 0 or run.error.startswith("the program failed")
    if body is None or limit_hit and "answers" not in body:
        why = (run.error or "the technique wrote no answers").replace(
            "the program failed", "the sandboxed technique run failed (limit or crash)", 1
        )
        return SandboxedRun(failure=why.strip()[:2000])
    if "fatal" in body:
        return SandboxedRun(failure=str(body["fatal"])[:2000])
    outcome = SandboxedRun()
    for item in body.get("answers") or []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            outcome.outputs[item["id"]] = item.get("output")
            outcome.errors[item["id"]] = item.get("error")
            calls = item.get("model_calls")
            outcome.model_calls[item["id"]] = calls if isinstance(calls, int) else 0
    missing = [p.unique_id for p in problems if p.unique_id not in outcome.outputs]
    if missing:
        outcome.failure = f"the technique gave no answer for {len(missing)} problems"
    return outcome

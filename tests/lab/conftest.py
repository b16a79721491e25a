"""Fixtures for the agent-lab tests: a scripted lab model that answers every agent task with a
valid command (overridable per task to inject failures), a scripted target model that
answers MATH problems, and helpers to build and run a lab."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentrxiv.bench.registry import get_benchmark
from agentrxiv.campaign.scripted import REVIEW, TASK_MARKERS
from agentrxiv.lab.config import LabConfig, parse_config
from agentrxiv.lab.loop import build_runtime, run_lab
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.llm.base import ChatResult
from agentrxiv.llm.scripted import register_script, unregister_script

CRASH_LINE = 'raise RuntimeError("boom: simulated experiment crash")'


class SimulatedKill(BaseException):
    """Stands for SIGKILL: not an ``Exception``, so nothing in the lab swallows it."""


def task_of(messages: list[dict[str, str]]) -> str:
    """Which agent task a request is, from the most recent prompt with a marker."""
    for message in reversed(messages):
        if message["role"] != "user":
            continue
        for marker, task in TASK_MARKERS.items():
            if marker in message["content"]:
                return task
    raise AssertionError(f"unknown task: {messages[-1]['content'][:200]}")


def _program_lines(prompt: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\s*\d+\| ?(.*)$", prompt, re.MULTILINE)]


def _edit_line(prompt: str, startswith: str, new: list[str]) -> dict[str, Any]:
    for number, line in enumerate(_program_lines(prompt), 1):
        if line.startswith(startswith):
            return {"change": {"command": "edit", "start": number, "end": number, "lines": new}}
    raise AssertionError(f"no line starting with {startswith!r}")


def review_form(overall: int = 6) -> dict[str, Any]:
    """A valid NeurIPS review form (the campaign's scripted review, scored ``overall``)."""
    return {**REVIEW, "overall": overall, "decision": "Accept" if overall >= 5 else "Reject"}


def default_reply(task: str, prompt: str) -> Any:
    """A valid command for ``task``."""
    if task == "literature":
        shown = re.findall(r"(\d{4}\.\d{5}) \|", prompt)
        added = re.findall(r"- added (\d{4}\.\d{5})", prompt)
        todo = [pid for pid in shown if pid not in added]
        if todo:
            return {"action": {"command": "add", "paper_id": todo[0], "notes": "relevant"}}
        return {"action": {"command": "finish"}}
    if task in ("plan_open", "plan_turn", "interp_open", "interp_turn"):
        return {"message": f"{task}: let us test a check-your-work instruction."}
    if task == "plan_final":
        return {
            "title": "Checking answers on MATH-500",
            "hypothesis": "Checking helps.",
            "technique_name": "check-work",
            "technique_instruction": "Solve it and check it.",
            "samples": 1,
            "evaluation": "accuracy against zero-shot",
        }
    if task == "data_prep":
        return {
            "code": "from agentrxiv.lab.experiment_api import load_problems\n"
            "print('problems', len(load_problems()))\n"
        }
    if task == "improve":
        return _edit_line(prompt, "INSTRUCTION =", ['INSTRUCTION = "Solve, then check twice."'])
    if task == "repair":
        lines = [line for line in _program_lines(prompt) if CRASH_LINE not in line]
        return {"change": {"command": "replace", "code": "\n".join(lines) + "\n"}}
    if task == "reflect":
        return {"text": "Checking keeps accuracy."}
    if task == "tie_break":
        return {"choice": 0, "reason": "simpler"}
    if task == "interp_final":
        return {"text": "The technique beats the baseline on this small sample."}
    if task == "title":
        return {"title": "Check Your Work: A Small MATH-500 Study"}
    if task == "write_section":
        section = re.search(r'Write the "(\w+)" section', prompt).group(1)
        return {"text": f"The {section} of a study on checking answers."}
    if task == "edit_section":
        return {"section": "discussion", "text": "Checking answers is cheap and measurable."}
    if task == "review":
        return review_form()
    raise AssertionError(task)


class LabScript:
    """The scripted lab model: default replies per task, per-task override queues, a log."""

    def __init__(self) -> None:
        self.tasks: list[str] = []
        self.overrides: dict[str, list[Any]] = {}
        self.kill_at: tuple[str, int] | None = None  # (task, nth occurrence) raising a kill

    def override(self, task: str, *replies: Any) -> None:
        """Answer the next calls of ``task`` with ``replies`` (dicts, strings, exceptions;
        ``None`` = the default reply)."""
        self.overrides.setdefault(task, []).extend(replies)

    def __call__(self, messages: list[dict[str, str]]) -> str:
        task = task_of(messages)
        self.tasks.append(task)
        if self.kill_at and self.kill_at[0] == task and self.tasks.count(task) == self.kill_at[1]:
            raise SimulatedKill(f"killed at {task}")
        prompt = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        prompt = next(
            (
                m["content"]
                for m in reversed(messages)
                if m["role"] == "user" and any(k in m["content"] for k in TASK_MARKERS)
            ),
            prompt,
        )
        queue = self.overrides.get(task)
        reply = queue.pop(0) if queue else None
        if reply is None:
            reply = default_reply(task, prompt)
        if isinstance(reply, BaseException):
            raise reply
        return reply if isinstance(reply, str | ChatResult) else json.dumps(reply)


def target_responder(problems: dict[str, str]) -> Callable[[list[dict[str, str]]], str]:
    """The target model: right when the system prompt asks to check, else right on every
    second problem (so the technique measurably beats the zero-shot baseline)."""
    order = list(problems)

    def reply(messages: list[dict[str, str]]) -> str:
        text = messages[-1]["content"].removeprefix("Problem:\n")
        gold = problems.get(text)
        if gold is None:
            return "I do not know."
        checks = "check" in messages[0]["content"].lower()
        right = checks or order.index(text) % 2 == 0
        return f"The answer is \\boxed{{{gold if right else 'wrong'}}}"

    return reply


@pytest.fixture
def lab_script() -> Iterator[LabScript]:
    """The scripted lab model registered as ``scripted/lab`` (and the target model)."""
    script = LabScript()
    register_script("lab", script)
    # Labs see the dev split only: alternate right/wrong over the dev problems.
    problems = {p.problem: p.answer for p in get_benchmark("math500").problems("dev")}
    register_script("target", target_responder(problems))
    yield script
    unregister_script("lab")
    unregister_script("target")


class LabKit:
    """Helpers for lab tests: configs, runtimes and runs with the scripted models."""

    SimulatedKill = SimulatedKill
    CRASH_LINE = CRASH_LINE

    def __init__(self, tmp_path: Path, script: LabScript) -> None:
        self.tmp_path, self.script = tmp_path, script

    @staticmethod
    def review_form(overall: int = 6) -> dict[str, Any]:
        """A valid review form."""
        return review_form(overall)

    def config(self, **overrides: Any) -> LabConfig:
        """A small, fast config for the scripted lab."""
        data = {
            "topic": "prompting techniques that improve MATH-500 accuracy",
            "lab_name": "test-lab",
            "output_dir": str(self.tmp_path / "labs"),
            "model": "scripted/lab",
            "target_model": "scripted/target",
            "problem_limit": 4,
            "papers_to_review": 1,
            "literature_steps": 3,
            "mle_solver_steps": 1,
            "mle_candidates": 1,
            "mle_max_repairs": 1,
            "paper_solver_steps": 1,
            "latex": False,
            "sandbox": {"wall_s": 120},
        }
        data.update(overrides)
        return parse_config(data)

    def runtime(self, config: LabConfig, *, resume: bool = False, server: Any = None) -> LabRuntime:
        """A runtime with the scripted models (uncached) and, if given, a live archive."""
        archive, url = None, ""
        if server is not None:
            from agentrxiv.archive.client import ArchiveClient

            archive, url = ArchiveClient(server.url, token=server.token), server.url
        return build_runtime(config, resume=resume, archive=archive, archive_url=url, cache=False)

    @staticmethod
    def seed_archive(server: Any, title: str = "Majority voting for MATH-500 prompting") -> Any:
        """Publish a prior paper on the topic (from another lab) and return it."""
        from agentrxiv.archive.client import ArchiveClient
        from agentrxiv.archive.schemas import PaperCreate, ResultIn

        with ArchiveClient(server.url, token=server.new_token("prior-lab")) as client:
            return client.submit(
                PaperCreate(
                    title=title,
                    abstract="Prompting techniques with majority voting improve MATH-500 accuracy.",
                    body="We sample answers and vote.",
                    results=[ResultIn(benchmark="math500", metric="accuracy", value=0.41, n=20)],
                )
            )

    def run(self, config: LabConfig, *, resume: bool = False, server: Any = None) -> LabRuntime:
        """Build a runtime and run the lab to the end."""
        rt = self.runtime(config, resume=resume, server=server)
        run_lab(rt)
        return rt


@pytest.fixture
def labkit(tmp_path: Path, lab_script: LabScript) -> LabKit:
    """Lab test helpers bound to this test's directory and script."""
    return LabKit(tmp_path, lab_script)

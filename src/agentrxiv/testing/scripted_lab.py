"""Scripted agent models for lab and campaign tests and benchmarks (no real model needed).

``LabScript`` answers every lab task with a valid command (the literature review adds the
first paper it was shown, so papers cite earlier ones); tests queue per-task overrides
(replies, exceptions) and can kill the lab at the n-th call of a task. ``target_responder``
is a target model that reads the gold answers: right when told to check, else every second
problem, so the technique measurably beats the zero-shot baseline.

``setup()`` (a campaign's ``worker_setup: agentrxiv.testing.scripted_lab:setup``) registers
``scripted/lab`` and ``scripted/target`` in a lab process.
``AGENTRXIV_SCRIPTED_DELAY_S`` adds a fixed latency to each lab-model call (to make runs
long enough to interrupt in tests)."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

from agentrxiv.llm.base import ChatResult

# A program line that raises: tests put it into a candidate; ``repair`` removes it.
CRASH_LINE = 'raise RuntimeError("boom: simulated experiment crash")'

TASK_MARKERS = {
    "Phase: literature review": "literature",
    "Phase: report references": "references",
    "Propose to the PhD student one prompting": "plan_open",
    "Reply to the postdoc with your ideas": "plan_turn",
    "Write the final plan": "plan_final",
    "Choose the technique's options": "choose_technique",
    "Phase: data preparation": "data_prep",
    "Phase: experiments (step": "improve",
    "The program failed. Fix it": "repair",
    "What did we learn": "reflect",
    "Two programs measured the same": "tie_break",
    "Ask the PhD student what these numbers mean": "interp_open",
    "what do the measured numbers mean": "interp_turn",
    "State what the results mean": "interp_final",
    "Give the paper a short": "title",
    "Phase: report writing. Write the": "write_section",
    "Phase: report editing": "edit_section",
    "Review this paper": "review",
}
REVIEW = {
    "summary": "Tests one prompting technique.",
    "strengths": "Measured.",
    "weaknesses": "Small sample.",
    "originality": 2,
    "quality": 3,
    "clarity": 3,
    "significance": 2,
    "questions": "",
    "limitations": "n is small",
    "ethical_concerns": False,
    "soundness": 3,
    "presentation": 3,
    "contribution": 2,
    "overall": 6,
    "confidence": 3,
    "decision": "Accept",
}
PLAN = {
    "title": "Checking answers",
    "hypothesis": "Checking helps.",
    "technique_name": "check-work",
    "technique_instruction": "Solve it and check it.",
    "samples": 1,
    "evaluation": "accuracy against zero-shot",
}


class SimulatedKill(BaseException):
    """Stands for SIGKILL: not an ``Exception``, so nothing in the lab swallows it."""


def task_of(messages: list[dict[str, str]]) -> tuple[str, str]:
    """Which agent task a request is, and its prompt (the latest user message with a
    task marker)."""
    for message in reversed(messages):
        if message["role"] != "user":
            continue
        for marker, task in TASK_MARKERS.items():
            if marker in message["content"]:
                return task, message["content"]
    raise ValueError(f"scripted lab: unknown task: {messages[-1]['content'][:120]}")


def review_form(overall: int = 6) -> dict[str, Any]:
    """A valid NeurIPS review form scored ``overall`` (accepting from 5)."""
    return {**REVIEW, "overall": overall, "decision": "Accept" if overall >= 5 else "Reject"}


def _program(prompt: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\s*\d+\| ?(.*)$", prompt, re.MULTILINE)]


def _improve(prompt: str) -> dict[str, Any]:
    lines = _program(prompt)
    for number, line in enumerate(lines, 1):
        if line.startswith("INSTRUCTION ="):
            new = ['INSTRUCTION = "Solve, then check twice."']
            return {"change": {"command": "edit", "start": number, "end": number, "lines": new}}
    return {"change": {"command": "replace", "code": "\n".join(lines) + "\n"}}


SHOWN_RE = re.compile(r"(?:(agentrxiv|arxiv):)?(\d{4}\.\d{5}) \|")
ADDED_RE = re.compile(r"- added (\d{4}\.\d{5})(?: \((agentrxiv|arxiv)\))?")


def literature_reply(prompt: str) -> dict[str, Any]:
    """Add the archive papers shown; with arXiv on, search it, read one paper's full text,
    then add it (so a run exercises search, full text and both kinds of reference)."""
    shown = [(src or "agentrxiv", pid) for src, pid in SHOWN_RE.findall(prompt)]
    added = {(src or "agentrxiv", pid) for pid, src in ADDED_RE.findall(prompt)}
    todo = [item for item in dict.fromkeys(shown) if item not in added]
    read = re.search(r"full text of arxiv:(\d{4}\.\d{5})", prompt)
    if read and ("arxiv", read.group(1)) not in added:
        add = {"command": "add", "paper_id": read.group(1), "source": "arxiv"}
        return {"action": {**add, "notes": "related published work"}}
    archive = [pid for src, pid in todo if src == "agentrxiv"]
    if archive:
        return {"action": {"command": "add", "paper_id": archive[0], "notes": "relevant"}}
    arxiv_on = re.search(r"Sources: [^\n]*arxiv", prompt)
    if arxiv_on and not any(src == "arxiv" for src, _ in added):
        papers = [pid for src, pid in todo if src == "arxiv"]
        if papers:
            return {"action": {"command": "read", "paper_id": papers[0], "source": "arxiv"}}
        if "search 'majority voting' in arxiv" not in prompt:
            return {"action": {"command": "search", "query": "majority voting", "source": "arxiv"}}
    return {"action": {"command": "finish"}}


def references_reply(prompt: str) -> dict[str, Any]:
    """Search both sources once, add the first new paper shown, then finish."""
    if "Last result:\n(none yet)" in prompt:
        return {
            "action": {"command": "search", "query": "verification check work", "source": "both"}
        }
    cited = set(re.findall(r"\[(agentrxiv|arxiv):(\d{4}\.\d{5})\]", prompt))
    for src, pid in SHOWN_RE.findall(prompt):
        if ((src or "agentrxiv"), pid) not in cited:
            add = {"command": "add", "paper_id": pid, "source": src or "agentrxiv"}
            return {"action": {**add, "notes": "supports the method"}}
    return {"action": {"command": "finish"}}


def reply(task: str, prompt: str) -> dict[str, Any]:
    """A valid command for ``task``."""
    if task == "literature":
        return literature_reply(prompt)
    if task == "references":
        return references_reply(prompt)
    if task in ("plan_open", "plan_turn", "interp_open", "interp_turn"):
        return {"message": f"{task}: let us test a check-your-work instruction."}
    simple: dict[str, dict[str, Any]] = {
        "plan_final": PLAN,
        "choose_technique": {},
        "data_prep": {
            "code": "from agentrxiv.sandbox.experiment_api import load_problems\n"
            "print('problems', len(load_problems()))\n"
        },
        "reflect": {"text": "Checking keeps accuracy."},
        "tie_break": {"choice": 0, "reason": "simpler"},
        "interp_final": {"text": "The technique beats the baseline on this small sample."},
        "title": {"title": "Check Your Work: A Small Study"},
        "edit_section": {"section": "discussion", "text": "Checking answers is cheap."},
        "review": REVIEW,
    }
    if task in simple:
        return simple[task]
    if task == "improve":
        return _improve(prompt)
    if task == "repair":
        lines = [line for line in _program(prompt) if CRASH_LINE not in line]
        return {"change": {"command": "replace", "code": "\n".join(lines) + "\n"}}
    section = re.search(r'Write the "(\w+)" section', prompt)
    return {"text": f"The {section.group(1) if section else 'section'} of a study on checking."}


class LabScript:
    """The scripted lab model: ``reply`` per task, per-task override queues, a task log."""

    def __init__(self) -> None:
        self.tasks: list[str] = []
        self.overrides: dict[str, list[Any]] = {}
        self.kill_at: tuple[str, int] | None = None  # (task, nth occurrence) raising a kill

    def override(self, task: str, *replies: Any) -> None:
        """Answer the next calls of ``task`` with ``replies`` (dicts, strings, exceptions;
        ``None`` = the default reply)."""
        self.overrides.setdefault(task, []).extend(replies)

    def __call__(self, messages: list[dict[str, str]]) -> str | ChatResult:
        delay = float(os.environ.get("AGENTRXIV_SCRIPTED_DELAY_S", "0") or 0)
        if delay > 0:
            time.sleep(delay)
        task, prompt = task_of(messages)
        self.tasks.append(task)
        if self.kill_at and self.kill_at[0] == task and self.tasks.count(task) == self.kill_at[1]:
            raise SimulatedKill(f"killed at {task}")
        queue = self.overrides.get(task)
        answer = queue.pop(0) if queue else None
        if answer is None:
            answer = reply(task, prompt)
        if isinstance(answer, BaseException):
            raise answer
        return answer if isinstance(answer, str | ChatResult) else json.dumps(answer)


def lab_responder(messages: list[dict[str, str]]) -> str | ChatResult:
    """The scripted lab model with the default replies only."""
    return LabScript()(messages)


def gold_answers() -> dict[str, str]:
    """Problem text to gold answer: the bundled MATH-500 sample and every problem of the
    math500 and arith benchmarks that has data here."""
    from agentrxiv.bench.math500 import load_math500, sample_path

    gold = {p.problem: p.answer for p in load_math500(sample_path())}
    try:
        from agentrxiv.bench.registry import get_benchmark

        for name in ("math500", "arith"):
            try:
                for problem in get_benchmark(name).problems("all"):
                    gold.setdefault(problem.problem, problem.answer)
            except Exception:  # noqa: BLE001, S112 - a benchmark without data is skipped
                continue
    except ImportError:
        pass
    return gold


def target_responder(gold: dict[str, str]) -> Callable[[list[dict[str, str]]], str]:
    """Right when the system prompt asks to check, else right on every second problem (in
    the order of ``gold``)."""
    order = {text: i for i, text in enumerate(gold)}

    def answer(messages: list[dict[str, str]]) -> str:
        text = messages[-1]["content"].removeprefix("Problem:\n")
        if text not in gold:
            return "I do not know."
        checks = "check" in messages[0]["content"].lower()
        right = checks or order[text] % 2 == 0
        return f"The answer is \\boxed{{{gold[text] if right else 'wrong'}}}"

    return answer


def setup() -> None:
    """Register ``scripted/lab`` and ``scripted/target`` in this process."""
    from agentrxiv.llm.scripted import register_script

    register_script("lab", LabScript())
    register_script("target", target_responder(gold_answers()))

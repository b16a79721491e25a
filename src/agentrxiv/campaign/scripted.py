"""Scripted agent models for campaign tests and benchmarks (no real model needed).

``setup()`` (use ``worker_setup: agentrxiv.campaign.scripted:setup``) registers
``scripted/lab``, which answers every lab task with a valid command (the literature review
adds the first paper it was shown, so papers cite earlier ones), and ``scripted/target``,
which answers the bundled MATH-500 sample right when told to check, else every second one.
``AGENTRXIV_SCRIPTED_DELAY_S`` adds a fixed latency to each lab-model call (to make runs
long enough to interrupt in tests)."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

TASK_MARKERS = {
    "Phase: literature review": "literature",
    "Propose to the PhD student one prompting": "plan_open",
    "Reply to the postdoc with your ideas": "plan_turn",
    "Write the final plan": "plan_final",
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


def _task(messages: list[dict[str, str]]) -> tuple[str, str]:
    for message in reversed(messages):
        if message["role"] != "user":
            continue
        for marker, task in TASK_MARKERS.items():
            if marker in message["content"]:
                return task, message["content"]
    raise ValueError(f"scripted lab: unknown task: {messages[-1]['content'][:120]}")


def _program(prompt: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\s*\d+\| ?(.*)$", prompt, re.MULTILINE)]


def _improve(prompt: str) -> dict[str, Any]:
    lines = _program(prompt)
    for number, line in enumerate(lines, 1):
        if line.startswith("INSTRUCTION ="):
            new = ['INSTRUCTION = "Solve, then check twice."']
            return {"change": {"command": "edit", "start": number, "end": number, "lines": new}}
    return {"change": {"command": "replace", "code": "\n".join(lines) + "\n"}}


def reply(task: str, prompt: str) -> dict[str, Any]:
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
    simple: dict[str, dict[str, Any]] = {
        "plan_final": PLAN,
        "data_prep": {
            "code": "from agentrxiv.lab.experiment_api import load_problems\n"
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
        return {"change": {"command": "replace", "code": "\n".join(_program(prompt)) + "\n"}}
    section = re.search(r'Write the "(\w+)" section', prompt)
    return {"text": f"The {section.group(1) if section else 'section'} of a study on checking."}


def lab_responder(messages: list[dict[str, str]]) -> str:
    """The scripted lab model."""
    delay = float(os.environ.get("AGENTRXIV_SCRIPTED_DELAY_S", "0") or 0)
    if delay > 0:
        time.sleep(delay)
    task, prompt = _task(messages)
    return json.dumps(reply(task, prompt))


def _gold() -> dict[str, str]:
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


def target_responder(gold: dict[str, str]) -> Any:
    """Right when the system prompt asks to check, else right on every second problem."""
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

    register_script("lab", lab_responder)
    register_script("target", target_responder(_gold()))

"""Verification fixtures: papers with technique files on a real server, a scripted arith
model (right only when asked carefully), and tokens of an independent verifier lab."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from agentrxiv.archive.schemas import PaperCreate
from agentrxiv.client import ArchiveClient
from agentrxiv.llm.base import Message
from agentrxiv.llm.scripted import ScriptedChatModel, register_script, unregister_script

EXPRESSION = re.compile(r"What is ([0-9+\-* ]+)\?")

HONEST = """
def solve(problem, model):
    reply = model.chat([{"role": "user", "content": "CAREFUL " + problem}], temperature=0.0)
    return reply.text
"""
FABRICATED = """
def solve(problem, model):
    return "The answer is \\\\boxed{banana}"
"""
RAISES_ON_DIGIT = """
def solve(problem, model):
    if "{digit}" in problem:
        raise RuntimeError("cannot handle the digit {digit}")
    return model.chat([{{"role": "user", "content": "CAREFUL " + problem}}]).text
"""
NOT_CALLABLE = "solve = None\n"
IMPORT_ERROR = (
    "raise ImportError('missing dependency')\ndef solve(problem, model):\n    return ''\n"
)
HANGS = "def solve(problem, model):\n    while True:\n        pass\n"


def careful_oracle(messages: list[Message]) -> str:
    """Right on 'CAREFUL' prompts, right on every other zero-shot prompt, else off by one."""
    text = messages[-1]["content"]
    match = EXPRESSION.search(text)
    if match is None:
        return "no idea"
    value = eval(match.group(1))  # noqa: S307 - digits and + - * only (regex above)
    if "CAREFUL" in text or sum(map(ord, match.group(1))) % 2 == 0:
        return f"\\boxed{{{value}}}"
    return f"\\boxed{{{value + 1}}}"


@pytest.fixture
def oracle() -> Iterator[ScriptedChatModel]:
    """``scripted/arith-oracle`` (see ``careful_oracle``)."""
    model = register_script("arith-oracle", careful_oracle)
    yield model
    unregister_script("arith-oracle")


@dataclass
class Labs:
    """Clients of the authoring lab and of an independent verifier lab."""

    author: ArchiveClient
    verifier: ArchiveClient
    admin: ArchiveClient


def make_labs(server: object) -> Labs:
    """Clients for ``server`` (a ``LiveServer``)."""
    verifier_token = server.new_token("verifier-lab")  # type: ignore[attr-defined]
    return Labs(
        author=ArchiveClient(server.url, token=server.token, timeout=180),  # type: ignore[attr-defined]
        verifier=ArchiveClient(server.url, token=verifier_token, timeout=180),  # type: ignore[attr-defined]
        admin=ArchiveClient(server.url, token=server.admin_token, timeout=180),  # type: ignore[attr-defined]
    )


def publish(
    client: ArchiveClient,
    code: str | None,
    claimed: float,
    *,
    model: str = "scripted/arith-oracle",
    parents: list[str] | None = None,
    title: str = "A technique",
) -> str:
    """Publish a paper claiming ``claimed`` accuracy on arith with ``technique.py:solve``."""
    paper = PaperCreate(
        title=title,
        abstract="We measure a technique on arith.",
        body="Body.",
        parents=parents or [],
        results=[
            {
                "benchmark": "arith",
                "metric": "accuracy",
                "value": claimed,
                "n": 200,
                "model": model,
                "split": "dev",
            }
        ],
        code_files={"technique.py": code} if code is not None else {},
        technique="technique.py:solve" if code is not None else None,
    )
    return client.submit(paper).id

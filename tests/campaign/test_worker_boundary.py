"""The campaign worker only starts a lab and records its result: it imports nothing from
``agentrxiv.lab`` but the public entry point, and touches no lab file."""

from __future__ import annotations

import ast
from pathlib import Path

import agentrxiv.campaign.worker as worker

PUBLIC_LAB_MODULES = {"agentrxiv.lab.session"}
LAB_FILES = ("state.json", "summary.md", "summary.json", "ledger.jsonl", "clock.json")


def _imported_modules(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # ``from agentrxiv.lab import checkpoint`` imports a submodule by name
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def _source() -> str:
    return Path(worker.__file__).read_text(encoding="utf-8")


def test_worker_imports_only_the_labs_public_entry_point() -> None:
    modules = _imported_modules(ast.parse(_source()))
    lab = {m for m in modules if m == "agentrxiv.lab" or m.startswith("agentrxiv.lab.")}
    # ``from agentrxiv.lab.session import X`` also yields "agentrxiv.lab.session.X", and
    # ``from agentrxiv.lab import session`` yields the package "agentrxiv.lab": both fine.
    internal = {
        m
        for m in lab
        if m != "agentrxiv.lab" and not any(m.startswith(p) for p in PUBLIC_LAB_MODULES)
    }
    assert not internal, f"campaign/worker.py reaches into the lab: {sorted(internal)}"
    assert lab, "the worker no longer starts the lab through agentrxiv.lab.session?"


def test_worker_names_no_lab_file() -> None:
    strings = [
        node.value
        for node in ast.walk(ast.parse(_source()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    named = sorted({name for name in LAB_FILES for text in strings if name in text})
    assert not named, f"campaign/worker.py names lab files: {named}"


def test_the_check_catches_a_reach_into_the_lab() -> None:
    """The import scan sees every form an internal import can take."""
    source = (
        "from agentrxiv.lab.checkpoint import load_state\n"
        "from agentrxiv.lab import insights\n"
        "def f():\n"
        "    import agentrxiv.lab.phases.interpretation\n"
        "    importlib.import_module('agentrxiv.lab.loop')\n"
    )
    modules = _imported_modules(ast.parse(source))
    assert {
        "agentrxiv.lab.checkpoint",
        "agentrxiv.lab.insights",
        "agentrxiv.lab.phases.interpretation",
        "agentrxiv.lab.loop",
    } <= modules

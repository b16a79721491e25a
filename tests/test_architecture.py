"""The layout's rules that import-linter does not check: module size, no import cycle even
through imports inside functions, and test doubles kept out of the product's domains."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 500


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name)."""
    found = {}
    for path in (SRC / "agentrxiv").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imported_modules(tree: ast.Module, known: dict[str, Path], importer: str = "") -> Iterator[str]:
    """The package's modules ``tree`` imports anywhere (functions included), leaving out
    imports under ``if TYPE_CHECKING:``, which never run. Importing a submodule runs its
    packages' ``__init__`` first, so those count too, except the importer's own packages
    (already running when it is imported)."""
    type_only = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
        for node in ast.walk(branch)
    }
    for node in ast.walk(tree):
        if id(node) in type_only or not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        submodules = [f"{node.module}.{alias.name}" for alias in node.names]
        named = [name for name in submodules if name in known]
        for name in named or ([node.module] if node.module in known else []):
            yield name
            yield from (
                package
                for package in parents(name)
                if package in known and not importer.startswith(package + ".")
            )


def parents(name: str) -> list[str]:
    """``a.b.c`` -> ``[a, a.b]``."""
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_is_over_500_lines() -> None:
    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long


def test_no_import_cycle_even_inside_functions() -> None:
    known = modules()
    graph = {
        name: set(imported_modules(ast.parse(p.read_text()), known, name))
        for name, p in known.items()
    }
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_test_double_in_the_lab_or_the_campaign() -> None:
    for name, path in modules().items():
        if not name.startswith(("agentrxiv.lab", "agentrxiv.campaign")):
            continue
        tree = ast.parse(path.read_text())
        doubles = [
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and node.name.startswith(("Scripted", "Fake"))
        ]
        assert not doubles, (name, doubles)
        assert "agentrxiv.testing" not in set(imported_modules(tree, modules(), name)), name

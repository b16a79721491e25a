"""How a paper names its technique: ``FILE:function``, a file of its code artifact that
defines ``function(problem, model) -> str`` at top level. Checked statically (``ast``, nothing
is run) when a paper is submitted, by ``agentrxiv submit --code`` and by the lab's publish
phase, which also extracts the technique of its best experiment program into ``technique.py``.
"""

from __future__ import annotations

import ast
import re

TECHNIQUE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*\.py:[A-Za-z_][A-Za-z0-9_]*$")
TECHNIQUE_FILE = "technique.py"
#: Top-level statements of an experiment program that run the experiment, not the technique.
EXPERIMENT_CALLS = frozenset(
    {"load_problems", "target_model", "evaluate", "write_result", "save_figure", "main"}
)


def defined_function(source: str, function: str) -> str:
    """Why ``source`` does not define a usable top-level ``function`` ("" when it does)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return f"it does not parse (SyntaxError: {exc.msg}, line {exc.lineno})"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            args = node.args
            positional = len(args.posonlyargs) + len(args.args)
            if positional < 2 and args.vararg is None:
                return f"{function}() must take (problem, model)"
            return ""
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == function for t in targets):
            return ""
    return f"it defines no top-level {function}(problem, model)"


def check_technique(technique: str, code_files: dict[str, str]) -> str:
    """Why ``technique`` (``FILE:function``) is not usable with ``code_files`` ("" if it is)."""
    if not TECHNIQUE_RE.match(technique):
        return f"technique {technique!r} must look like FILE.py:function"
    path, _, function = technique.rpartition(":")
    if path not in code_files:
        return f"technique file {path!r} is not one of the attached code files"
    why = defined_function(code_files[path], function)
    return f"technique file {path!r}: {why}" if why else ""


def _calls_experiment(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            func = inner.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in EXPERIMENT_CALLS:
                return True
    return False


def _keep(node: ast.stmt) -> bool:
    """Imports, definitions and constant assignments stay; the experiment driver goes."""
    if isinstance(node, ast.Import | ast.ImportFrom | ast.ClassDef):
        return True
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return node.name not in EXPERIMENT_CALLS
    if isinstance(node, ast.Assign | ast.AnnAssign):
        return not _calls_experiment(node)
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)  # docstrings


def extract_technique(source: str, header: str, function: str = "solve") -> str:
    """The technique part of an experiment program: imports, constants, classes and functions
    other than the driver (``main``, ``evaluate`` calls, ``if __name__`` blocks), under
    ``header`` (a docstring). Raises ``ValueError`` when ``function`` is missing."""
    why = defined_function(source, function)
    if why:
        raise ValueError(why)
    tree = ast.parse(source)
    lines = source.splitlines()
    kept: list[str] = [f'"""{header.strip()}"""', ""]
    for index, node in enumerate(tree.body):
        if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the experiment's own docstring
        if not _keep(node):
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        kept.append("\n".join(lines[start - 1 : node.end_lineno]))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            kept.append("")
    code = "\n".join(kept).rstrip() + "\n"
    why = defined_function(code, function)
    if why:
        raise ValueError(f"the extracted technique is incomplete: {why}")
    return code

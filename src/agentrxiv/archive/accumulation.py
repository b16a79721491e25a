"""What a paper's technique builds on: the diff of its technique code against the parent's
(``builds_on_technique``), for the paper page."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.schemas import PaperPublic
from agentrxiv.archive.tables import PaperVersion

MAX_DIFF_LINES = 400


@dataclass(frozen=True)
class TechniqueLineage:
    """The parent paper, its title, and the diff from its technique to this paper's."""

    parent_id: str
    parent_title: str
    diff: str
    unchanged: bool


def _technique_code(files: dict[str, str], technique: str | None) -> str | None:
    path = (technique or "").rpartition(":")[0]
    return files.get(path) if path else None


def technique_lineage(session: Session, paper: PaperPublic) -> TechniqueLineage | None:
    """The diff against the parent's technique (latest version), or ``None`` without one."""
    parent_id = paper.builds_on_technique
    if not parent_id:
        return None
    parent = session.scalar(
        select(PaperVersion).where(
            PaperVersion.paper_id == parent_id, PaperVersion.is_latest.is_(True)
        )
    )
    if parent is None:
        return None
    old = _technique_code(dict(parent.code_files or {}), parent.technique) or ""
    new = _technique_code(paper.code_files, paper.technique) or ""
    # The first docstring is the header each lab writes; the code after it is compared.
    lines = list(
        difflib.unified_diff(
            _body(old).splitlines(),
            _body(new).splitlines(),
            f"{parent_id}/technique.py",
            f"{paper.id}/technique.py",
            lineterm="",
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... ({len(lines) - MAX_DIFF_LINES} more lines)"]
    return TechniqueLineage(parent_id, parent.title, "\n".join(lines), not lines)


def _body(code: str) -> str:
    """``code`` without a leading docstring header."""
    stripped = code.lstrip()
    for quote in ('"""', "'''"):
        if stripped.startswith(quote):
            end = stripped.find(quote, 3)
            if end != -1:
                return stripped[end + 3 :].lstrip("\n")
    return code

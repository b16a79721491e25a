"""A paper's lineage: the papers it builds on (its latest version's parents, transitively)
and the papers that build on it, each with its distance; cycles stop at visited papers."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentrxiv.archive.id_format import parse_ref
from agentrxiv.archive.rows import paper_row
from agentrxiv.archive.schemas import Lineage, LineageNode
from agentrxiv.archive.tables import Lab, Paper, PaperVersion, ParentLink

MAX_LINEAGE_DEPTH = 100
Step = Callable[[Session, Iterable[str]], dict[str, list[str]]]


def latest_parents(session: Session, ids: Iterable[str]) -> dict[str, list[str]]:
    """The parents of the latest version of each paper in ``ids``, in the order given."""
    rows = session.execute(
        select(PaperVersion.paper_id, ParentLink.parent_id, PaperVersion.is_latest)
        .join(ParentLink, ParentLink.version_id == PaperVersion.id)
        .where(PaperVersion.paper_id.in_(list(ids)))
        .order_by(ParentLink.id)
    ).all()
    parents: dict[str, list[str]] = {}
    for child, parent, latest in rows:
        if latest:  # filtered here, not in SQL: see tables.ix_paper_versions_latest
            parents.setdefault(child, []).append(parent)
    return parents


def latest_children(session: Session, ids: Iterable[str]) -> dict[str, list[str]]:
    """The papers whose latest version names a paper in ``ids`` as a parent."""
    rows = session.execute(
        select(ParentLink.parent_id, PaperVersion.paper_id, PaperVersion.is_latest)
        .join(PaperVersion, ParentLink.version_id == PaperVersion.id)
        .where(ParentLink.parent_id.in_(list(ids)))
        .order_by(PaperVersion.paper_id)
    ).all()
    children: dict[str, list[str]] = {}
    for parent, child, latest in rows:
        if latest:  # filtered here, not in SQL: see tables.ix_paper_versions_latest
            children.setdefault(parent, []).append(child)
    return children


def walk(session: Session, root: str, step: Step) -> dict[str, int]:
    """Breadth-first distances from ``root`` along ``step``; visited ids stop cycles."""
    depths: dict[str, int] = {}
    frontier = [root]
    depth = 0
    while frontier and depth < MAX_LINEAGE_DEPTH:
        depth += 1
        links = step(session, frontier)
        found = [n for node in frontier for n in links.get(node, [])]
        frontier = [n for n in dict.fromkeys(found) if n != root and n not in depths]
        depths.update(dict.fromkeys(frontier, depth))
    return depths


def ancestors(session: Session, paper_id: str) -> dict[str, int]:
    """Every paper ``paper_id`` builds on, transitively, with its distance."""
    return walk(session, paper_id, latest_parents)


def _lineage_nodes(session: Session, depths: dict[str, int]) -> list[LineageNode]:
    if not depths:
        return []
    rows = session.execute(
        select(PaperVersion.paper_id, PaperVersion.title, Lab.name, PaperVersion.is_latest)
        .join(Paper, PaperVersion.paper_id == Paper.id)
        .join(Lab, Paper.lab_id == Lab.id)
        .where(PaperVersion.paper_id.in_(list(depths)))
    ).all()
    parents = latest_parents(session, depths)
    nodes = [
        LineageNode(id=pid, title=title, lab=lab, depth=depths[pid], parents=parents.get(pid, []))
        for pid, title, lab, latest in rows
        if latest  # filtered here, not in SQL: see tables.ix_paper_versions_latest
    ]
    return sorted(nodes, key=lambda node: (node.depth, node.id))


def paper_lineage(session: Session, ref: str) -> Lineage:
    """Ancestors and descendants of a paper, transitively, with their depth."""
    paper_id, _ = parse_ref(ref)
    paper_row(session, paper_id)
    return Lineage(
        id=paper_id,
        ancestors=_lineage_nodes(session, ancestors(session, paper_id)),
        descendants=_lineage_nodes(session, walk(session, paper_id, latest_children)),
    )

"""Novelty: every new paper version's method is embedded and its technique code hashed when
it is published (the hash is over the code's normalised form: parsed, docstrings dropped and
printed back, so comments and formatting do not change it); its nearest other papers (its
own versions and withdrawn papers excluded) are recorded with their similarity, and a
version at or above ``settings.novelty_threshold`` (or with the same normalised technique
code) is a near-duplicate of the nearest one. ``settings.novelty_policy`` decides whether it
is marked or refused (409). A paper's novelty is that of its latest version.

The comparison runs before the write transaction (``assess``), against an in-process matrix
of the stored method embeddings brought up to date from the database on each use, so no lock
is held while embedding. Two near-copies published at the same instant can miss each other;
the next paper still sees both."""

from __future__ import annotations

import ast
import hashlib
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentrxiv.archive.db import Database
from agentrxiv.archive.schemas import (
    NoveltyNeighbour,
    NoveltyPublic,
    NoveltyStats,
    NoveltyVerdict,
    PaperCreate,
    PaperSummary,
)
from agentrxiv.archive.search.embedder import get_embedder
from agentrxiv.archive.tables import Paper, PaperNovelty, PaperVersion
from agentrxiv.config import get_settings
from agentrxiv.errors import ConflictError

log = logging.getLogger(__name__)
S = TypeVar("S", bound=PaperSummary)

NEIGHBOURS = 3
METHOD_CHARS = 1_500
RESCAN_WINDOW = 64
METHOD_HEADING = re.compile(
    r"^#{1,6}\s*(?:\d+[.)]?\s*)?(?:proposed\s+)?(?:methods?|methodology|approach|technique)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)
NEXT_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
# Files that are results or harness, not the technique.
NOT_TECHNIQUE = frozenset({"seed_experiment.py", "data_prep.py", "result.json"})


def method_section(body: str) -> str:
    """The body's Methods (or Approach / Technique) section, else its beginning."""
    match = METHOD_HEADING.search(body)
    if match is None:
        return body[:METHOD_CHARS]
    rest = body[match.end() :]
    end = NEXT_HEADING.search(rest)
    return (rest[: end.start()] if end else rest)[:METHOD_CHARS]


def method_text(title: str, abstract: str, body: str) -> str:
    """What a paper's method is embedded from: title, abstract and its method section."""
    return f"{title.strip()}.\n{abstract.strip()}\n{method_section(body).strip()}".strip()


def technique_code(code_files: dict[str, str], technique: str | None = None) -> str:
    """The technique's code: the declared ``FILE:function`` file, else ``technique.py`` /
    ``experiment.py``, else every other Python file (sorted by path)."""
    if technique:
        name = technique.split(":", 1)[0]
        if name in code_files:
            return code_files[name]
    for name in ("technique.py", "experiment.py"):
        if name in code_files:
            return code_files[name]
    return "\n".join(
        code_files[path]
        for path in sorted(code_files)
        if path.endswith(".py") and path.rsplit("/", 1)[-1] not in NOT_TECHNIQUE
    )


def _drop_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            or not body
        ):
            continue
        first = body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return tree


def normalised_code(code: str) -> str:
    """Python code without comments, docstrings or formatting (``ast`` parsed and printed
    back); code that does not parse keeps its tokens with every run of whitespace as one
    space."""
    try:
        return ast.unparse(_drop_docstrings(ast.parse(code)))
    except (SyntaxError, ValueError, RecursionError):
        return " ".join(code.split())


def code_hash(code: str) -> str | None:
    """SHA-256 of the code's normalised form; None for no code."""
    normalised = normalised_code(code).strip()
    return hashlib.sha256(normalised.encode()).hexdigest() if normalised else None


def embed_text(text: str) -> np.ndarray:
    """The unit MiniLM vector of ``text`` (the archive's embedder)."""
    return get_embedder().encode_one(text)


# ------------------------------------------------------------------ the index


@dataclass
class NoveltyIndex:
    """Method vectors and code hashes of every recorded paper version, in publication order
    (a paper with several versions has several vectors)."""

    paper_ids: list[str] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    matrix: np.ndarray | None = None
    with_hash: dict[str, list[str]] = field(default_factory=dict)  # digest -> papers, in order
    seen: set[int] = field(default_factory=set)
    max_seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, session: Session) -> None:
        """Load rows recorded since the last refresh (cheap when there are none)."""
        max_id = session.scalar(select(func.max(PaperNovelty.id))) or 0
        if max_id < self.max_seen:
            self.__init__()  # type: ignore[misc]  # the database was recreated
        # Rows below the newest can commit late on PostgreSQL: the last RESCAN_WINDOW ids are
        # read again on every refresh (ids already seen are skipped).
        rows = session.execute(
            select(
                PaperNovelty.id,
                PaperNovelty.paper_id,
                PaperNovelty.method_embedding,
                PaperNovelty.code_hash,
            )
            .where(PaperNovelty.id > self.max_seen - RESCAN_WINDOW)
            .order_by(PaperNovelty.id)
        ).all()
        for row_id, paper_id, blob, digest in rows:
            if row_id in self.seen:
                continue
            self.seen.add(row_id)
            if digest and paper_id not in self.with_hash.setdefault(digest, []):
                self.with_hash[digest].append(paper_id)
            if blob:
                self.paper_ids.append(paper_id)
                self.vectors.append(np.frombuffer(blob, dtype="<f4"))
                self.matrix = None
        self.max_seen = max_id

    def nearest(
        self,
        vector: np.ndarray | None,
        digest: str | None,
        k: int,
        allowed: set[str] | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> list[tuple[str, float, bool]]:
        """The ``k`` most similar papers ``(id, cosine, same code)``, none in ``exclude``
        (the paper itself, withdrawn papers); code matches first. ``allowed``: only these
        papers (a token's access scope)."""
        scored: dict[str, tuple[float, bool]] = {}
        if vector is not None and self.vectors:
            if self.matrix is None:
                self.matrix = np.vstack(self.vectors)
            cosines = self.matrix @ np.asarray(vector, dtype=np.float32)
            for row in np.argsort(-cosines, kind="stable"):
                pid = self.paper_ids[int(row)]
                visible = allowed is None or pid in allowed
                if visible and pid not in exclude and pid not in scored:
                    scored[pid] = (float(cosines[int(row)]), False)
                if len(scored) >= k:
                    break
        holders = self.with_hash.get(digest, []) if digest else []
        original = next(
            (p for p in holders if p not in exclude and (allowed is None or p in allowed)), None
        )
        if original is not None:
            cosine = scored.get(original, (self._cosine(original, vector), False))[0]
            scored[original] = (cosine, True)
        ranked = sorted(scored.items(), key=lambda item: (not item[1][1], -item[1][0]))
        return [(pid, round(cos, 4), same) for pid, (cos, same) in ranked[:k]]

    def _cosine(self, paper_id: str, vector: np.ndarray | None) -> float:
        if vector is None or paper_id not in self.paper_ids:
            return 0.0
        rows = [i for i, pid in enumerate(self.paper_ids) if pid == paper_id]
        return max(float(self.vectors[i] @ vector) for i in rows)


_indexes: dict[str, NoveltyIndex] = {}
_indexes_lock = threading.Lock()


def _index_of(session: Session) -> NoveltyIndex:
    key = session.get_bind().engine.url.render_as_string(hide_password=False)
    with _indexes_lock:
        return _indexes.setdefault(key, NoveltyIndex())


def forget_indexes() -> None:
    """Drop every cached index (tests that recreate databases)."""
    with _indexes_lock:
        _indexes.clear()


# ------------------------------------------------------------------ assessing papers


@dataclass
class Assessment:
    """The novelty of a paper about to be stored."""

    embedding: bytes | None
    code_hash: str | None
    neighbours: list[dict[str, Any]]
    near_duplicate_of: str | None
    similarity: float | None
    threshold: float
    campaign: str | None = None


def _excluded(session: Session, own_id: str | None) -> frozenset[str]:
    withdrawn = session.scalars(select(Paper.id).where(Paper.withdrawn.is_(True))).all()
    return frozenset([*withdrawn, *([own_id] if own_id else [])])


def _verdict(
    session: Session,
    vector: np.ndarray | None,
    digest: str | None,
    k: int,
    threshold: float,
    allowed: set[str] | None = None,
    own_id: str | None = None,
) -> tuple[list[dict[str, Any]], str | None, float | None]:
    index = _index_of(session)
    exclude = _excluded(session, own_id)
    with index.lock:
        index.refresh(session)
        near = index.nearest(vector, digest, k, allowed, exclude)
    neighbours = [{"paper_id": p, "similarity": s, "code_match": c} for p, s, c in near]
    if not neighbours:
        return neighbours, None, None
    top = neighbours[0]
    duplicate = top["code_match"] or top["similarity"] >= threshold
    return neighbours, top["paper_id"] if duplicate else None, top["similarity"]


def method_vector(data: PaperCreate, search_embedding: bytes | None) -> np.ndarray:
    """The method embedding: the search embedding when the body has no method section (its
    text is then the same title, abstract and body start), else one more embedding."""
    if search_embedding and METHOD_HEADING.search(data.body) is None:
        return np.frombuffer(search_embedding, dtype="<f4")
    return embed_text(method_text(data.title, data.abstract, data.body))


def assess(
    db: Database,
    data: PaperCreate,
    embed: bool = True,
    search_embedding: bytes | None = None,
    own_id: str | None = None,
) -> Assessment:
    """Compare a new paper version with every other paper (``own_id``: the paper a new
    version belongs to); under the refuse policy a near-duplicate raises ``ConflictError``
    (409) naming the original."""
    settings = get_settings()
    vector = method_vector(data, search_embedding) if embed else None
    digest = code_hash(technique_code(data.code_files, getattr(data, "technique", None)))
    with db.read() as session:
        neighbours, original, similarity = _verdict(
            session, vector, digest, NEIGHBOURS, settings.novelty_threshold, own_id=own_id
        )
    if original is not None and settings.novelty_policy == "refuse":
        how = "identical technique code" if neighbours[0]["code_match"] else "method similarity"
        raise ConflictError(
            f"near-duplicate of paper {original} ({how} {similarity:.3f}, threshold "
            f"{settings.novelty_threshold}); this server refuses near-duplicates",
            hint="change the method, or publish a new version of your own paper",
        )
    return Assessment(
        embedding=None if vector is None else np.asarray(vector, dtype="<f4").tobytes(),
        code_hash=digest,
        neighbours=neighbours,
        near_duplicate_of=original,
        similarity=similarity,
        threshold=settings.novelty_threshold,
        campaign=getattr(data, "campaign_id", None),
    )


def record(
    session: Session, paper_id: str, assessment: Assessment | None, version: int = 1
) -> None:
    """Store the assessment of a new version of ``paper_id`` (inside its write transaction)."""
    if assessment is None:
        return
    session.add(
        PaperNovelty(
            paper_id=paper_id,
            version=version,
            method_embedding=assessment.embedding,
            code_hash=assessment.code_hash,
            neighbours=assessment.neighbours,
            near_duplicate_of=assessment.near_duplicate_of,
            similarity=assessment.similarity,
            threshold=assessment.threshold,
            campaign=assessment.campaign,
        )
    )
    if assessment.near_duplicate_of:
        log.info("%s is a near-duplicate of %s", paper_id, assessment.near_duplicate_of)


def check(
    session: Session,
    text: str,
    code: str | None = None,
    k: int = NEIGHBOURS,
    allowed: set[str] | None = None,
) -> NoveltyVerdict:
    """What the server would decide for a paper with this method text and code, compared
    with every paper (or only the ``allowed`` ones: a token's access scope)."""
    settings = get_settings()
    vector = embed_text(text) if settings.embed_on_write else None
    neighbours, original, similarity = _verdict(
        session, vector, code_hash(code or ""), k, settings.novelty_threshold, allowed
    )
    titles = _titles(session, [n["paper_id"] for n in neighbours])
    return NoveltyVerdict(
        neighbours=[NoveltyNeighbour(**n, title=titles.get(n["paper_id"], "")) for n in neighbours],
        near_duplicate_of=original,
        similarity=similarity,
        threshold=settings.novelty_threshold,
        policy=settings.novelty_policy,
    )


# ------------------------------------------------------------------ reading


def _titles(session: Session, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(PaperVersion.paper_id, PaperVersion.title, PaperVersion.is_latest).where(
            PaperVersion.paper_id.in_(ids)
        )
    )
    # is_latest filtered here, not in SQL: see tables.ix_paper_versions_latest
    return {pid: title for pid, title, latest in rows if latest}


def novelty_of(session: Session, paper_id: str) -> NoveltyPublic | None:
    """The novelty record of a paper's latest assessed version (None for papers stored
    before novelty existed)."""
    row = session.scalar(
        select(PaperNovelty)
        .where(PaperNovelty.paper_id == paper_id)
        .order_by(PaperNovelty.version.desc())
        .limit(1)
    )
    if row is None:
        return None
    neighbours = list(row.neighbours or [])
    titles = _titles(session, [n["paper_id"] for n in neighbours])
    return NoveltyPublic(
        neighbours=[NoveltyNeighbour(**n, title=titles.get(n["paper_id"], "")) for n in neighbours],
        near_duplicate_of=row.near_duplicate_of,
        similarity=row.similarity,
        threshold=row.threshold,
        code_hash=row.code_hash,
    )


def latest_marks(session: Session, paper_ids: list[str]) -> dict[str, str]:
    """Per paper: the paper its latest assessed version nearly duplicates (if any)."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(PaperNovelty.paper_id, PaperNovelty.near_duplicate_of)
        .where(PaperNovelty.paper_id.in_(paper_ids))
        .order_by(PaperNovelty.version)
    ).all()
    latest: dict[str, str | None] = {}
    for paper_id, original in rows:
        latest[paper_id] = original  # later versions replace earlier ones
    return {pid: original for pid, original in latest.items() if original}


def mark_near_duplicates(session: Session, items: list[S]) -> list[S]:
    """Set ``near_duplicate_of`` on listed papers (one query for the page)."""
    marks = latest_marks(session, [item.id for item in items])
    for item in items:
        item.near_duplicate_of = marks.get(item.id)
    return items


def duplicate_roots(session: Session, paper_ids: list[str]) -> dict[str, str]:
    """Per paper: the earliest paper of its near-duplicate chain (itself when it copies
    nothing), following ``near_duplicate_of`` links."""
    marks = latest_marks(session, paper_ids)
    pending = {original for original in marks.values() if original not in marks}
    for _ in range(8):  # chains are short; each round reads the next links
        more = latest_marks(session, sorted(pending - set(marks)))
        if not more:
            break
        marks.update(more)
        pending = set(more.values())
    roots: dict[str, str] = {}
    for pid in paper_ids:
        root, seen = pid, {pid}
        while root in marks and marks[root] not in seen:
            root = marks[root]
            seen.add(root)
        roots[pid] = root
    return roots


def stats(session: Session, campaign: str | None = None) -> NoveltyStats:
    """Papers recorded (in ``campaign``, or all) and how many are near-duplicates (by their
    latest assessed version)."""
    query = select(PaperNovelty.paper_id, PaperNovelty.near_duplicate_of).order_by(
        PaperNovelty.version
    )
    if campaign:
        query = query.where(PaperNovelty.campaign == campaign)
    latest: dict[str, str | None] = dict(session.execute(query).tuples().all())
    papers = len(latest)
    duplicates = sum(1 for original in latest.values() if original)
    share = duplicates / papers if papers else 0.0
    return NoveltyStats(
        campaign=campaign, papers=papers, near_duplicates=duplicates, share=round(share, 4)
    )

"""What a search hit says beyond its match: claimed vs verified values and, for a
near-duplicate, its original's id. Kept above search, which ranks and does not judge, so
search imports neither verifications nor novelty (no import cycle through them)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentrxiv.archive.novelty import mark_near_duplicates
from agentrxiv.archive.schemas import SearchHit
from agentrxiv.archive.verifications import annotate_summaries


def annotate_hits(session: Session, hits: list[SearchHit]) -> list[SearchHit]:
    """Mark ``hits`` in place with their verification and near-duplicate notes."""
    annotate_summaries(session, hits)
    mark_near_duplicates(session, hits)
    return hits

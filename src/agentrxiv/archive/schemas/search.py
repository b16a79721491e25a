"""Search: the modes and the response of ``/api/v1/search``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from agentrxiv.archive.schemas.papers import PaperSummary

SearchMode = Literal["keyword", "semantic", "hybrid"]


class SearchHit(PaperSummary):
    """A search result; ``score`` is the mode's score (BM25, cosine or fused RRF)."""


class SearchResponse(BaseModel):
    """Search results with the total that matched the filters."""

    query: str
    mode: SearchMode
    total: int
    offset: int
    items: list[SearchHit]
    # The relevance floor applied (semantic and hybrid): papers whose cosine similarity to
    # the query is below it are not semantic matches. None: keyword mode or no floor.
    min_score: float | None = None
    # Set when nothing passed the floor: an honest "no close matches" instead of noise.
    note: str | None = None

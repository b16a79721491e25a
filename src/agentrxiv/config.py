"""Settings: command-line flags override ``AGENTRXIV_*`` environment variables, which
override the defaults below. ``get_settings()`` is cached; tests clear it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentrxiv.paths import default_db_url, home_dir


class Settings(BaseSettings):
    """Every setting, with its default and help text (documented in docs/configuration.md)."""

    model_config = SettingsConfigDict(env_prefix="AGENTRXIV_", extra="ignore")

    home: Path = Field(default_factory=home_dir, description="Data directory.")
    db: str = Field(default="", description="Database URL; default SQLite under home.")
    host: str = Field(default="127.0.0.1", description="Address the server binds to.")
    port: int = Field(default=8000, description="Port the server listens on.")
    base_url: str = Field(
        default="", description="Public URL of the server (links in feeds); default from host/port."
    )
    max_body_bytes: int = Field(
        default=20 * 1024 * 1024, description="Largest request body the server accepts (413 above)."
    )
    server: str = Field(default="http://127.0.0.1:8000", description="Server URL for clients.")
    token: str = Field(default="", description="Write token for clients.")
    embedding_model: str = Field(
        default="", description="Sentence-transformers model path; default the packaged MiniLM."
    )
    embed_on_write: bool = Field(
        default=True, description="Embed papers when stored (semantic search needs it)."
    )
    search_min_score: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description="Relevance floor of semantic/hybrid search: the least cosine similarity "
        "a paper needs to count as a match (per request: min_score).",
    )
    search_index_min_papers: int = Field(
        default=20_000,
        ge=1,
        description="Embedded papers from which semantic/hybrid search use the approximate "
        "nearest-neighbour index (usearch) instead of an exact scan; on SQLite also the "
        "keyword index (tantivy) for keyword queries matching many papers.",
    )
    search_index_build_threads: int = Field(
        default=0,
        ge=0,
        le=1024,
        description="Threads that build the approximate and keyword indexes (0: half the "
        "cores, so the server keeps answering while they build).",
    )
    # -- server capacity (defaults sized for 2 cores; docs/server.md scales them up)
    workers: int = Field(default=1, ge=1, le=64, description="Server worker processes.")
    keep_alive_timeout: float = Field(
        default=75.0,
        gt=0,
        le=3600,
        description="Seconds the server keeps an idle HTTP connection open; longer than "
        "clients' idle expiry (httpx: 5 s), so a client never reuses one being closed.",
    )
    threadpool_size: int = Field(
        default=32, ge=1, le=1000, description="Threads per worker for blocking request work."
    )
    max_concurrent_requests: int = Field(
        default=24, ge=1, le=10_000, description="Requests a worker handles at once; more queue."
    )
    max_queued_requests: int = Field(
        default=1000, ge=0, le=1_000_000, description="Requests that may wait; more get 503."
    )
    queue_timeout: float = Field(
        default=30.0, gt=0, description="Seconds a request may wait in the queue before a 503."
    )
    db_pool_size: int = Field(
        default=10, ge=1, le=1000, description="Database connections kept open per worker."
    )
    db_max_overflow: int = Field(
        default=20, ge=0, le=1000, description="Extra connections a worker may open under load."
    )
    db_pool_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a free connection before a 503."
    )
    # -- per-owner write limits (0 = unlimited; admin tokens are exempt). Every token and lab
    # of one owner shares these counts, so minting a new token resets nothing.
    writes_per_minute: int = Field(
        default=120, ge=0, description="Writes of any kind (and minted tokens) per owner a minute."
    )
    papers_per_day: int = Field(default=200, ge=0, description="New papers per owner per day.")
    versions_per_day: int = Field(default=500, ge=0, description="New versions per owner per day.")
    reviews_per_day: int = Field(default=1000, ge=0, description="Reviews per owner per day.")
    verifications_per_day: int = Field(
        default=1000, ge=0, description="Verification records per owner per day."
    )
    insights_per_day: int = Field(
        default=1000, ge=0, description="Insight batches per owner per day."
    )
    campaigns_per_day: int = Field(default=50, ge=0, description="New campaigns per owner per day.")
    campaign_updates_per_day: int = Field(
        default=20000, ge=0, description="Campaign status/record updates per owner per day."
    )
    tokens_per_day: int = Field(
        default=300, ge=0, description="Tokens (and new labs) an owner may mint over HTTP a day."
    )
    costly_reads_per_minute: int = Field(
        default=60,
        ge=0,
        description="Semantic/hybrid searches and novelty checks a minute, per owner (with a "
        "token) or per client address (without one).",
    )
    max_code_bytes: int = Field(
        default=5 * 1024 * 1024, ge=0, description="Total size of a paper's code files (413 above)."
    )
    max_pdf_bytes: int = Field(
        default=10 * 1024 * 1024, ge=0, description="Size of a decoded PDF (413 above)."
    )
    novelty_policy: Literal["mark", "refuse"] = Field(
        default="mark",
        description="Near-duplicate papers: mark them (with their original) or refuse (409).",
    )
    novelty_threshold: float = Field(
        default=0.85,  # measured: benchmarks/novelty_threshold.py, docs/insights.md
        ge=0.0,
        le=1.0,
        description="Method-embedding cosine at or above which a paper is a near-duplicate.",
    )

    # -- verification (agentrxiv verify)
    verify_wall_s: float = Field(
        default=1800.0, gt=0, description="Wall-clock limit of one sandboxed technique run."
    )
    verify_concurrency: int = Field(
        default=4, ge=1, le=256, description="Problems a verification runs at once."
    )

    def database_url(self) -> str:
        """The database URL to use: the explicit one or SQLite under home."""
        return self.db or default_db_url()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()

"""SQLAlchemy tables of the archive. The schema changes only through Alembic migrations
(``agentrxiv/archive/migrations``); ``tests`` check that the models and migrations agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Timezone-aware now; every stored timestamp is UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every archive table."""


class Owner(Base):
    """A person or organisation account (migration 0008): owns labs; limits count per owner."""

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Lab(Base):
    """An agent lab (or a person) that writes papers, belonging to one owner."""

    __tablename__ = "labs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Migration 0008 gives every lab stored before it an owner of its own name.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"), nullable=True, index=True)

    owner: Mapped[Owner | None] = relationship()


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 hash. Admin tokens may withdraw any paper."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id"), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Limits and provenance (migration 0003): human tokens may post human reviews; an
    # expired or revoked token gets 401.
    is_human: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Access scope (migration 0008): a campaign lab's token reads only what its campaign's
    # mode allows (``none``/``own``: its lab's papers; ``shared``: the campaign's).
    scope_campaign: Mapped[str | None] = mapped_column(String(40), nullable=True)
    scope_mode: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # The archive's own verifier (migration 0011): only the operator creates one
    # (``token create --verifier``); its verifications have standing ``archive``.
    is_verifier: Mapped[bool] = mapped_column(Boolean, default=False)

    lab: Mapped[Lab | None] = relationship()


class UsageCounter(Base):
    """Counters behind the limits (migration 0008): ``subject`` is ``owner:<id>`` for writes
    and token minting or ``client:<address>`` for costly unauthenticated reads; ``period``
    names the minute or UTC day the count belongs to."""

    __tablename__ = "usage_counters"

    subject: Mapped[str] = mapped_column(String(120), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(30), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyRecord(Base):
    """A write made under an ``Idempotency-Key`` (migration 0008): the digest of its body and
    the response it got, so a retry replays it and the same key with another body is a 409."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("lab_id", "kind", "key", name="uq_idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"))
    kind: Mapped[str] = mapped_column(String(20))  # paper | review | verification | insights
    key: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: in progress
    response: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IdCounter(Base):
    """Last sequence number handed out per ``YYMM`` month (arXiv-style ids)."""

    __tablename__ = "id_counters"

    yymm: Mapped[str] = mapped_column(String(4), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Paper(Base):
    """A paper: the stable ``YYMM.NNNNN`` identity over its versions."""

    __tablename__ = "papers"
    # Listings read the newest papers in order and stop at the page (migration 0013).
    __table_args__ = (Index("ix_papers_created_at", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Campaigns (migration 0006): the campaign a paper belongs to, and the lab's key for
    # idempotent submission (a unique index on (lab_id, idempotency_key) lives in 0006).
    campaign_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)

    lab: Mapped[Lab] = relationship()
    versions: Mapped[list[PaperVersion]] = relationship(
        back_populates="paper", order_by="PaperVersion.version"
    )


class PaperVersion(Base):
    """One immutable version ``vN`` of a paper, with everything it contains.

    ``is_latest`` marks the version that search indexes and listings show. ``embedding`` is
    the float32 vector of the version's search text, computed once when it is stored.
    """

    __tablename__ = "paper_versions"
    __table_args__ = (
        UniqueConstraint("paper_id", "version", name="uq_paper_version"),
        # Queries that name their papers (paper_id IN ...) filter is_latest in Python: given
        # both conditions, SQLite without statistics walks this index's every latest version
        # (1.4 s per search page at 1M papers, not 1 ms; benchmarks/search_bench.py --served).
        Index("ix_paper_versions_latest", "is_latest", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    # [{"name": str, "lab": str, "models": [str]}]
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Flattened "name lab model ..." for keyword search and filters.
    authors_text: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    primary_category: Mapped[str] = mapped_column(String(64), default="", index=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # {"relative/path.py": "file content"}
    code_files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # The technique this version names, ``FILE:function`` in code_files (migration 0005).
    technique: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Accumulation (migration 0009_accumulation): the paper whose technique code this one's
    # experiments started from, and how many variants were measured on dev before the claim.
    builds_on_technique: Mapped[str | None] = mapped_column(String(20), nullable=True)
    variants_tried: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )

    paper: Mapped[Paper] = relationship(back_populates="versions")
    results: Mapped[list[Result]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    parents: Mapped[list[ParentLink]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[Review]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )
    # Figures (migration 0004); loaded only when asked for (they hold the image bytes).
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="version", cascade="all, delete-orphan", lazy="raise"
    )


class ParentLink(Base):
    """Lineage: a paper version builds on an earlier paper (by paper id)."""

    __tablename__ = "parent_links"
    __table_args__ = (UniqueConstraint("version_id", "parent_id", name="uq_parent_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("paper_versions.id"), index=True)
    parent_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), index=True)

    version: Mapped[PaperVersion] = relationship(back_populates="parents")


class Result(Base):
    """A structured result: one measured number of a paper version."""

    __tablename__ = "results"
    __table_args__ = (Index("ix_results_benchmark_value", "benchmark", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("paper_versions.id"), index=True)
    benchmark: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    n: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model: Mapped[str] = mapped_column(String(200), default="")
    split: Mapped[str] = mapped_column(String(100), default="")

    version: Mapped[PaperVersion] = relationship(back_populates="results")


class Review(Base):
    """A review on the NeurIPS form, attached to a paper version."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("paper_versions.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewer_kind: Mapped[str] = mapped_column(String(20), default="agent")  # agent | human
    # Every field of the NeurIPS form (see schemas.ReviewForm).
    form: Mapped[dict[str, Any]] = mapped_column(JSON)
    overall: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Provenance (migration 0003): the lab whose token posted the review (NULL for reviews
    # stored before 0003), and whether that lab wrote the paper.
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id"), nullable=True, index=True)
    self_review: Mapped[bool] = mapped_column(Boolean, default=False)

    version: Mapped[PaperVersion] = relationship(back_populates="reviews")
    lab: Mapped[Lab | None] = relationship()


class Campaign(Base):
    """A research campaign: many labs writing papers on one topic (migration 0006)."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="running")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # Per-paper records the campaign posts (claimed/verified values, tokens, cost, time).
    records: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    owner_lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    owner: Mapped[Lab] = relationship()


class Insight(Base):
    """A short lesson (strategy or pitfall) a lab distilled from one of its verified papers,
    with the evidence it rests on. Untrusted agent text: pages escape it."""

    __tablename__ = "insights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), index=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # strategy | pitfall
    text: Mapped[str] = mapped_column(Text)
    benchmark: Mapped[str] = mapped_column(String(100), default="", index=True)
    model: Mapped[str] = mapped_column(String(200), default="")
    metric: Mapped[str] = mapped_column(String(100), default="")
    split: Mapped[str] = mapped_column(String(100), default="")
    difference: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    ci_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(40), default="")
    # The stored verification the evidence was copied from (migration 0010).
    verification_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    campaign: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    lab: Mapped[Lab] = relationship()


class PaperNovelty(Base):
    """How new a paper version was when published (one row per version since migration
    0008): its method embedding, its normalised technique-code hash, its nearest other
    papers and, above the threshold, the paper it nearly copies."""

    __tablename__ = "paper_novelty"
    __table_args__ = (UniqueConstraint("paper_id", "version", name="uq_paper_novelty_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    method_embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # [{"paper_id": str, "similarity": float, "code_match": bool}], nearest first
    neighbours: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    near_duplicate_of: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    campaign: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Verification(Base):
    """A verification record (migration 0005): a paper's technique re-run on a held-out
    split by a verifier lab. The full record is ``record`` (``VerificationCreate``); the
    columns are what listings, leaderboards and lineage warnings filter and rank by."""

    __tablename__ = "verifications"
    __table_args__ = (Index("ix_verifications_benchmark_status", "benchmark", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    verifier_lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    self_verification: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(20), default="claim")  # claim | transfer
    benchmark: Mapped[str] = mapped_column(String(100))
    split: Mapped[str] = mapped_column(String(100), default="test")
    model: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20))  # reproduced | not reproduced | failed
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # Problems answered without calling the target model (migration 0010).
    no_model_use: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Who verified, decided by the server from owners (migration 0011): self | same owner |
    # independent | archive (``archive.standing``).
    standing: Mapped[str] = mapped_column(String(20), default="self", server_default="self")
    record: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    verifier: Mapped[Lab] = relationship()


class Attachment(Base):
    """A figure stored with a paper version (migration 0004): a PNG, JPEG, GIF or WebP image
    the body shows by relative path, served at ``/abs/<id>v<N>/files/<name>``."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("version_id", "name", name="uq_attachment_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("paper_versions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    version: Mapped[PaperVersion] = relationship(back_populates="attachments")


class VerificationJob(Base):
    """A pending verification of one paper version for the archive's verifier service
    (migration 0012): queued when a version with a technique is stored or when a lab asks
    for it, leased by a verifier token with an expiry (``lease_id`` names one lease, so a
    verifier that lost its lease cannot complete it), done (with the verification it
    posted) or failed after ``attempts`` leases."""

    __tablename__ = "verification_jobs"
    __table_args__ = (
        UniqueConstraint("paper_id", "version", name="uq_verification_job_version"),
        Index("ix_verification_jobs_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued|leased|done|failed
    lease_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(200), default="")
    verification_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VerifierPresence(Base):
    """When each archive verifier lab last asked for work or reported on it (migration
    0012), so campaigns can tell whether the archive's verifier service is running."""

    __tablename__ = "verifier_presence"

    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

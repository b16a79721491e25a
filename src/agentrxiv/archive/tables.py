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


class Lab(Base):
    """An agent lab (or a person) that writes papers."""

    __tablename__ = "labs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 hash. Admin tokens may withdraw any paper."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id"), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    lab: Mapped[Lab | None] = relationship()


class IdCounter(Base):
    """Last sequence number handed out per ``YYMM`` month (arXiv-style ids)."""

    __tablename__ = "id_counters"

    yymm: Mapped[str] = mapped_column(String(4), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Paper(Base):
    """A paper: the stable ``YYMM.NNNNN`` identity over its versions."""

    __tablename__ = "papers"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("labs.id"), index=True)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

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

    version: Mapped[PaperVersion] = relationship(back_populates="reviews")

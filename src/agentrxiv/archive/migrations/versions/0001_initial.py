"""Initial schema: every table of ``agentrxiv.archive.tables``.

Revision ID: 0001_initial
Revises: (none)
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "id_counters",
        sa.Column("yymm", sa.String(length=4), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("yymm"),
    )
    op.create_table(
        "labs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["labs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "papers",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["labs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_papers_lab_id"), "papers", ["lab_id"], unique=False)

    op.create_table(
        "paper_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("authors_text", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("primary_category", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("code_files", sa.JSON(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("paper_id", "version", name="uq_paper_version"),
    )
    op.create_index(
        op.f("ix_paper_versions_created_at"), "paper_versions", ["created_at"], unique=False
    )
    op.create_index(
        "ix_paper_versions_latest", "paper_versions", ["is_latest", "created_at"], unique=False
    )
    op.create_index(
        op.f("ix_paper_versions_paper_id"), "paper_versions", ["paper_id"], unique=False
    )
    op.create_index(
        op.f("ix_paper_versions_primary_category"),
        "paper_versions",
        ["primary_category"],
        unique=False,
    )

    op.create_table(
        "parent_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["papers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["paper_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "parent_id", name="uq_parent_link"),
    )
    op.create_index(op.f("ix_parent_links_parent_id"), "parent_links", ["parent_id"], unique=False)
    op.create_index(
        op.f("ix_parent_links_version_id"), "parent_links", ["version_id"], unique=False
    )

    op.create_table(
        "results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("benchmark", sa.String(length=100), nullable=False),
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("split", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["paper_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_results_benchmark_value", "results", ["benchmark", "value"], unique=False)
    op.create_index(op.f("ix_results_version_id"), "results", ["version_id"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("reviewer_kind", sa.String(length=20), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("overall", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["paper_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reviews_version_id"), "reviews", ["version_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_reviews_version_id"), table_name="reviews")

    op.drop_table("reviews")
    op.drop_index(op.f("ix_results_version_id"), table_name="results")
    op.drop_index("ix_results_benchmark_value", table_name="results")

    op.drop_table("results")
    op.drop_index(op.f("ix_parent_links_version_id"), table_name="parent_links")
    op.drop_index(op.f("ix_parent_links_parent_id"), table_name="parent_links")

    op.drop_table("parent_links")
    op.drop_index(op.f("ix_paper_versions_primary_category"), table_name="paper_versions")
    op.drop_index(op.f("ix_paper_versions_paper_id"), table_name="paper_versions")
    op.drop_index("ix_paper_versions_latest", table_name="paper_versions")
    op.drop_index(op.f("ix_paper_versions_created_at"), table_name="paper_versions")

    op.drop_table("paper_versions")
    op.drop_index(op.f("ix_papers_lab_id"), table_name="papers")

    op.drop_table("papers")
    op.drop_table("api_tokens")
    op.drop_table("labs")
    op.drop_table("id_counters")

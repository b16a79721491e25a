"""Insights distilled from verified papers; novelty (near-duplicate) records.

Revision ID: 0007_insights_novelty
Revises: 0006_campaigns
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_insights_novelty"
down_revision: str | None = "0006_campaigns"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "insights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=20), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("benchmark", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("split", sa.String(length=100), nullable=False),
        sa.Column("difference", sa.Float(), nullable=True),
        sa.Column("ci_low", sa.Float(), nullable=True),
        sa.Column("ci_high", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("campaign", sa.String(length=100), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"]),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_insights_paper_id", "insights", ["paper_id"])
    op.create_index("ix_insights_lab_id", "insights", ["lab_id"])
    op.create_index("ix_insights_benchmark", "insights", ["benchmark"])
    op.create_index("ix_insights_campaign", "insights", ["campaign"])
    op.create_table(
        "paper_novelty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=20), nullable=False),
        sa.Column("method_embedding", sa.LargeBinary(), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("neighbours", sa.JSON(), nullable=False),
        sa.Column("near_duplicate_of", sa.String(length=20), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("campaign", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("paper_id"),
    )
    op.create_index("ix_paper_novelty_code_hash", "paper_novelty", ["code_hash"])
    op.create_index("ix_paper_novelty_near_duplicate_of", "paper_novelty", ["near_duplicate_of"])
    op.create_index("ix_paper_novelty_campaign", "paper_novelty", ["campaign"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("paper_novelty")
    op.drop_table("insights")

"""Campaigns, campaign ids on papers, idempotent submissions.

Revision ID: 0006_campaigns
Revises: 0005_verifications
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_campaigns"
down_revision: str | None = "0005_verifications"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("owner_lab_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["owner_lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaigns_owner_lab_id", "campaigns", ["owner_lab_id"])
    op.add_column("papers", sa.Column("campaign_id", sa.String(length=40), nullable=True))
    op.add_column("papers", sa.Column("idempotency_key", sa.String(length=200), nullable=True))
    op.create_index("ix_papers_campaign_id", "papers", ["campaign_id"])
    # NULL keys never collide (SQLite and PostgreSQL), so only keyed submissions are unique.
    op.create_index(
        "uq_papers_lab_idempotency", "papers", ["lab_id", "idempotency_key"], unique=True
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("uq_papers_lab_idempotency", table_name="papers")
    op.drop_index("ix_papers_campaign_id", table_name="papers")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("idempotency_key")
        batch.drop_column("campaign_id")
    op.drop_index("ix_campaigns_owner_lab_id", table_name="campaigns")
    op.drop_table("campaigns")

"""Verification records and technique metadata.

Revision ID: 0005_verifications
Revises: 0004_attachments
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_verifications"
down_revision: str | None = "0004_attachments"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("paper_versions", sa.Column("technique", sa.String(length=300), nullable=True))
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("verifier_lab_id", sa.Integer(), nullable=False),
        sa.Column("self_verification", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("benchmark", sa.String(length=100), nullable=False),
        sa.Column("split", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"]),
        sa.ForeignKeyConstraint(["verifier_lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verifications_paper_id", "verifications", ["paper_id"])
    op.create_index("ix_verifications_verifier_lab_id", "verifications", ["verifier_lab_id"])
    op.create_index("ix_verifications_benchmark_status", "verifications", ["benchmark", "status"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_verifications_benchmark_status", table_name="verifications")
    op.drop_index("ix_verifications_verifier_lab_id", table_name="verifications")
    op.drop_index("ix_verifications_paper_id", table_name="verifications")
    op.drop_table("verifications")
    with op.batch_alter_table("paper_versions") as batch:
        batch.drop_column("technique")

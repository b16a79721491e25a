"""Accumulation: the paper whose technique a version builds on, and the variants measured on
dev before its claim was chosen.

Revision ID: 0009_accumulation
Revises: 0008_owners_scopes
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_accumulation"
down_revision: str | None = "0008_owners_scopes"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        "paper_versions", sa.Column("builds_on_technique", sa.String(length=20), nullable=True)
    )
    op.add_column("paper_versions", sa.Column("variants_tried", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("paper_versions") as batch:
        batch.drop_column("variants_tried")
        batch.drop_column("builds_on_technique")

"""Paper attachments (figures) stored with each version.

Revision ID: 0004_attachments
Revises: 0003_limits_provenance
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_attachments"
down_revision: str | None = "0003_limits_provenance"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["paper_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "name", name="uq_attachment_name"),
    )
    op.create_index("ix_attachments_version_id", "attachments", ["version_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_attachments_version_id", table_name="attachments")
    op.drop_table("attachments")

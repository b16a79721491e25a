"""Review provenance, token expiry and revocation, human tokens, write quotas.

``reviews`` gets ``lab_id`` (the lab whose token posted it; NULL for older reviews) and
``self_review``; ``api_tokens`` gets ``is_human``, ``expires_at`` and ``revoked_at``;
``token_usage`` holds the per-token write counters behind rate limits and daily quotas.

Revision ID: 0003_limits_provenance
Revises: 0002_search
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_limits_provenance"
down_revision: str | None = "0002_search"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    # Batch mode: SQLite cannot add a foreign key with ALTER TABLE, so it copies the table.
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(
            sa.Column(
                "lab_id",
                sa.Integer(),
                sa.ForeignKey("labs.id", name="fk_reviews_lab_id"),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column("self_review", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_reviews_lab_id", "reviews", ["lab_id"])
    op.add_column(
        "api_tokens",
        sa.Column("is_human", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.add_column("api_tokens", sa.Column("revoked_at", sa.DateTime(timezone=True)))
    op.create_table(
        "token_usage",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"]),
        sa.PrimaryKeyConstraint("token_id", "bucket", "period"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("token_usage")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("expires_at")
        batch.drop_column("is_human")
    op.drop_index("ix_reviews_lab_id", table_name="reviews")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint("fk_reviews_lab_id", type_="foreignkey")
        batch.drop_column("self_review")
        batch.drop_column("lab_id")

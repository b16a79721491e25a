"""The archive verifier's queue (``verification_jobs``): one job per paper version, queued
when a version with a technique is stored or a lab asks for it, leased with an expiry by a
verifier token; and when each verifier lab was last seen (``verifier_presence``).
Versions with a technique stored before this revision are not queued (ask
for them with ``POST /api/v1/papers/{id}/verification-requests``).

Revision ID: 0012_verification_queue
Revises: 0011_verification_standing
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012_verification_queue"
down_revision: str | None = "0011_verification_standing"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "verification_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("lease_id", sa.String(length=64), nullable=True),
        sa.Column("lease_holder", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("verification_id", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("paper_id", "version", name="uq_verification_job_version"),
    )
    op.create_index("ix_verification_jobs_paper_id", "verification_jobs", ["paper_id"])
    op.create_index(
        "ix_verification_jobs_state_created", "verification_jobs", ["state", "created_at"]
    )
    op.create_table(
        "verifier_presence",
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("lab_id"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("verifier_presence")
    op.drop_index("ix_verification_jobs_state_created", table_name="verification_jobs")
    op.drop_index("ix_verification_jobs_paper_id", table_name="verification_jobs")
    op.drop_table("verification_jobs")

"""Verification records and technique metadata.

Revision ID: 0005_verifications
Revises: 0004_attachments
Create Date: 2026-12-01
"""

from __future__ import annotations

revision: str = "0005_verifications"
down_revision: str | None = "0004_attachments"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""

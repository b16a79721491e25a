"""Campaigns, campaign ids on papers, idempotent submissions.

Revision ID: 0006_campaigns
Revises: 0005_verifications
Create Date: 2026-12-01
"""

from __future__ import annotations

revision: str = "0006_campaigns"
down_revision: str | None = "0005_verifications"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""

"""Insights distilled from verified papers; novelty (near-duplicate) records.

Revision ID: 0007_insights_novelty
Revises: 0006_campaigns
Create Date: 2026-12-01
"""

from __future__ import annotations

revision: str = "0007_insights_novelty"
down_revision: str | None = "0006_campaigns"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""

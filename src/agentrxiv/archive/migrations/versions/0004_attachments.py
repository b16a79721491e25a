"""Paper attachments (figures) stored with each version.

Revision ID: 0004_attachments
Revises: 0003_limits_provenance
Create Date: 2026-12-01
"""

from __future__ import annotations

revision: str = "0004_attachments"
down_revision: str | None = "0003_limits_provenance"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""

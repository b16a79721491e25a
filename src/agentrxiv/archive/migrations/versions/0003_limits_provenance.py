"""Review provenance, token expiry and revocation, human tokens, write quotas.

Revision ID: 0003_limits_provenance
Revises: 0002_search
Create Date: 2026-12-01
"""

from __future__ import annotations

revision: str = "0003_limits_provenance"
down_revision: str | None = "0002_search"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""

"""An index on papers (created_at, id): listings and the front page read the newest papers
in order and stop at the page, instead of sorting every latest version (at 1M papers the
page's query took 2.2 s, 0.2 ms with this index; GET /api/v1/papers 6.6 s before, 0.2 s
after: benchmarks/results/search_1m_2026-12-04.md).

Revision ID: 0013_papers_newest_first
Revises: 0012_verification_queue
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision: str = "0013_papers_newest_first"
down_revision: str | None = "0012_verification_queue"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_papers_created_at", "papers", ["created_at", "id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_papers_created_at", table_name="papers")

"""Search indexes: full text (SQLite FTS5 ``paper_fts`` / PostgreSQL ``search_vector`` with
a GIN index), ``paper_categories`` (filled from the latest versions already stored) and an
index on ``papers.withdrawn``.

Revision ID: 0002_search
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_search"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None

# Kept in step with agentrxiv.archive.search.index (a migration must not import app code
# that may change later).
PG_SEARCH_VECTOR_SQL = """
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(abstract, '')), 'B')
    || setweight(to_tsvector('english', coalesce(authors_text, '') || ' ' || coalesce(
        (SELECT string_agg(value, ' ') FROM json_array_elements_text(categories)), '')), 'C')
    || setweight(to_tsvector('english', left(coalesce(body, ''), 200000)), 'D')
"""


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "paper_categories",
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["paper_versions.id"]),
        sa.PrimaryKeyConstraint("category", "version_id"),
    )
    op.create_index("ix_paper_categories_version_id", "paper_categories", ["version_id"])
    # Every search excludes withdrawn papers; without an index that is a scan of papers.
    op.create_index("ix_papers_withdrawn", "papers", ["withdrawn"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO paper_categories (category, version_id) "
            "SELECT DISTINCT c.value, pv.id FROM paper_versions pv, "
            "json_array_elements_text(pv.categories) AS c WHERE pv.is_latest"
        )
        op.execute("ALTER TABLE paper_versions ADD COLUMN search_vector tsvector")
        op.execute(
            f"UPDATE paper_versions SET search_vector = {PG_SEARCH_VECTOR_SQL} WHERE is_latest"
        )
        op.execute(
            "CREATE INDEX ix_paper_versions_search_vector ON paper_versions "
            "USING gin (search_vector)"
        )
        return
    op.execute(
        "INSERT INTO paper_categories (category, version_id) "
        "SELECT DISTINCT c.value, pv.id FROM paper_versions pv, json_each(pv.categories) AS c "
        "WHERE pv.is_latest"
    )
    op.execute(
        "CREATE VIRTUAL TABLE paper_fts USING fts5(title, abstract, authors, categories, body, "
        "tokenize='porter unicode61')"
    )
    op.execute(
        "INSERT INTO paper_fts (rowid, title, abstract, authors, categories, body) "
        "SELECT id, title, abstract, authors_text, coalesce((SELECT group_concat(value, ' ') "
        "FROM json_each(categories)), ''), body FROM paper_versions WHERE is_latest"
    )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_paper_versions_search_vector")
        op.execute("ALTER TABLE paper_versions DROP COLUMN IF EXISTS search_vector")
    else:
        op.execute("DROP TABLE IF EXISTS paper_fts")
    op.drop_index("ix_papers_withdrawn", table_name="papers")
    op.drop_index("ix_paper_categories_version_id", table_name="paper_categories")
    op.drop_table("paper_categories")

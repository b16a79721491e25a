"""Verifications the server re-checks: problems a technique answered without the model;
novelty assessed for every paper version (one ``paper_novelty`` row per version); insight
evidence names the verification it was copied from.

Revision ID: 0010_verification_trust
Revises: 0009_accumulation
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010_verification_trust"
down_revision: str | None = "0009_accumulation"
branch_labels: str | None = None
depends_on: str | None = None


# Names for the constraints 0007 left unnamed (SQLite batch mode needs a name to drop one).
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique_name() -> str:
    if op.get_bind().dialect.name == "sqlite":
        return "uq_paper_novelty_paper_id"
    return "paper_novelty_paper_id_key"  # PostgreSQL's name for the unnamed constraint


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("insights") as batch:
        batch.add_column(sa.Column("verification_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("verifications") as batch:
        batch.add_column(
            sa.Column("no_model_use", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("paper_novelty", naming_convention=NAMING) as batch:
        batch.drop_constraint(_old_unique_name(), type_="unique")
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.create_unique_constraint("uq_paper_novelty_version", ["paper_id", "version"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("insights") as batch:
        batch.drop_column("verification_id")
    with op.batch_alter_table("paper_novelty", naming_convention=NAMING) as batch:
        batch.drop_constraint("uq_paper_novelty_version", type_="unique")
        batch.drop_column("version")
        batch.create_unique_constraint(_old_unique_name(), ["paper_id"])
    with op.batch_alter_table("verifications") as batch:
        batch.drop_column("no_model_use")

"""The standing of a verification, decided by the server from owners (``self``, ``same
owner``, ``independent``, ``archive``), and the archive's verifier tokens (``is_verifier``,
created only by the operator). Existing verifications get their standing from the owners of
the paper's lab and the verifier lab (none of them was posted by a verifier token).

Revision ID: 0011_verification_standing
Revises: 0010_verification_trust
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011_verification_standing"
down_revision: str | None = "0010_verification_trust"
branch_labels: str | None = None
depends_on: str | None = None

# Standing of the rows stored before this revision, from the two labs' owners.
BACKFILL = """
UPDATE verifications SET standing = CASE
  WHEN verifier_lab_id = (SELECT lab_id FROM papers WHERE papers.id = verifications.paper_id)
    THEN 'self'
  WHEN (SELECT owner_id FROM labs WHERE labs.id = verifications.verifier_lab_id) =
       (SELECT labs.owner_id FROM papers JOIN labs ON labs.id = papers.lab_id
        WHERE papers.id = verifications.paper_id)
    THEN 'same owner'
  ELSE 'independent'
END
"""


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("is_verifier", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("verifications") as batch:
        batch.add_column(
            sa.Column("standing", sa.String(20), nullable=False, server_default="self")
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("verifications") as batch:
        batch.drop_column("standing")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("is_verifier")

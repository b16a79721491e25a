"""Owners, token access scopes, per-owner and per-client limits, idempotency records.

``owners`` holds person/organisation accounts and ``labs.owner_id`` ties each lab to one;
every lab stored before this revision gets an owner of its own name (so no two existing labs
share an owner, and an existing token keeps publishing as its lab). ``api_tokens`` gets the
access scope of campaign lab tokens (``scope_campaign``, ``scope_mode``). ``usage_counters``
replaces the per-token ``token_usage`` (limits now count per owner, so a new token does not
reset them, and per client address for costly anonymous reads). ``idempotency_records`` keeps
the body digest and response of writes made under an ``Idempotency-Key``.

Revision ID: 0008_owners_scopes
Revises: 0007_insights_novelty
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008_owners_scopes"
down_revision: str | None = "0007_insights_novelty"
branch_labels: str | None = None
depends_on: str | None = None


def _give_existing_labs_owners() -> None:
    """One owner per existing lab, named after it."""
    bind = op.get_bind()
    labs = sa.table("labs", sa.column("id", sa.Integer), sa.column("name", sa.String))
    owners = sa.table(
        "owners",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(labs.c.id, labs.c.name).order_by(labs.c.id)).all()
    for lab_id, name in rows:
        owner_id = bind.execute(
            owners.insert().values(name=name, created_at=now).returning(owners.c.id)
        ).scalar_one()
        bind.execute(
            sa.text("UPDATE labs SET owner_id = :owner WHERE id = :lab"),
            {"owner": owner_id, "lab": lab_id},
        )


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "owners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    # Not batch mode: copying ``labs`` on SQLite would drop a table other rows reference
    # (FOREIGN KEY constraint failed). SQLite adds a nullable column with an inline
    # REFERENCES clause in place; Alembic only emits that as raw SQL.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE labs ADD COLUMN owner_id INTEGER REFERENCES owners (id)")
    else:
        op.add_column(
            "labs",
            sa.Column("owner_id", sa.Integer(), sa.ForeignKey("owners.id"), nullable=True),
        )
    op.create_index("ix_labs_owner_id", "labs", ["owner_id"])
    _give_existing_labs_owners()
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scope_campaign", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("scope_mode", sa.String(length=10), nullable=True))
    op.drop_table("token_usage")
    op.create_table(
        "usage_counters",
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("bucket", sa.String(length=30), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("subject", "bucket", "period"),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lab_id", "kind", "key", name="uq_idempotency_key"),
    )


def downgrade() -> None:
    """Revert this revision (usage counters start again from zero)."""
    op.drop_table("idempotency_records")
    op.drop_table("usage_counters")
    op.create_table(
        "token_usage",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"]),
        sa.PrimaryKeyConstraint("token_id", "bucket", "period"),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scope_mode")
        batch.drop_column("scope_campaign")
    op.drop_index("ix_labs_owner_id", table_name="labs")
    # Drops the foreign key with it (SQLite >= 3.35 drops a column that only references).
    op.execute("ALTER TABLE labs DROP COLUMN owner_id")
    op.drop_table("owners")

"""Login throttles per username and address, per address and per username, in their own table.

The per-user counters in `users` go: a lock the owner of an account could not escape, and nothing for
unknown usernames. Locks in force at upgrade time are dropped (they last minutes).

Revision ID: 0004_login_throttles
Revises: 0003_device_broker_credentials
Create Date: 2026-12-04 23:59:21.886863
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base

revision = "0004_login_throttles"
down_revision = "0003_device_broker_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("key", name=op.f("uq_login_throttles_key")),
    )
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttles_locked_until"), ["locked_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_throttles_username"), ["username"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_failed_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("locked_until", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_failed_login_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttles_username"))
        batch_op.drop_index(batch_op.f("ix_login_throttles_locked_until"))

    op.drop_table("login_throttles")

"""notification outbox: one row per message and channel, with its attempts and next due time

Revision ID: 0009_notify_outbox
Revises: 0010_patrol
Create Date: 2026-12-05 17:13:42.240746
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base

revision = "0009_notify_outbox"
down_revision = "0010_patrol"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("created_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
    )
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notify_outbox_community", ["community_id", "id"], unique=False)
        batch_op.create_index("ix_notify_outbox_due", ["channel", "state", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_outbox_due")
        batch_op.drop_index("ix_notify_outbox_community")

    op.drop_table("notify_outbox")

"""cases shared with police and property

Revision ID: 0012_case_sharing
Revises: 0011_case_attachments
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base

revision = "0012_case_sharing"
down_revision = "0011_case_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("shared_by_user_id", sa.Integer(), nullable=True),
        sa.Column("shared_by_name", sa.String(length=64), nullable=False),
        sa.Column("shared_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_name", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_shares_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_shares")),
    )
    with op.batch_alter_table("case_shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_shares_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_shares_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_shares_user_id"))
        batch_op.drop_index(batch_op.f("ix_case_shares_case_id"))

    op.drop_table("case_shares")

"""One-time sign-in codes for residents (/h5).

Revision ID: 0013_sign_in_codes
Revises: 0015_patrol_edit
Create Date: 2026-12-05 19:25:13.411844
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base

revision = "0013_sign_in_codes"
down_revision = "0015_patrol_edit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_codes")),
        sa.UniqueConstraint("phone_hash", name=op.f("uq_sign_in_codes_phone_hash")),
    )
    with op.batch_alter_table("sign_in_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_codes_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_in_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_codes_expires_at"))

    op.drop_table("sign_in_codes")

"""Unread plates (待辨认车牌): reads that follow no plate format, kept with their snapshot for a person.

Revision ID: 0017_plate_reviews
Revises: 0013_sign_in_codes
Create Date: 2026-12-05 21:51:30.128323
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base

revision = "0017_plate_reviews"
down_revision = "0013_sign_in_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unread_plates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("device_event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("text_raw", sa.String(length=64), nullable=True),
        sa.Column("color", sa.String(length=8), nullable=True),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=True),
        sa.Column("snapshot", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=True),
        sa.Column("passage_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unread_plates")),
        sa.UniqueConstraint("device_event_id", name=op.f("uq_unread_plates_device_event_id")),
    )
    with op.batch_alter_table("unread_plates", schema=None) as batch_op:
        batch_op.create_index("ix_unread_plates_waiting", ["state", "community_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unread_plates", schema=None) as batch_op:
        batch_op.drop_index("ix_unread_plates_waiting")

    op.drop_table("unread_plates")

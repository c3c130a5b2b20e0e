"""Evidence snapshots devices send: one row per stored JPEG file, with the gate's scope.

Revision ID: 0005_device_snapshots
Revises: 0004_login_throttles
Create Date: 2026-12-05 03:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base

revision = "0005_device_snapshots"
down_revision = "0004_login_throttles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_snapshots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("snapshot_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("gate_id", sa.Integer(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_snapshots")),
        sa.UniqueConstraint(
            "device_id", "snapshot_id", name=op.f("uq_device_snapshots_device_id_snapshot_id")
        ),
        sa.UniqueConstraint("path", name=op.f("uq_device_snapshots_path")),
    )
    with op.batch_alter_table("device_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_snapshots_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_snapshots_received_at"))

    op.drop_table("device_snapshots")

"""sealed device broker passwords

Revision ID: 0003_device_broker_credentials
Revises: 0002_plate_index_flow_revision
Create Date: 2026-12-04 23:24:10.921235
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base

revision = "0003_device_broker_credentials"
down_revision = "0002_plate_index_flow_revision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_broker_credentials",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.String(length=255), nullable=False),
        sa.Column("created_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("on_broker", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_device_broker_credentials")),
    )
    with op.batch_alter_table("device_broker_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_broker_credentials_device_id"), ["device_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("device_broker_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_broker_credentials_device_id"))

    op.drop_table("device_broker_credentials")

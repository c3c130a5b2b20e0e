"""A device's status says whether it runs degraded (a camera short of its analysis rate, say), and why.

Revision ID: 0018_camera_degraded
Revises: 0017_plate_reviews
Create Date: 2026-12-05 22:36:12.915299
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_camera_degraded"
down_revision = "0017_plate_reviews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("health_reasons", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_status", schema=None) as batch_op:
        batch_op.drop_column("health_reasons")
        batch_op.drop_column("health")

"""Open presences indexed by plate; flow bucket revisions.

The ingest looks up a batch's open presences by plate: a partial index led by the plate serves it even
before the table has statistics. The "outside vehicles inside now" reports get their own partial index.
Flow buckets count their changes, so a live client never applies one twice.

Revision ID: 0002_plate_index_flow_revision
Revises: 0001_initial
Create Date: 2026-11-27 22:16:04.381492
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_plate_index_flow_revision"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flow_buckets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default=sa.text("0")))

    with op.batch_alter_table("vehicle_presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vehicle_presence_category"))
        batch_op.drop_index(batch_op.f("ix_vehicle_presence_left_at"))
        batch_op.drop_index(batch_op.f("ix_vehicle_presence_open"))
        batch_op.create_index(
            "ix_vehicle_presence_open_plate",
            ["plate", "compound_id"],
            unique=False,
            postgresql_where=sa.text("left_at IS NULL"),
            sqlite_where=sa.text("left_at IS NULL"),
        )
        batch_op.create_index(
            "ix_vehicle_presence_outside_inside",
            ["compound_id"],
            unique=False,
            postgresql_where=sa.text("left_at IS NULL AND category = 'outside'"),
            sqlite_where=sa.text("left_at IS NULL AND category = 'outside'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("vehicle_presence", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_vehicle_presence_outside_inside",
            postgresql_where=sa.text("left_at IS NULL AND category = 'outside'"),
            sqlite_where=sa.text("left_at IS NULL AND category = 'outside'"),
        )
        batch_op.drop_index(
            "ix_vehicle_presence_open_plate",
            postgresql_where=sa.text("left_at IS NULL"),
            sqlite_where=sa.text("left_at IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_vehicle_presence_open"), ["compound_id", "plate", "left_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vehicle_presence_left_at"), ["left_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_vehicle_presence_category"), ["category"], unique=False)

    with op.batch_alter_table("flow_buckets", schema=None) as batch_op:
        batch_op.drop_column("revision")

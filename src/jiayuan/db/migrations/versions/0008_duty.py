"""Duty rosters: templates, shifts, holidays; the cadre on duty on a case

Revision ID: 0008_duty
Revises: 0007_name_search_keys
Create Date: 2026-12-05 17:13:59.719673
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base

revision = "0008_duty"
down_revision = "0007_name_search_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_holidays")),
        sa.UniqueConstraint("community_id", "day", name=op.f("uq_duty_holidays_community_id_day")),
    )
    with op.batch_alter_table("duty_holidays", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_holidays_community_id"), ["community_id"], unique=False)

    op.create_table(
        "duty_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("duty_role", sa.String(length=16), nullable=False),
        sa.Column("place_kind", sa.String(length=16), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_templates")),
    )
    with op.batch_alter_table("duty_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_templates_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_templates_user_id"), ["user_id"], unique=False)

    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("duty_role", sa.String(length=16), nullable=False),
        sa.Column("place_kind", sa.String(length=16), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("signed_in_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_out_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", jiayuan.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["duty_templates.id"],
            name=op.f("fk_duty_shifts_template_id_duty_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shifts")),
        sa.UniqueConstraint("template_id", "starts_at", name=op.f("uq_duty_shifts_template_id_starts_at")),
    )
    with op.batch_alter_table("duty_shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_shifts_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_shifts_ends_at"), ["ends_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_shifts_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_duty_shifts_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cadre_user_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("cadre_user_id")

    with op.batch_alter_table("duty_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_shifts_user_id"))
        batch_op.drop_index(batch_op.f("ix_duty_shifts_starts_at"))
        batch_op.drop_index(batch_op.f("ix_duty_shifts_ends_at"))
        batch_op.drop_index(batch_op.f("ix_duty_shifts_community_id"))

    op.drop_table("duty_shifts")
    with op.batch_alter_table("duty_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_templates_user_id"))
        batch_op.drop_index(batch_op.f("ix_duty_templates_community_id"))

    op.drop_table("duty_templates")
    with op.batch_alter_table("duty_holidays", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_holidays_community_id"))

    op.drop_table("duty_holidays")

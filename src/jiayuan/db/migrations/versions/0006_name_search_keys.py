"""Names stored with one middle dot; alternative pinyin keys; a community + name GIN index.

Revision ID: 0006_name_search_keys
Revises: 0005_device_snapshots
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base
from jiayuan.registry.names import name_columns, normalise_name

revision = "0006_name_search_keys"
down_revision = "0005_device_snapshots"
branch_labels = None
depends_on = None

_residents = sa.table(
    "residents",
    sa.column("name", sa.String()),
    sa.column("name_pinyin", sa.String()),
    sa.column("name_initials", sa.String()),
    sa.column("name_grams", jiayuan.db.base.StringList()),
    sa.column("name_keys", jiayuan.db.base.StringList(32)),
)


def _recompute_names() -> None:
    """Normalise every stored name and recompute its search columns, one update per distinct name."""
    bind = op.get_bind()
    stored = sa.select(
        _residents.c.name, _residents.c.name_pinyin, _residents.c.name_initials, _residents.c.name_grams
    ).distinct()
    changes = []
    for name, pinyin, initials, grams in bind.execute(stored):
        new = normalise_name(name)
        columns = name_columns(new)
        before = {
            "name_pinyin": pinyin,
            "name_initials": initials,
            "name_grams": sorted(grams),
            "name_keys": [],
        }
        if new != name or columns != before:
            changes.append({"old": name, "name": new, **columns})
    if changes:
        update = _residents.update().where(_residents.c.name == sa.bindparam("old"))
        bind.execute(update, changes)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    empty = "'{}'" if postgresql else "'[]'"
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "name_keys", jiayuan.db.base.StringList(32), nullable=False, server_default=sa.text(empty)
            )
        )
        batch_op.drop_index("ix_residents_name_grams", postgresql_using="gin")
    _recompute_names()
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.alter_column("name_keys", server_default=None)
    if postgresql:
        # btree_gin lets one GIN index hold the community id beside the name substrings.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_residents_community_name_grams",
            ["community_id", "name_grams"],
            unique=False,
            postgresql_using="gin",
        )
        batch_op.create_index("ix_residents_name_keys", ["name_keys"], unique=False, postgresql_using="gin")


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_name_keys", postgresql_using="gin")
        batch_op.drop_index("ix_residents_community_name_grams", postgresql_using="gin")
        batch_op.create_index("ix_residents_name_grams", ["name_grams"], unique=False, postgresql_using="gin")
        batch_op.drop_column("name_keys")

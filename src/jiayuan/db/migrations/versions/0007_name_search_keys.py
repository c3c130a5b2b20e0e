"""Names stored with one middle dot; pinyin prefix keys of every reading; one community + name GIN index.

Revision ID: 0007_name_search_keys
Revises: 0006_cases
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import jiayuan.db.base
from jiayuan.registry.names import name_columns, normalise_name

revision = "0007_name_search_keys"
down_revision = "0006_cases"
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
    """Normalise every stored name and compute its search columns, one update per distinct name."""
    bind = op.get_bind()
    names = bind.scalars(sa.select(_residents.c.name).distinct()).all()
    if names:
        changes = [
            {"old": name, "name": normalise_name(name), **name_columns(normalise_name(name))}
            for name in names
        ]
        bind.execute(_residents.update().where(_residents.c.name == sa.bindparam("old")), changes)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    empty = "'{}'" if postgresql else "'[]'"
    # The indexes the new keys replace go first, so that the rewrite of every row does not maintain them.
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "name_keys", jiayuan.db.base.StringList(32), nullable=False, server_default=sa.text(empty)
            )
        )
        batch_op.drop_index("ix_residents_name_grams", postgresql_using="gin")
        batch_op.drop_index("ix_residents_name_pinyin", postgresql_ops={"name_pinyin": "text_pattern_ops"})
        batch_op.drop_index(
            "ix_residents_name_initials", postgresql_ops={"name_initials": "text_pattern_ops"}
        )
    _recompute_names()
    if postgresql:
        # btree_gin lets one GIN index hold the community id beside the name's keys.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        # With the default 1,000 most common keys sampled, a rare key such as `denglu` is guessed at
        # ~1,000 matches instead of 20, and a search ordered by id walks the whole primary key.
        op.execute("ALTER TABLE residents ALTER COLUMN name_keys SET STATISTICS 1000")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.alter_column("name_keys", server_default=None)
        batch_op.create_index(
            "ix_residents_community_name_search",
            ["community_id", "name_grams", "name_keys"],
            unique=False,
            postgresql_using="gin",
        )


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index("ix_residents_community_name_search", postgresql_using="gin")
        batch_op.create_index(
            "ix_residents_name_initials",
            ["name_initials"],
            unique=False,
            postgresql_ops={"name_initials": "text_pattern_ops"},
        )
        batch_op.create_index(
            "ix_residents_name_pinyin",
            ["name_pinyin"],
            unique=False,
            postgresql_ops={"name_pinyin": "text_pattern_ops"},
        )
        batch_op.create_index("ix_residents_name_grams", ["name_grams"], unique=False, postgresql_using="gin")
        batch_op.drop_column("name_keys")

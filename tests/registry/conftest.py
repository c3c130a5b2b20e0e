"""Fixtures of the registry tests: the small tree from helpers.py."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories import Tree, build_tree


@pytest.fixture
def tree(db: Session) -> Tree:
    """The small registry tree, committed."""
    return build_tree(db)

"""The registry tree most case tests work in."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories import Tree, build_tree


@pytest.fixture
def tree(db: Session) -> Tree:
    built = build_tree(db)
    db.commit()
    return built

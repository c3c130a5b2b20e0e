"""Quick Argon2 parameters for the accounts service tests (the app sets them from settings)."""

from __future__ import annotations

import pytest

from jiayuan.accounts import passwords


@pytest.fixture(autouse=True)
def quick_hashing() -> None:
    """Cheap hashing so tests stay fast; tests that change the cost restore it."""
    passwords.configure(time_cost=1, memory_kib=1024)

"""Every notify test runs with the sealing key configured, as every entry point configures it."""

from __future__ import annotations

import pytest

from jiayuan.kernel.crypto import PiiVault
from jiayuan.notify import service
from jiayuan.notify.schemas import Routing


@pytest.fixture(autouse=True)
def sealing(vault: PiiVault) -> None:
    service.configure(Routing(), vault)

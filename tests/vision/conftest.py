"""Fixtures for the vision tests: the shared labelled data, tiny frames and a scripted detector."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    """The labelled data folder: JIAYUAN_SHARED_DATA, else ../shared/data beside the project."""
    return Path(os.environ.get("JIAYUAN_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture
def data_dir() -> Path:
    """The shared data folder; tests that need it skip (saying why) only when it is absent."""
    folder = shared_data()
    if not folder.is_dir():
        pytest.skip(f"shared labelled data not found at {folder} (set JIAYUAN_SHARED_DATA)")
    return folder


def blank(width: int = 160, height: int = 120) -> np.ndarray:
    """A black BGR frame."""
    return np.zeros((height, width, 3), dtype=np.uint8)

"""The platform takes as a plate exactly what the vision worker publishes as one: both read the plate
layouts of `kernel.plates`, so a camera's valid read is never sent to a person as unreadable, nor junk
counted."""

from __future__ import annotations

import pytest

from jiayuan.access.plates import normalise
from jiayuan.vision.plates import plate_format

PLATES = [
    "皖A05279",  # ordinary
    "豫A1234学",  # driving school
    "鄂F8888警",  # police
    "粤ZP560港",  # Hong Kong
    "粤Z1234澳",  # Macau
    "沪A1234挂",  # trailer
    "粤A1234领",  # consulate
    "京A1234使",  # embassy, the older form
    "沪AF71017",  # new energy, small car
    "京AK12345",  # new energy, the newer letters
    "沪A12345D",  # new energy, large vehicle
    "使123456",  # embassy
]
NOT_PLATES = ["欢迎光临本店", "A123456", "皖I05279", "皖A0527", "皖A052799", "京A1234使5", "使12345"]


@pytest.mark.parametrize("text", PLATES)
def test_a_plate_the_worker_reads_is_a_plate_to_the_platform(text: str) -> None:
    assert plate_format(text) is not None
    assert normalise(text).valid_format


@pytest.mark.parametrize("text", NOT_PLATES)
def test_what_the_worker_refuses_the_platform_refuses(text: str) -> None:
    assert plate_format(text) is None
    assert not normalise(text).readable

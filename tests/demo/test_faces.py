"""`make demo` names each face's address with the account to open it with."""

from __future__ import annotations

from jiayuan.demo.accounts import DEMO_ACCOUNTS, face_lines
from jiayuan.kernel.principal import Role


def test_the_demo_prints_the_grid_worker_account_for_the_phone() -> None:
    lines = face_lines("http://127.0.0.1:8000")
    phone = next(line for line in lines if "http://127.0.0.1:8000/m " in line)
    worker = next(a for a in DEMO_ACCOUNTS if a.username == "grid01")
    assert worker.role is Role.GRID
    assert f"grid01 / {worker.password}" in phone and "王丽娟" in phone
    assert any(
        "http://127.0.0.1:8000/screen " in line and "daping / daping-demo-2026" in line for line in lines
    )

"""`make demo` names each face's address with the account to open it with, and the phone's account
finds work on it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiayuan.accounts.service.users import active_principal
from jiayuan.cases.service import reads
from jiayuan.cases.states import CaseState
from jiayuan.demo.accounts import DEMO_ACCOUNTS, face_lines
from jiayuan.kernel.principal import Role
from jiayuan.web.phone import phone_state


def test_the_demo_prints_the_grid_worker_account_for_the_phone() -> None:
    lines = face_lines("http://127.0.0.1:8000")
    phone = next(line for line in lines if "http://127.0.0.1:8000/m " in line)
    worker = next(a for a in DEMO_ACCOUNTS if a.username == "grid01")
    assert worker.role is Role.GRID
    assert f"grid01 / {worker.password}" in phone and "王丽娟" in phone
    assert any(
        "http://127.0.0.1:8000/screen " in line and "daping / daping-demo-2026" in line for line in lines
    )


def test_the_demo_grid_worker_has_a_phone_full_of_work(demo_db: Session) -> None:
    worker = active_principal(demo_db, "grid01")
    assert worker is not None
    state = phone_state(demo_db, actor=worker)
    assert state.grids == ["第一网格"] and state.role_label == "网格员"
    assert state.display_name == "王丽娟（第一网格）" and state.user_name == "grid01"
    assert state.cases and all(c.state is not CaseState.CLOSED for c in state.cases)
    shown = [reads.show_case(demo_db, actor=worker, case_id=c.id) for c in state.cases]
    assert all(c.grid_id in worker.grid_ids for c in shown)
    # Those handed to the worker come first, and only they offer 受理.
    mine = [c.mine for c in state.cases]
    assert mine == sorted(mine, reverse=True)
    assert all(c.mine for c in state.cases if any(a.verb == "accept" for a in c.actions))

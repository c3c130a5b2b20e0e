"""Multi-row inserts and list filters behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from jiayuan.db.base import table_of
from jiayuan.db.bulk import in_list, insert_rows, is_postgresql
from jiayuan.devices.models import DeviceEvent

AT = datetime(2026, 11, 27, 8, 30, tzinfo=UTC)


def event(event_id: str, payload: dict[str, Any], seq: int | None = None) -> dict[str, Any]:
    return {
        "device_id": "gate1-plate", "event_id": event_id, "type": "plate_read", "ts": AT,
        "received_at": AT, "seq": seq, "gate_id": None, "community_id": 7, "payload": payload,
    }  # fmt: skip


def test_rows_keep_their_values_and_conflicts_are_skipped(db: Session) -> None:
    payloads = [{"plate": "豫A12345", "notes": ["第4位“O”可能是“0”"]}, {"nested": {"list": [1, None]}}, {}]
    first = insert_rows(
        db,
        table_of(DeviceEvent),
        [event(f"e{i}", p, seq=i if i else None) for i, p in enumerate(payloads)],
        returning=("event_id", "id"),
        ignore_conflicts_on=("device_id", "event_id"),
    )
    assert sorted(r.event_id for r in first) == ["e0", "e1", "e2"]
    again = insert_rows(
        db,
        table_of(DeviceEvent),
        [event("e1", {"changed": True}), event("e3", {"new": 1}), event("e3", {"twice": 1})],
        returning=("event_id",),
        ignore_conflicts_on=("device_id", "event_id"),
    )
    assert [r.event_id for r in again] == ["e3"]
    stored = {e.event_id: e for e in db.scalars(select(DeviceEvent))}
    assert [stored[f"e{i}"].payload for i in range(3)] == payloads
    assert stored["e1"].payload == payloads[1]  # the clashing row did not overwrite
    assert stored["e0"].seq is None and stored["e2"].seq == 2
    assert stored["e0"].ts == AT and stored["e0"].ts.tzinfo is not None


def test_insert_without_returning_and_empty_input(db: Session) -> None:
    assert insert_rows(db, table_of(DeviceEvent), []) == []
    assert insert_rows(db, table_of(DeviceEvent), [event("a", {"k": "v"}), event("b", {})]) == []
    assert db.scalar(select(DeviceEvent.payload).where(DeviceEvent.event_id == "a")) == {"k": "v"}


def test_in_list_matches_like_in(db: Session) -> None:
    insert_rows(db, table_of(DeviceEvent), [event(f"e{i}", {}) for i in range(5)])
    wanted = in_list(DeviceEvent.event_id, "ids", postgres=is_postgresql(db))
    query = select(DeviceEvent.event_id).where(wanted)
    assert sorted(db.scalars(query, {"ids": ["e1", "e3", "x"]})) == ["e1", "e3"]
    assert db.scalars(query, {"ids": []}).all() == []


def test_naive_datetimes_are_refused(db: Session) -> None:
    naive = event("n", {}) | {"ts": datetime(2026, 11, 27, 8, 30)}
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        insert_rows(db, table_of(DeviceEvent), [naive])

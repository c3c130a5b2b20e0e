"""What the gate benchmarks share: the test broker's URL and a gate with its devices and a staff account.

Imported as `bench_site` by the scripts of this folder (run as files, their folder on sys.path) and as
`bench.ingest.bench_site` by the modules run with `python -m`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.orm import Session

from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.accounts.service.users import create_user
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Community, Compound, Device, Gate, Street

ROOT = Path(__file__).resolve().parents[2]


def test_broker_url() -> str:
    """JIAYUAN_TEST_MQTT_URL, else the URL `make services` wrote (the broker refuses anonymous clients)."""
    written = ROOT / "var" / "test-services.env"
    if "JIAYUAN_TEST_MQTT_URL" not in os.environ and written.exists():
        return written.read_text().strip().partition("=")[2]
    return os.environ.get("JIAYUAN_TEST_MQTT_URL", "")


def add_gate_one(session: Session) -> tuple[Community, Gate]:
    """紫荆路社区's 锦江花园 with its 1号门, flushed (ids set)."""
    street = Street(name="紫荆路街道")
    community = Community(street=street, name="紫荆路社区")
    compound = Compound(community=community, name="锦江花园", code="jjhy")
    gate = Gate(compound=compound, code="jjhy-gate1", name="1号门")
    session.add_all([street, community, compound, gate])
    session.flush()
    return community, gate


def seed_gate(url: str, devices: Mapping[str, str]) -> str:
    """锦江花园's 1号门 with these devices (id → kind) and a staff account of its community; returns the
    staff's API token."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        community, gate = add_gate_one(session)
        session.add_all(Device(id=d, gate_id=gate.id, kind=kind, name=d) for d, kind in devices.items())
        user = create_user(
            session, actor=Principal.system(), username="staff", display_name="staff", role=Role.STAFF,
            scopes=[(ScopeKind.COMMUNITY, community.id)],
        )  # fmt: skip
        session.flush()
        token = issue_api_token(session, actor=Principal.system(), name="bench", user_id=user.id)
        session.commit()
    engine.dispose()
    return token

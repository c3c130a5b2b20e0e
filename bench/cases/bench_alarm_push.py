"""A gate SOS to the office's WebSocket while the gate pipeline ingests a steady load, on PostgreSQL.

    PYTHONPATH=src .venv/bin/python bench/cases/bench_alarm_push.py [--rate 2000] [--seconds 60] [--every 2]
        [--channel phone|screen]

As `jiayuan serve` runs it: the project's Mosquitto (var/test-services.env), the web app in this process
and the ingest loop in its supervised child process, relaying committed events to the web app over the
broker. The registry holds a compound whose building lies in a grid, a gate with a plate camera and an
SOS button, a grid worker on duty for that grid and a cadre on duty for the community (so every SOS case
is dispatched as it opens). A publisher process sends `--rate` plate reads a second for `--seconds`;
meanwhile this process presses the SOS button every `--every` seconds. A WebSocket client in its own
process listens where the case reaches a person: signed in as the dispatched grid worker on the phone's
stream `/ws/v1/m` (`--channel phone`, the default), or as the office's staff on the big screen's
`/ws/v1/screen` (`--channel screen`).

Figures: publish→case pushed for every SOS (its event id carries the publish time; the case is traced
back to it through its alarm and the stored device event), beside publish→stored of every plain event
of the same run (the ceiling: a case cannot reach anyone before its batch commits), and the rate the
ingest achieved.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "ingest"))

from bench_ingest import MQTT_URL, new_database, publish  # noqa: E402
from bench_site import add_gate_one  # noqa: E402
from ws_client import publish_time  # noqa: E402

from jiayuan.access.models import Alarm  # noqa: E402
from jiayuan.accounts.schemas import ScopeKind  # noqa: E402
from jiayuan.accounts.service.tokens import issue_api_token  # noqa: E402
from jiayuan.accounts.service.users import create_user  # noqa: E402
from jiayuan.broker_link import parse_mqtt_url  # noqa: E402
from jiayuan.bus.hub import hub  # noqa: E402
from jiayuan.cases.models import Case  # noqa: E402
from jiayuan.cli.serve import server_config  # noqa: E402
from jiayuan.db.session import make_engine, make_sessionmaker  # noqa: E402
from jiayuan.devices.models import DeviceEvent  # noqa: E402
from jiayuan.devices.protocol import Topics  # noqa: E402
from jiayuan.devices.service.pipeline import BatchOutcome  # noqa: E402
from jiayuan.duty.schemas import DutyRole, PlaceKind, ShiftIn  # noqa: E402
from jiayuan.duty.service import shifts  # noqa: E402
from jiayuan.ingest.supervisor import start_in_child_process  # noqa: E402
from jiayuan.kernel.heap import settle  # noqa: E402
from jiayuan.kernel.principal import Principal, Role  # noqa: E402
from jiayuan.registry.models import Building, Device, Grid  # noqa: E402
from jiayuan.settings import Settings  # noqa: E402


def seed(url: str, channel: str) -> tuple[str, int]:
    """The compound, its grid and gate, the office staff and the people on duty now; returns the API
    token of who listens (the grid worker on the phone's stream, the staff on the screen's) and the grid
    worker's user id."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        community, gate = add_gate_one(session)
        building = Building(compound_id=gate.compound_id, name="1号楼")
        session.add(building)
        session.flush()
        grid = Grid(community_id=community.id, name="第一网格", buildings=[building])
        session.add(grid)
        session.flush()
        session.add_all(
            [Device(id=f"bench-{kind}", gate_id=gate.id, kind=kind, name=kind) for kind in ("plate", "sos")]
        )
        system = Principal.system()
        office = [(ScopeKind.COMMUNITY, community.id)]
        staff = create_user(
            session, actor=system, username="staff", display_name="周敏", role=Role.STAFF, scopes=office
        )
        cadre = create_user(
            session, actor=system, username="cadre", display_name="陈军", role=Role.STAFF, scopes=office
        )
        worker = create_user(
            session, actor=system, username="worker", display_name="王伟", role=Role.GRID,
            scopes=[(ScopeKind.GRID, grid.id)],
        )  # fmt: skip
        session.flush()
        start = datetime.now(UTC) - timedelta(hours=1)
        for user_id, role, kind, place in (
            (worker.id, DutyRole.GRID_WORKER, PlaceKind.GRID, grid.id),
            (cadre.id, DutyRole.CADRE, PlaceKind.COMMUNITY, None),
        ):
            shifts.add_shift(
                session, actor=system,
                data=ShiftIn(
                    community_id=community.id, user_id=user_id, duty_role=role, place_kind=kind,
                    place_id=place, starts_at=start, ends_at=start + timedelta(hours=4),
                ),
            )  # fmt: skip
        listener = worker if channel == "phone" else staff
        token = issue_api_token(session, actor=system, name="bench", user_id=listener.id)
        session.commit()
    engine.dispose()
    return token, worker.id


class Commits:
    """publish→commit of every stored plain event and the commit marks, taken inside the ingest process."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.marks: list[tuple[float, int]] = []

    def __call__(self, outcome: BatchOutcome) -> None:
        now = time.time()
        self.seconds.extend(now - publish_time(a.envelope.id) for a in outcome.accepted)
        self.marks.append((now, len(outcome.accepted)))

    def report(self) -> tuple[list[float], list[tuple[float, int]]]:
        return self.seconds, self.marks

    def receive(self, report: tuple[list[float], list[tuple[float, int]]]) -> None:
        self.seconds, self.marks = report


def press_sos(prefix: str, every: float, seconds: float) -> int:
    """Press the gate's SOS button every `every` seconds (QoS 1, as the device does); returns how often."""
    target = parse_mqtt_url(MQTT_URL)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(target.username or "bench", target.password)
    client.connect(target.host, target.port)
    client.loop_start()
    topic = Topics(prefix).events("bench-sos")
    pressed = 0
    started = time.monotonic()
    while time.monotonic() - started + every < seconds:
        time.sleep(every)
        body = {"v": 1, "id": f"b{time.time_ns()}xsos{pressed:05d}", "device": "bench-sos",
                "type": "sos", "ts": datetime.now(UTC).isoformat(),
                "payload": {"button": "b1", "pressed": "long"}}  # fmt: skip
        client.publish(topic, json.dumps(body).encode(), qos=1)
        pressed += 1
    client.loop_stop()
    client.disconnect()
    return pressed


def sos_published(url: str, case_ids: list[int], worker_id: int) -> tuple[dict[int, float], int]:
    """Each case's SOS publish time, traced through its alarm to the stored device event, and how many
    of the cases went to the grid worker on duty."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(
            select(Case.id, Alarm.evidence, Case.assignee_user_id)
            .join(Alarm, Alarm.id == Case.alarm_id)
            .where(Case.id.in_(case_ids))
        ).all()
        event_rows = {int(evidence["device_event_id"]): case_id for case_id, evidence, _ in rows}
        dispatched = sum(1 for *_, assignee in rows if assignee == worker_id)
        events = session.execute(
            select(DeviceEvent.id, DeviceEvent.event_id).where(DeviceEvent.id.in_(list(event_rows)))
        ).all()
    engine.dispose()
    return {event_rows[row_id]: publish_time(event_id) for row_id, event_id in events}, dispatched


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each piece, read from /proc (Linux): this process (the web app and the
    SOS button), its children by role, the broker and PostgreSQL (every process of theirs on the host)."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        ppid, seconds = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == me:
            role = "web app (+ SOS button)"
        elif ppid == me and "publisher.py" in cmdline:
            role = "load publisher"
        elif ppid == me and "push_client.py" in cmdline:
            role = "WebSocket client"
        elif ppid == me and "multiprocessing" in cmdline:
            role = "ingest child"
        elif comm == "mosquitto":
            role = "mosquitto"
        elif comm.startswith("postgres"):
            role = "PostgreSQL (all)"
        else:
            continue
        used[role] = used.get(role, 0.0) + seconds
    return used


def pct(values: list[float], q: int) -> float:
    """The q-th percentile in ms (inclusive: never beyond the largest value seen)."""
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000
        if len(values) > 2
        else float("nan")
    )


STREAMS = {"phone": "/ws/v1/m", "screen": "/ws/v1/screen"}


def run(rate: float, seconds: float, every: float, channel: str = "phone") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        url, drop = new_database("postgresql", Path(workdir))
        try:
            token, worker_id = seed(url, channel)
            prefix = f"bench-{uuid.uuid4().hex[:8]}"
            settings = Settings(
                env="test", database_url=url, mqtt_url=MQTT_URL, var_dir=Path(workdir),
                mqtt_topic_prefix=prefix, mqtt_client_id=prefix,
            )  # fmt: skip
            port = 19000 + os.getpid() % 1000
            server = uvicorn.Server(server_config(settings, host="127.0.0.1", port=port))
            settle()  # as `jiayuan serve` does
            threading.Thread(target=server.run, daemon=True).start()
            while not server.started:
                time.sleep(0.05)
            commits = Commits()
            ingest = start_in_child_process(settings, observer=commits)
            client = subprocess.Popen(
                [sys.executable, str(HERE / "push_client.py"),
                 "--url", f"ws://127.0.0.1:{port}{STREAMS[channel]}?token={token}",
                 "--seconds", str(seconds + 5)],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert client.stdout is not None
            client.stdout.readline()  # "ready"
            time.sleep(0.5)  # the live feed's subscription
            count = int(rate * seconds)
            load = publish(prefix, "bench-plate", "plate", count, rate)
            cpu_before, began = cpu_seconds(), time.monotonic()
            pressed = press_sos(prefix, every, seconds)
            cpu_after, took = cpu_seconds(), time.monotonic() - began  # the publisher not reaped yet
            load.wait()
            loadavg = os.getloadavg()
            cores = {k: (v - cpu_before.get(k, 0.0)) / took for k, v in cpu_after.items()}
            got = json.loads(client.stdout.readline() or "{}")
            client.wait()
            ingest.stop()
            server.should_exit = True
            hub.detach()
            arrived = {int(k): v for k, v in got.get("cases", {}).items()}
            published, dispatched = sos_published(url, list(arrived), worker_id)
            pushed = [arrived[c] - published[c] for c in arrived if c in published]
            marks = commits.marks
            stored = sum(n for _, n in marks)
            span = marks[-1][0] - marks[0][0] if len(marks) > 1 else float("nan")
            return {
                "sent": count, "stored": stored, "achieved": stored / span, "pressed": pressed,
                "pushed": len(pushed), "push_p50": pct(pushed, 50), "push_p95": pct(pushed, 95),
                "push_p99": pct(pushed, 99), "push_max": max(pushed) * 1000 if pushed else float("nan"),
                "stored_p50": pct(commits.seconds, 50), "stored_p95": pct(commits.seconds, 95),
                "stored_p99": pct(commits.seconds, 99), "dispatched": dispatched,
                "other_messages": got.get("other_messages", 0), "load": loadavg, "cores": cores,
            }  # fmt: skip
        finally:
            drop()


def main() -> None:
    """Run once and print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--every", type=float, default=2, help="seconds between two SOS presses")
    parser.add_argument("--channel", choices=sorted(STREAMS), default="phone", help="who listens, where")
    args = parser.parse_args()
    settle()
    r = run(args.rate, args.seconds, args.every, args.channel)
    print(
        f"load average {r['load'][0]:.1f} (1 min) / {r['load'][1]:.1f} (5 min) as the load ended;"
        f" {args.rate:.0f} plate reads/s for {args.seconds:.0f} s; an SOS every {args.every:g} s;"
        f" listening on {STREAMS[args.channel]}"
    )
    print(
        "| ingest achieved | events stored | p50/p95/p99 publish→stored (every event) |"
        " SOS pressed / pushed / dispatched to the grid worker |"
        " p50/p95/p99 (max) SOS publish→case on WebSocket | other stream messages |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {r['achieved']:,.0f}/s | {r['stored']:,}/{r['sent']:,} |"
        f" {r['stored_p50']:.0f} / {r['stored_p95']:.0f} / {r['stored_p99']:.0f} ms |"
        f" {r['pressed']} / {r['pushed']} / {r['dispatched']} |"
        f" {r['push_p50']:.0f} / {r['push_p95']:.0f} / {r['push_p99']:.0f} ({r['push_max']:.0f}) ms |"
        f" {r['other_messages']:,} |"
    )
    print()
    print(
        "CPU during the load (cores busy, of 2): "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["cores"].items()))
    )


if __name__ == "__main__":
    main()

"""What happens at the gates, as a seeded stream of device messages (no network, no clock of its own)."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

import cv2
import numpy as np

from jiayuan.access.pass_tokens import Signer
from jiayuan.devices.protocol import EventType, Topics, event_body, status_body, timestamp
from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.kernel.ids import new_event_id

PROVINCE_PLATES = "豫豫豫豫京冀鲁晋陕皖鄂"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXY"


@dataclass(frozen=True)
class SimGate:
    """A gate with the devices the simulator speaks for, and who may pass it."""

    id: int
    compound_id: int
    qr: str | None
    plate: str | None
    camera: str | None
    devices: tuple[str, ...]
    people: tuple[tuple[int, int], ...]
    plates: tuple[str, ...]
    visitor_tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class Message:
    """One MQTT message to publish."""

    device: str
    kind: Literal["events", "status", "snapshot"]
    body: bytes
    retain: bool = False
    # The event or snapshot id a `delivered` receipt names; None where none can (status, broken JSON).
    id: str | None = None

    def topic(self, topics: Topics) -> str:
        """Where the message goes under the topic scheme."""
        if self.kind == "snapshot":
            assert self.id is not None
            return topics.snapshot(self.device, self.id)
        return topics.events(self.device) if self.kind == "events" else topics.status(self.device)


@cache
def snapshot_jpeg() -> bytes:
    """The picture behind every simulated plate read: a grey frame of a few KB, made once."""
    frame = np.full((180, 320, 3), 96, dtype=np.uint8)
    cv2.putText(frame, "SIMULATED", (62, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (230, 230, 230), 2)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 70])
    if not ok:
        raise ValueError("JPEG 编码失败")
    return encoded.tobytes()


@dataclass
class Traffic:
    """Generates realistic gate traffic: residents, visitors, deliveries, vehicles, a few bad inputs."""

    gates: list[SimGate]
    signer: Signer
    seed: int = 1
    rng: random.Random = field(init=False)
    _seq: int = 0
    _parked: list[tuple[datetime, SimGate, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @staticmethod
    def curve(at: datetime) -> float:
        """Relative activity by local time: morning and evening peaks, quiet nights (0.05–1)."""
        hour = at.astimezone(LOCAL_TZ)
        h = hour.hour + hour.minute / 60
        morning = math.exp(-((h - 7.75) ** 2) / 0.8)
        evening = math.exp(-((h - 18.25) ** 2) / 1.2)
        day = 0.35 if 9 <= h <= 17 else 0.0
        night = 0.05
        return min(1.0, max(night, morning, evening, day))

    def _envelope(self, device: str, type: EventType, payload: dict[str, Any], at: datetime) -> Message:
        # Ids are ULIDs, not drawn from the seed: a second run must not resend the first run's ids.
        self._seq += 1
        event_id, body = event_body(device, type, payload, at=at, seq=self._seq)
        return Message(device, "events", body, id=event_id)

    def _malformed(self, device: str, type: str, payload: dict[str, Any], at: datetime) -> Message:
        """An envelope the platform must refuse (event_body would not build it)."""
        self._seq += 1
        event_id = new_event_id()
        body = {"v": 1, "id": event_id, "device": device, "type": type, "ts": timestamp(at),
                "seq": self._seq, "payload": payload}  # fmt: skip
        return Message(device, "events", json.dumps(body, ensure_ascii=False).encode(), id=event_id)

    def online(self, at: datetime) -> list[Message]:
        """Every device announces itself (retained)."""
        body = status_body("online", at=at)
        return [Message(d, "status", body, retain=True) for g in self.gates for d in g.devices]

    def heartbeats(self, at: datetime, uptime_s: int) -> list[Message]:
        """One heartbeat per device."""
        return [
            self._envelope(d, "heartbeat", {"uptime_s": uptime_s, "fw": "sim-1.0", "queue": 0}, at)
            for g in self.gates
            for d in g.devices
        ]

    def _outside_plate(self) -> str:
        body = "".join(self.rng.choice("0123456789") for _ in range(5))
        return f"{self.rng.choice(PROVINCE_PLATES)}{self.rng.choice(PLATE_LETTERS)}{body}"

    def _token(self, gate: SimGate, at: datetime, *, expired: bool = False) -> str:
        person, household = self.rng.choice(gate.people)
        iat = int(at.timestamp()) - (300 if expired else self.rng.randint(0, 20))
        token, _ = self.signer.sign(
            kind="r",
            person=person,
            household=household,
            compounds=[gate.compound_id],
            iat=iat,
            exp=iat + 45,
            nonce=f"{self.rng.getrandbits(64):016x}",
        )
        return token

    def _walk(self, gate: SimGate, at: datetime, direction: str) -> list[Message]:
        out = []
        if gate.qr and gate.people:
            scan: dict[str, Any] = {
                "token": self._token(gate, at),
                "direction": direction,
                "local_decision": "ok",
            }
            out.append(self._envelope(gate.qr, "qr_scan", scan, at))
        if gate.camera:
            # Now and then a second person walks through on the same scan.
            count = 2 if self.rng.random() < 0.04 else 1
            cross: dict[str, Any] = {
                "line": "main",
                "class": "person",
                "direction": direction,
                "count": count,
            }
            out.append(self._envelope(gate.camera, "line_cross", cross, at))
        return out

    def _plate(
        self, gate: SimGate, plate: str, direction: str, at: datetime, color: str = "blue"
    ) -> list[Message]:
        """The camera's snapshot, then the read that names it (so the evidence is there first)."""
        assert gate.plate is not None
        snapshot_id = f"snap-{new_event_id()}"
        confidence = round(self.rng.uniform(0.72, 0.99), 2)
        payload: dict[str, Any] = {"plate": plate, "color": color, "confidence": confidence,
                                   "direction": direction, "snapshot": snapshot_id}  # fmt: skip
        return [
            Message(gate.plate, "snapshot", snapshot_jpeg(), id=snapshot_id),
            self._envelope(gate.plate, "plate_read", payload, at),
        ]

    def _bad(self, gate: SimGate, at: datetime) -> list[Message]:
        device = gate.qr or gate.devices[0]
        choice = self.rng.randrange(4)
        if choice == 0:
            return [Message(device, "events", b'{"v": 1, "id": "broken')]
        if choice == 1:
            return [self._malformed(device, "face_match", {"score": 0.3}, at)]
        if choice == 2:
            return [self._malformed(device, "qr_scan", {"token": "JY1", "direction": "sideways"}, at)]
        return [self._envelope(device, "heartbeat", {"uptime_s": 1, "fw": "x"}, at + timedelta(hours=2))]

    def tick(self, at: datetime) -> list[Message]:
        """One happening at a random gate (the caller paces the calls by the wanted rate)."""
        gate = self.rng.choice(self.gates)
        due = [p for p in self._parked if p[0] <= at]
        if due:
            self._parked.remove(due[0])
            _, parked_gate, plate = due[0]
            if parked_gate.plate:
                return self._plate(parked_gate, plate, "out", at)
        roll = self.rng.random()
        direction = "in" if (at.astimezone(LOCAL_TZ).hour >= 12) == (self.rng.random() < 0.7) else "out"
        if roll < 0.58:
            return self._walk(gate, at, direction)
        if roll < 0.73 and gate.plate and gate.plates:
            return self._plate(gate, self.rng.choice(gate.plates), direction, at)
        if roll < 0.81 and gate.plate:
            plate = self._outside_plate()
            # Most outside vehicles leave within the hour; a few stay the night.
            stay = (
                timedelta(minutes=self.rng.randint(5, 90)) if self.rng.random() < 0.9 else timedelta(days=2)
            )
            self._parked.append((at + stay, gate, plate))
            return self._plate(gate, plate, "in", at)
        if roll < 0.89 and gate.plate:
            plate = self._outside_plate()  # a delivery van: in, and out a few minutes later
            self._parked.append((at + timedelta(minutes=self.rng.randint(3, 12)), gate, plate))
            return self._plate(gate, plate, "in", at, color="yellow")
        if roll < 0.94 and gate.qr and gate.visitor_tokens:
            payload = {"token": self.rng.choice(gate.visitor_tokens), "direction": direction}
            return [self._envelope(gate.qr, "qr_scan", payload, at)]
        if roll < 0.98 and gate.qr and gate.people:
            token = self._token(gate, at, expired=True) if self.rng.random() < 0.5 else "JY1.bm9wZQ.bm9wZQ"
            return [self._envelope(gate.qr, "qr_scan", {"token": token, "direction": direction}, at)]
        return self._bad(gate, at)

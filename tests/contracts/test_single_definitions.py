"""Rules import-linter cannot state: every package has a layer, MQTT clients are built in one place and
device topics are spelled in one place."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "jiayuan"


def _sources(*, but: set[str]) -> dict[str, str]:
    return {
        str(p.relative_to(SRC)): p.read_text()
        for p in SRC.rglob("*.py")
        if str(p.relative_to(SRC)) not in but and "migrations" not in p.parts
    }


def test_every_package_has_a_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layered = {
        name.strip("() ")
        for contract in config
        if contract["type"] == "layers"
        for layer in contract["layers"]
        for name in layer.split("|")
    }
    packages = {
        f"jiayuan.{p.stem if p.is_file() else p.name}"
        for p in SRC.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")
    }
    assert packages - layered == set(), "packages without a layer in pyproject.toml's import contracts"
    assert layered - packages == set(), "layers naming packages that do not exist"


def test_mqtt_clients_are_built_only_by_broker_link() -> None:
    builders = [name for name, text in _sources(but={"broker_link.py"}).items() if "mqtt.Client(" in text]
    assert builders == []


def test_device_topics_are_spelled_only_by_the_protocol() -> None:
    spelled = [
        name
        for name, text in _sources(but={"devices/protocol.py"}).items()
        if re.search(r"f[\"'][^\"'\n]*\}/v1/(devices|platform)\b", text)
    ]
    assert spelled == []

"""The Mosquitto configuration the platform ships (mosquitto.conf beside this module), filled in."""

from __future__ import annotations

import getpass
import glob
from dataclasses import dataclass
from importlib.resources import files

# A broker that saves its queue after this many changes loses at most this many messages on a crash.
AUTOSAVE_CHANGES = 1000


def dynsec_plugin() -> str | None:
    """Where Debian (or a source build) put Mosquitto's dynamic security plugin, if anywhere."""
    found = glob.glob("/usr/lib/*/mosquitto_dynamic_security.so") + glob.glob(
        "/usr/lib/mosquitto_dynamic_security.so"
    )
    return found[0] if found else None


@dataclass(frozen=True)
class BrokerConfig:
    """The values of the template's placeholders."""

    var_dir: str
    port: int
    max_packet_bytes: int
    plugin: str
    host: str = "127.0.0.1"
    user: str = ""
    autosave_changes: int = AUTOSAVE_CHANGES

    def render(self) -> str:
        """The configuration file's text."""
        text = files("jiayuan.broker").joinpath("mosquitto.conf").read_text(encoding="utf-8")
        values = {
            "VAR": self.var_dir.rstrip("/"),
            "PORT": str(self.port),
            "HOST": self.host,
            "USER": self.user or getpass.getuser(),
            "DYNSEC_PLUGIN": self.plugin,
            "MAX_PACKET_BYTES": str(self.max_packet_bytes),
            "AUTOSAVE_CHANGES": str(self.autosave_changes),
        }
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        return text

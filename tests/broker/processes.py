"""Broker processes that tests and benches start, SIGKILL and start again on the same port and storage."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

PLATFORM_USER = "jiayuan-platform"
PLATFORM_PASSWORD = "platform-secret-for-tests"


class PrivateBroker:
    """A broker process on its own port and directory that a test may SIGKILL and start again."""

    def __init__(
        self, directory: Path, port: int, config: Path, *, command: tuple[str, ...] = ("mosquitto", "-c")
    ) -> None:
        self.directory = directory
        self.port = port
        self.config = config
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{PLATFORM_USER}:{PLATFORM_PASSWORD}@127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        """Start it and wait until it listens."""
        self.process = subprocess.Popen(
            [*self.command, str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError(
                        f"{self.command[0]} did not start from {self.config}: {self.process.returncode}"
                    ) from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: whatever it had not saved is gone, as in a crash or a power cut."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it does not stop within 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def nats_jetstream(directory: Path, port: int) -> PrivateBroker:
    """nats-server with JetStream and its MQTT listener on `port`: it stores each QoS 1 message in a
    JetStream stream (fsynced by its own policy) before the PUBACK. No accounts: a bench broker only."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "nats.conf"
    config.write_text(
        f"server_name: jiayuan-bench\nlisten: 127.0.0.1:{port + 1}\n"
        f'jetstream {{ store_dir: "{directory}/js" }}\n'
        f"mqtt {{ listen: 127.0.0.1:{port} }}\n",
        encoding="utf-8",
    )
    return PrivateBroker(directory, port, config, command=("nats-server", "-c"))

"""Evidence snapshots on disk: `<var>/snapshots/<device>/<yyyy-mm-dd>/<snapshot id>.jpg`.

A file is written to a temporary name, flushed to disk and renamed, so a reader never sees half a
JPEG and a crash leaves either the whole file or a temporary one that pruning removes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jiayuan.kernel.clock import local

SUFFIX = ".jpg"
TEMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class StoredFile:
    """A snapshot file found on disk: who sent it, its id, where it lies and when it was last written."""

    device_id: str
    snapshot_id: str
    relative: str
    mtime: float


class SnapshotFiles:
    """The snapshot folder under the var dir; paths handed in and out are relative to the var dir."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.root = var_dir / "snapshots"

    def relative_path(self, device_id: str, snapshot_id: str, received_at: datetime) -> str:
        """Where a snapshot goes: one folder per device and local day (ids are checked safe tokens)."""
        day = local(received_at).strftime("%Y-%m-%d")
        return f"snapshots/{device_id}/{day}/{snapshot_id}{SUFFIX}"

    def absolute(self, relative: str) -> Path:
        """The file of a stored relative path (only paths this class made are ever stored)."""
        return self.var_dir / relative

    def write(self, relative: str, data: bytes) -> None:
        """Write atomically and durably: temporary file, fsync, rename, fsync of the folder."""
        target = self.absolute(relative)
        temp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        for attempt in range(2):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with open(temp, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, target)
                break
            except FileNotFoundError:
                if attempt:  # pruning removed the empty day folder between mkdir and open: once more
                    raise
            except BaseException:
                with contextlib.suppress(OSError):
                    temp.unlink()
                raise
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def read(self, relative: str) -> bytes | None:
        """The file's bytes, or None when it is gone."""
        try:
            return self.absolute(relative).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, relatives: Iterable[str]) -> int:
        """Remove these files (missing ones are fine) and the day folders left empty; returns how many."""
        removed = 0
        folders: set[Path] = set()
        for relative in relatives:
            path = self.absolute(relative)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
            folders.add(path.parent)
        for folder in folders:
            with contextlib.suppress(OSError):  # not empty, or already gone
                folder.rmdir()
                folder.parent.rmdir()
        return removed

    def files(self) -> Iterator[StoredFile]:
        """Every finished snapshot file on disk."""
        if not self.root.is_dir():
            return
        for device in os.scandir(self.root):
            if not device.is_dir(follow_symlinks=False):
                continue
            for day in os.scandir(device.path):
                if not day.is_dir(follow_symlinks=False):
                    continue
                for entry in os.scandir(day.path):
                    if entry.name.endswith(SUFFIX) and entry.is_file(follow_symlinks=False):
                        yield StoredFile(
                            device_id=device.name,
                            snapshot_id=entry.name[: -len(SUFFIX)],
                            relative=f"snapshots/{device.name}/{day.name}/{entry.name}",
                            mtime=entry.stat(follow_symlinks=False).st_mtime,
                        )

    def remove_stale_temporaries(self, older_than_s: float) -> int:
        """Delete temporary files a crashed write left behind."""
        if not self.root.is_dir():
            return 0
        limit = time.time() - older_than_s
        removed = 0
        for temp in self.root.glob(f"*/*/.*{TEMP_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if temp.stat().st_mtime < limit:
                    temp.unlink()
                    removed += 1
        return removed

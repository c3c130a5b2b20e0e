"""Every browser asset the Makefile vendors from npm is used by a page; nothing ships unused."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "jiayuan" / "web"


def vendored() -> list[str]:
    """File names the Makefile copies into the vendor folder."""
    names = []
    for source, target in re.findall(
        r"^\tcp (\S+) \$\(VENDOR\)/(\S*)$", (ROOT / "Makefile").read_text(), re.M
    ):
        names.append(target or Path(source).name)
    return names


def test_every_vendored_asset_is_referenced() -> None:
    pages = "".join(
        p.read_text()
        for p in WEB.rglob("*")
        if p.suffix in {".html", ".js", ".css"} and "vendor" not in p.parts
    )
    names = vendored()
    assert names, "no vendored assets found in the Makefile"
    unused = [name for name in names if f"/static/vendor/{name}" not in pages]
    assert not unused, f"vendored but never used: {unused}"

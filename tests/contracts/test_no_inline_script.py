"""The Content-Security-Policy forbids inline script and style: no template may carry any."""

from __future__ import annotations

import re
from pathlib import Path

from jiayuan.web.templating import TEMPLATES_DIR

# A <script> is allowed only with a src, or as a JSON data block (never executed).
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"javascript:", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)


def test_templates_have_no_inline_script_handlers_or_styles() -> None:
    offences = []
    for path in sorted(Path(TEMPLATES_DIR).rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for name, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("event handler attribute", HANDLER),
            ("javascript: URL", JS_URL),
            ("inline style", INLINE_STYLE),
        ):
            offences += [f"{path.name}: {name}: {m.group(0)!r}" for m in pattern.finditer(text)]
    assert not offences, "\n".join(offences)


def test_the_pattern_catches_what_it_should() -> None:
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/flow.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="d">{}</script>')
    assert HANDLER.search('<button onclick="go()">')
    assert not HANDLER.search('<button hx-confirm="确定？">')
    assert INLINE_STYLE.search('<div style="color: red">')

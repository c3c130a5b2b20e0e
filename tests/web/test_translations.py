"""The English switch leaves no Chinese behind: every text a page, a script or an error shows is marked for
translation and has an English entry in the catalogs.

Each source file is its own case (`-k cases/case.html`), so the file that lets Chinese through is named.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po
from jinja2 import Environment

from jiayuan.kernel import errors
from jiayuan.web import i18n
from jiayuan.web.templating import TEMPLATES_DIR, templates

SOURCE = Path(i18n.__file__).resolve().parents[1]
SCRIPTS = SOURCE / "web" / "static" / "js"
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
# Templates whose Chinese is meant: the language switch names the language in itself; the weekly report is
# the office's Chinese document, the same whichever language the page that downloads it is in.
CHINESE_BY_DESIGN = {"macros/lang.html", "reports/weekly.html"}


def _template_names() -> list[str]:
    return sorted(str(p.relative_to(TEMPLATES_DIR)) for p in TEMPLATES_DIR.rglob("*.html"))


def _python_files() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def _untranslated_text(env: Environment, source: str) -> Iterator[tuple[int, str]]:
    """Template text (outside `{{ }}`, `{% %}` and `{% trans %}` blocks) holding Chinese, with its line."""
    inside_trans = 0
    tokens = [token for token in env.lex(source) if token[1] != "whitespace"]  # `{% trans %}` has spaces
    for index, (line, kind, value) in enumerate(tokens):
        if kind == "name" and index and tokens[index - 1][1] == "block_begin":
            inside_trans += {"trans": 1, "endtrans": -1}.get(value, 0)
        elif kind == "data" and not inside_trans and CJK.search(value):
            yield line, value.strip()[:60]


@pytest.mark.parametrize("name", [n for n in _template_names() if n not in CHINESE_BY_DESIGN])
def test_template_text_is_marked_for_translation(name: str) -> None:
    env = templates.env
    source = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
    assert list(_untranslated_text(env, source)) == []


# A string literal ("…", '…' or `…`) of a script, and what comes right before it.
_JS_STRING = re.compile(
    r"""(?P<before>[\w$.]*\(\s*)?(?P<literal>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)"""
)


@pytest.mark.parametrize("name", sorted(p.name for p in SCRIPTS.glob("*.js")))
def test_script_text_goes_through_t(name: str) -> None:
    source = (SCRIPTS / name).read_text(encoding="utf-8")
    source = re.sub(r"^\s*//.*$", "", source, flags=re.MULTILINE)  # comments are for readers of the code
    bare = [
        literal[:60]
        for match in _JS_STRING.finditer(source)
        if CJK.search(literal := match.group("literal"))
        and (literal.startswith("`") or not (match.group("before") or "").startswith("t("))
    ]
    assert bare == [], 'Chinese text in a script is written t("…{name}…", {name: value})'


def _error_classes() -> set[str]:
    return {k.split(":")[0] for k in i18n.EXTRACT_KEYWORDS if not k.startswith(("N_", "NC_", "translate"))}


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_error_messages_are_fixed_texts(path: Path) -> None:
    """An f-string message cannot be looked up in a catalog: placeholders go in the text, values in params."""
    names = _error_classes()
    formatted = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in names
        and node.args
        and isinstance(node.args[-1 if node.func.id == "RowError" else 0], ast.JoinedStr | ast.BinOp)
    ]
    assert formatted == [], f"{path.name}: give the message as a fixed text with {{name}} placeholders"


def _keywords() -> dict[str, object]:
    keywords: dict[str, object] = dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(list(i18n.EXTRACT_KEYWORDS)))  # as pybabel reads `-k` ("NC_:1c,2")
    return keywords


# An entry of a catalog: its context (msgctxt, None without one) and its id.
Key = tuple[str | None, str]


@cache  # parsed once: every source file's case reads it
def _catalog_ids(domain: str) -> tuple[dict[Key, str], list[Key]]:
    """The catalog's entries and the ids it holds more than once in the same context (gettext keeps only
    the first)."""
    po = i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / f"{domain}.po"
    entries = re.findall(
        r'^(?:msgctxt "(.*)"\n)?msgid "(.*)"$', po.read_text(encoding="utf-8"), flags=re.MULTILINE
    )
    keys = [(context or None, msgid) for context, msgid in entries]
    repeated = sorted({k for k in keys if k[1] and keys.count(k) > 1}, key=str)
    with po.open("rb") as source:
        catalog = read_po(source, locale="en")
    return {(m.context, str(m.id)): str(m.string) for m in catalog if m.id}, repeated


def _sources() -> list[tuple[str, Path]]:
    return (
        [("python", p) for p in _python_files()]
        + [("jinja2", TEMPLATES_DIR / n) for n in _template_names() if n not in CHINESE_BY_DESIGN]
        + [("javascript", p) for p in sorted(SCRIPTS.glob("*.js"))]
    )


def _source_id(value: object) -> str:
    return str(value.relative_to(SOURCE)) if isinstance(value, Path) else str(value)


@pytest.mark.parametrize(("method", "path"), _sources(), ids=_source_id)
def test_every_marked_text_has_an_english_entry(method: str, path: Path) -> None:
    domain = "scripts" if method == "javascript" else "messages"
    catalog, _ = _catalog_ids(domain)
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
    keywords = {"t": None} if method == "javascript" else _keywords()
    found = extract_from_file(method, path, keywords=keywords, options=options)  # type: ignore[arg-type]
    missing = sorted(
        {(m[3], str(m[1])) for m in found if CJK.search(str(m[1])) and not catalog.get((m[3], str(m[1])))},
        key=str,
    )
    assert missing == [], f"run scripts/translations.sh and fill these msgstr in {domain}.po"


@pytest.mark.parametrize("domain", ["messages", "scripts"])
def test_each_text_is_in_a_catalog_once(domain: str) -> None:
    assert _catalog_ids(domain)[1] == []


def test_an_error_shows_in_the_language_of_the_request() -> None:
    error = errors.Invalid("摄像机 {device} 不存在", field="device_id", device="gate-1")
    assert error.message == "摄像机 gate-1 不存在"
    token = i18n.current.set("en")
    try:
        shown = i18n.error_text(errors.NotFound("未找到"))
    finally:
        i18n.current.reset(token)
    assert shown != "未找到" and not CJK.search(shown)

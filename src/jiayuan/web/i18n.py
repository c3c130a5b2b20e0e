"""The pages' language: Chinese first, English when the `lang` cookie asks for it.

Message ids are the Chinese texts themselves, so a text without an English entry stays Chinese. Two gettext
catalogs per language, read with Babel when the app starts (no compiled .mo file to keep in step):
`messages.po` for templates and Python (pages, domain labels and error messages), `scripts.po` for the texts
the browser scripts write (`t("…")` in static/js), which a page carries as JSON when it is not in Chinese.
See docs/faces.md for extracting and updating them.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Mapping
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from jiayuan.kernel.errors import JiayuanError
from jiayuan.kernel.i18n import N_, NC_, SEPARATOR, Label, Labels, Names, Text, check_of

__all__ = [
    "NC_",
    "N_",
    "LanguageOfRequest",
    "check_text",
    "chosen",
    "error_text",
    "filled",
    "script_catalog",
    "text",
    "translate",
]

LANG_COOKIE = "lang"
DEFAULT = "zh-CN"
LANGUAGES = {"zh-CN": "中文", "en": "EN"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

# What `pybabel extract` reads as messages in Python besides gettext's own names: texts marked `N_`, the
# first argument of the domain errors (a RowError's third, its reason) and the texts routes `translate`.
# scripts/translations.sh uses them.
EXTRACT_KEYWORDS = (
    "N_", "Invalid", "Conflict", "NotFound", "Forbidden", "Unauthorized", "TooManyRequests", "JiayuanError",
    "LoginRefused", "CodeRefused", "RowError:3", "translate", "NC_:1c,2", "translate_in:1c,2",
)  # fmt: skip

# The language of the request being answered (set by `LanguageOfRequest`) or the page being rendered.
current: ContextVar[str] = ContextVar("page_language", default=DEFAULT)


def chosen(cookie: str | None) -> str:
    """The language a `lang` cookie names, Chinese for anything else."""
    return cookie if cookie in LANGUAGES else DEFAULT


def _read(language: str, domain: str) -> Catalog | None:
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if not po.exists():
        return None
    with po.open("rb") as source:
        return read_po(source, locale=language)


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    catalog = _read(language, "messages")
    if catalog is None:
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(message: str) -> str:
    """`message` (Chinese) in the current page's language."""
    return _catalog(current.get()).gettext(message)


def translate_in(context: str, message: str) -> str:
    """`message` (Chinese) in the current page's language, as it reads in `context` (`pgettext`); a text
    with no entry of its own in that context reads as it does elsewhere."""
    catalog = _catalog(current.get())
    translated = catalog.pgettext(context, message)
    return catalog.gettext(message) if translated == message else translated


def translate_plural(singular: str, plural: str, n: int) -> str:
    return _catalog(current.get()).ngettext(singular, plural, n)


def error_text(error: JiayuanError) -> str:
    """A domain error's message in the current language, its placeholders filled."""
    return filled(error.template, error.params)


def text(value: Text) -> str:
    """A text a domain built (`Text`) in the current language."""
    return filled(value.template, value.params)


def filled(template: str, params: Mapping[str, object]) -> str:
    """A fixed text in the current language, its `{name}` placeholders filled from `params`."""
    translated = translate(template)
    return translated.format(**{k: _shown(v) for k, v in params.items()}) if params else translated


def check_text(error: Mapping[str, Any]) -> str:
    """One of a pydantic `ValidationError`'s errors in the current language (a model's own check, made with
    `check_failed`; pydantic's own messages as they are)."""
    message, params = check_of(error)
    return filled(message, params)


def _shown(value: object) -> object:
    """A parameter as the page shows it: marked labels and built texts in its language, the rest (data)
    as it is."""
    if isinstance(value, JiayuanError):  # an error given as the reason of another
        return error_text(value)
    if isinstance(value, Text):
        return text(value)
    if isinstance(value, Labels):
        return translate(SEPARATOR).join(translate(label) for label in value)
    if isinstance(value, Names):
        return translate(SEPARATOR).join(value)
    return translate(value) if isinstance(value, Label) else value


@cache
def script_catalog(language: str) -> dict[str, str]:
    """The translated texts of the browser scripts, for a page to carry as JSON (empty in Chinese)."""
    catalog = _read(language, "scripts")
    if catalog is None:
        return {}
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


class LanguageOfRequest:
    """ASGI middleware: the `lang` cookie's language holds for the whole request, so a route can translate
    a message (an error, a notice) before it renders the page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = current.set(chosen(HTTPConnection(scope).cookies.get(LANG_COOKIE)))
        try:
            await self.app(scope, receive, send)
        finally:
            current.reset(token)

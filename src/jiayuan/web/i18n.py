"""The pages' language: Chinese first, English when the `lang` cookie asks for it.

Message ids are the Chinese texts themselves, so a text without an English entry stays Chinese. The English
catalog is a gettext .po file (web/locale/en/LC_MESSAGES/messages.po, extracted with `pybabel extract -F
babel.cfg`) read with Babel when the app starts: no compiled .mo file to keep in step.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANG_COOKIE = "lang"
DEFAULT = "zh-CN"
LANGUAGES = {"zh-CN": "中文", "en": "EN"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

# The language of the page being rendered: templates render synchronously inside `render`, which sets it.
current: ContextVar[str] = ContextVar("page_language", default=DEFAULT)


def chosen(cookie: str | None) -> str:
    """The language a `lang` cookie names, Chinese for anything else."""
    return cookie if cookie in LANGUAGES else DEFAULT


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(message: str) -> str:
    """`message` (Chinese) in the current page's language."""
    return _catalog(current.get()).gettext(message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    return _catalog(current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # the name gettext's extractors look for
    """Mark a text kept in Python for extraction; templates translate it when they show it."""
    return message

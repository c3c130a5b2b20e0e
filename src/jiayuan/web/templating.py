"""Jinja2 templates of every HTML face, with the signed-in principal and CSRF token at hand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import Response

from jiayuan.accounts.schemas import ACTION_CONTEXT, ACTION_LABELS, TARGET_CONTEXT, TARGET_LABELS
from jiayuan.cases.policies import may_read_stats as may_read_case_stats
from jiayuan.cases.policies import may_share as may_share_cases
from jiayuan.cases.schemas import PLATFORM_REPORTER
from jiayuan.kernel.clock import local
from jiayuan.kernel.errors import RowError
from jiayuan.kernel.i18n import Shown
from jiayuan.kernel.principal import ROLE_CONTEXT, ROLE_LABELS, Role
from jiayuan.registry.schemas import PLATE_COLOR_LABELS
from jiayuan.web import i18n
from jiayuan.web.areas import areas_for

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def localtime(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC moment as Beijing time; empty for None."""
    return local(moment).strftime(fmt) if moment else ""


def role_label(role: str | Role | None) -> str:
    """`grid` → 网格员 (Grid worker in English)."""
    try:
        return i18n.translate_in(ROLE_CONTEXT, ROLE_LABELS[Role(role)]) if role else ""
    except ValueError:
        return str(role)


def row_reason(error: RowError) -> str:
    """An import row's reason in the page's language (not through gettext's %-format: it holds file data)."""
    return error.reason if error.template is None else i18n.filled(error.template, error.params)


def shown(model: Shown, field: str) -> object:
    """A field of an output model as the page shows it: built from fixed texts, in the page's language."""
    return getattr(model.in_language(i18n.text), field)


def _label(labels: Mapping[str, str], code: str) -> str:
    """A code's label in the page's language; a code without a label is shown as it is."""
    return i18n.translate(labels[code]) if code in labels else code


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.translate, ngettext=i18n.translate_plural, pgettext=i18n.translate_in, newstyle=True
    )
    env.globals["LANGUAGES"] = i18n.LANGUAGES
    env.globals["script_catalog"] = i18n.script_catalog
    env.filters["localtime"] = localtime
    env.filters["role_label"] = role_label
    env.filters["row_reason"] = row_reason
    env.filters["shown"] = shown
    # A word of a fixed vocabulary kept as Chinese data (a resident's sex, relation, residence type, tags).
    env.filters["term"] = lambda word: i18n.translate(word) if word else ""
    env.filters["action_label"] = lambda action: (
        i18n.translate_in(ACTION_CONTEXT, ACTION_LABELS[action]) if action in ACTION_LABELS else action
    )
    env.filters["target_label"] = lambda target: (
        i18n.translate_in(TARGET_CONTEXT, TARGET_LABELS[target]) if target in TARGET_LABELS else target
    )
    env.filters["plate_color"] = lambda color: _label(PLATE_COLOR_LABELS, color)
    env.globals["may_share_cases"] = may_share_cases
    env.globals["PLATFORM_REPORTER"] = PLATFORM_REPORTER
    env.globals["may_read_case_stats"] = may_read_case_stats
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render a template with `principal`, its `nav_areas`, `csrf_token` (set by web.auth) and the chosen
    language `lang` added; the template's texts come out in that language."""
    principal = getattr(request.state, "principal", None)
    lang = i18n.chosen(request.cookies.get(i18n.LANG_COOKIE))
    values: dict[str, Any] = {
        "principal": principal,
        "nav_areas": areas_for(principal),
        "csrf_token": getattr(request.state, "csrf_token", None) or "",
        "lang": lang,
    }
    values.update(context or {})
    token = i18n.current.set(lang)
    try:  # TemplateResponse renders at once, so the language holds for the whole template
        return templates.TemplateResponse(
            request, name, values, status_code=status_code, headers=dict(headers) if headers else None
        )
    finally:
        i18n.current.reset(token)

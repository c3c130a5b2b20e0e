"""Marking texts for translation where they are defined.

The pages show Chinese first and English on request (web/i18n.py). Texts that domains define — labels of
states and categories, error messages — stay Chinese in the domain; wrapping a literal in `N_` only lets
`pybabel extract` find it, so that the pages can look it up when they show it. Error messages need no mark:
the extractor reads the first argument of every `JiayuanError` subclass by name (babel.cfg).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self

from pydantic import BaseModel, PrivateAttr
from pydantic_core import PydanticCustomError


def N_(message: str) -> str:  # the name gettext's extractors look for
    """`message`, unchanged: marked for extraction, translated where it is shown."""
    return message


def NC_(context: str, message: str) -> str:
    """`message`, unchanged: marked for extraction in `context`, for a Chinese text that reads differently
    in English where it stands (设备 as a page is "Devices", as an audit row's target "Device")."""
    return message


class Label(str):
    """A marked label given to an error as a parameter (`state=Label(state.label)`): a page shows it in
    its own language, as it shows the message; the Chinese message holds it as it is."""

    __slots__ = ()


# How a list of labels is joined; a page joins them with its language's separator.
SEPARATOR = N_("、")


class Labels(tuple[str, ...]):
    """Several labels given as one parameter, listed with "、" in Chinese (and in the page's own way)."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return format(SEPARATOR.join(self), spec)


class Names(tuple[str, ...]):
    """Data (names as entered) listed as one parameter: "、" between them in Chinese, the page's own separator
    elsewhere; unlike `Labels`, the names themselves are never looked up."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return format(SEPARATOR.join(self), spec)


class Text:
    """A fixed text (marked with `N_`) and the values of its `{name}` placeholders, for a text a domain
    builds and a page shows (a notice, a part of a message): `str()` is the Chinese text, filled; a page
    shows it in its own language. A value may be a `Label`, `Labels`, `Names` or another `Text`."""

    __slots__ = ("params", "template")

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params

    def __str__(self) -> str:
        return self.template.format(**self.params) if self.params else self.template

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.template, self.params) == (other.template, other.params)

    def __hash__(self) -> int:
        return hash(self.template)

    def __repr__(self) -> str:
        return f"Text({str(self)!r})"


# Where a model's own check keeps its fixed text among the values of the error's context.
_TEMPLATE = "template"


def check_failed(message: str, /, **params: object) -> PydanticCustomError:
    """A pydantic validator's refusal: `message` is a fixed text (marked `N_`) with `{name}` placeholders
    filled from `params`; the error keeps the text and its values, so a page can show it in its language."""
    return PydanticCustomError("invalid", message, {**params, _TEMPLATE: message})


def check_of(error: Mapping[str, Any]) -> tuple[str, dict[str, object]]:
    """The fixed text and values of one of `ValidationError.errors()` (its message, if not made by
    `check_failed`: pydantic's own)."""
    context = dict(error.get("ctx") or {})
    template = context.pop(_TEMPLATE, None)
    return (template, context) if isinstance(template, str) else (str(error.get("msg", "")), {})


class Shown(BaseModel):
    """An output model some of whose text fields a domain builds from fixed texts (`Text`): the fields hold
    the Chinese (for the API and the command line); `in_language` gives the model as a page shows it."""

    _texts: dict[str, Text | list[Text]] = PrivateAttr(default_factory=dict)

    def built(self, **texts: str | Text | list[Text]) -> Self:
        """This model with the fields named filled from `texts` (in Chinese); the built ones (`Text`) are
        kept for `in_language`, a plain `str` (data) is shown as it is."""
        for name, value in texts.items():
            setattr(self, name, [str(t) for t in value] if isinstance(value, list) else str(value))
            if not isinstance(value, str):
                self._texts[name] = value
        return self

    def in_language(self, show: Callable[[Text], str]) -> Self:
        """A copy with the built fields as `show` (a page's language) gives them."""
        update = {
            name: [show(t) for t in value] if isinstance(value, list) else show(value)
            for name, value in self._texts.items()
        }
        return self.model_copy(update=update)

"""Marking texts for translation where they are defined.

The pages show Chinese first and English on request (web/i18n.py). Texts that domains define — labels of
states and categories, error messages — stay Chinese in the domain; wrapping a literal in `N_` only lets
`pybabel extract` find it, so that the pages can look it up when they show it. Error messages need no mark:
the extractor reads the first argument of every `JiayuanError` subclass by name (babel.cfg).
"""

from __future__ import annotations


def N_(message: str) -> str:  # the name gettext's extractors look for
    """`message`, unchanged: marked for extraction, translated where it is shown."""
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

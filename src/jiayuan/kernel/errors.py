"""Domain errors; the web layer maps each to one HTTP status, the CLI to a message and exit code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from jiayuan.kernel.i18n import N_


class JiayuanError(Exception):
    """Base of every error a service raises on purpose.

    `message` is a Chinese text with `{name}` placeholders filled from `params`
    (`Invalid("摄像机 {device} 不存在", field="device_id", device=device_id)`): the text stays a fixed
    message id that the pages can look up in their English catalog, and `message` is the filled-in text.
    """

    status = 400

    def __init__(self, message: str, *, field: str | None = None, **params: object) -> None:
        self.template = message
        self.params = params
        self.message = message.format(**params) if params else message
        super().__init__(self.message)
        self.field = field


class Invalid(JiayuanError):
    """Input that breaks a rule; `field` names the culprit."""

    status = 422


class Unauthorized(JiayuanError):
    """No valid credential."""

    status = 401


class Forbidden(JiayuanError):
    """A valid principal without the right to do this."""

    status = 403


class NotFound(JiayuanError):
    """An id that does not exist, or that the principal may not know exists."""

    status = 404


class Conflict(JiayuanError):
    """The request clashes with the current state (duplicate, illegal transition)."""

    status = 409


class TooManyRequests(JiayuanError):
    """Throttled, e.g. a locked login."""

    status = 429


@dataclass(frozen=True)
class RowError:
    """One problem found in one row and column of an imported file.

    `reason` is the Chinese text. One that names values is made with `RowError.filled`: it keeps the fixed
    text it was filled from (`template`, with `{name}` placeholders) and the values (`params`), so a page can
    show it in its own language as it does a `JiayuanError`.
    """

    row: int
    column: str
    reason: str
    sheet: str | None = None  # the worksheet, when a workbook has several
    template: str | None = field(default=None, compare=False)
    params: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def filled(
        cls, row: int, column: str, template: str, /, *, sheet: str | None = None, **params: object
    ) -> RowError:
        """A reason filled from a fixed text (marked with `N_` where it is written) and its values."""
        return cls(row, column, template.format(**params) if params else template, sheet, template, params)


@dataclass
class RowErrors(JiayuanError):
    """Every problem found in a file; nothing was written."""

    errors: list[RowError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(N_("{count} 处错误，未写入任何数据"), count=len(self.errors))

    status = 422

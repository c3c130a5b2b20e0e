"""Domain errors; the web layer maps each to one HTTP status, the CLI to a message and exit code."""

from __future__ import annotations

from dataclasses import dataclass, field


class JiayuanError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
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
    """One problem found in one row and column of an imported file."""

    row: int
    column: str
    reason: str
    sheet: str | None = None  # the worksheet, when a workbook has several


@dataclass
class RowErrors(JiayuanError):
    """Every problem found in a file; nothing was written."""

    errors: list[RowError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"{len(self.errors)} 处错误，未写入任何数据")

    status = 422

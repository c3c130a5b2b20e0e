"""How a domain below the registry learns which community a registry object belongs to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol


class CommunityOf(Protocol):
    """The community of a registry object (`compound`, `grid`, `household`, `person`, `community`),
    or None when no such object exists.

    Accounts grants user scopes but sits below the registry, so the caller hands it this
    lookup (the registry's `community_of_scope` bound to a session).
    """

    def __call__(self, kind: str, ref: str) -> int | None: ...


class DeviceCommunities(Protocol):
    """The community of each device among `device_ids` that exists (None when it has no gate).

    Accounts stores device tokens but cannot look devices up; the devices domain hands it this.
    """

    def __call__(self, device_ids: Iterable[str]) -> Mapping[str, int | None]: ...

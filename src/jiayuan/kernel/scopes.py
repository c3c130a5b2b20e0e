"""How a domain below the registry learns which community a registry object belongs to."""

from __future__ import annotations

from typing import Protocol


class CommunityOf(Protocol):
    """The community of a registry object (`compound`, `grid`, `household`, `person`, `community`),
    or None when no such object exists.

    Accounts grants user scopes but sits below the registry, so the caller hands it this
    lookup (the registry's `community_of_scope` bound to a session).
    """

    def __call__(self, kind: str, ref: str) -> int | None: ...

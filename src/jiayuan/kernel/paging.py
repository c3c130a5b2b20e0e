"""Paged results shared by every list endpoint and command."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

# Bounds shared by every paged list: the API, the console pages and the CLI.
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 200


class PageParams(BaseModel):
    """Which page to return; pages count from 1."""

    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.size


class Page(BaseModel, Generic[T]):
    """One page of items and the total that match."""

    items: list[T]
    total: int
    page: int
    size: int

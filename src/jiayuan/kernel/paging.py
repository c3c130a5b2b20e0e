"""Paged results shared by every list endpoint and command."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class PageParams(BaseModel):
    """Which page to return; pages count from 1."""

    page: int = Field(default=1, ge=1, le=100_000)
    size: int = Field(default=20, ge=1, le=200)

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

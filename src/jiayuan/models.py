"""Imports every domain's models so that Base.metadata knows all tables (for Alembic and tests)."""

from jiayuan.accounts import models as accounts_models
from jiayuan.registry import models as registry_models

__all__ = ["accounts_models", "registry_models"]

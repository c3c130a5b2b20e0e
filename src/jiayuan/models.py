"""Imports every domain's models so that Base.metadata knows all tables (for Alembic and tests)."""

from jiayuan.access import models as access_models
from jiayuan.accounts import models as accounts_models
from jiayuan.cases import models as cases_models
from jiayuan.devices import models as devices_models
from jiayuan.duty import models as duty_models
from jiayuan.notify import models as notify_models
from jiayuan.patrol import models as patrol_models
from jiayuan.registry import models as registry_models

__all__ = [
    "access_models",
    "accounts_models",
    "cases_models",
    "devices_models",
    "duty_models",
    "notify_models",
    "patrol_models",
    "registry_models",
]

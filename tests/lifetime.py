"""Keeping the test processes' heap small: thousands of apps are built and dropped in one run.

FastAPI keeps up to 4,096 route callables per classification cache in module-level caches
(`fastapi.dependencies.models`); routes built for one app (the API documentation's) are closures over
it, so such a cache entry keeps a whole app (routes, pydantic validators, settings) alive long after
its test. A worker held millions of such objects, every full garbage collection walked them, and the
session's closing collection alone took seconds. Clearing those caches after each test lets a dropped
app be freed.
"""

from __future__ import annotations

import gc

from fastapi.dependencies import models as fastapi_models


def forget_built_apps() -> None:
    """Empty FastAPI's module-level caches, whose entries keep dropped apps alive."""
    for value in vars(fastapi_models).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def collect_less() -> None:
    """Move what is loaded so far out of the collector's sight and collect the young objects less often.

    Collection imports every module of the platform and of the tests: those objects live for the whole
    run, and a full collection would walk them again each time.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)

"""Application factory: one FastAPI app for every face, built from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from jiayuan.accounts import passwords
from jiayuan.broker.sync import BrokerSync
from jiayuan.broker_link import live_feed_signer
from jiayuan.bus.hub import hub
from jiayuan.devices.service.credentials import sealer_for
from jiayuan.from_settings import configure_notify
from jiayuan.settings import Settings, get_settings
from jiayuan.web.body_limit import BodyLimit
from jiayuan.web.context import AppContext
from jiayuan.web.errors import install_error_handlers
from jiayuan.web.headers import SecurityHeaders
from jiayuan.web.i18n import LanguageOfRequest
from jiayuan.web.live_feed import LiveFeed
from jiayuan.web.reader_updates import ReaderUpdates
from jiayuan.web.routes import (
    access_api,
    access_pages,
    access_ws,
    accounts_api,
    api_docs,
    auth_pages,
    cases_api,
    cases_deadlines,
    cases_pages,
    cases_sharing,
    cases_stats,
    console_pages,
    devices_api,
    devices_pages,
    duty_api,
    duty_pages,
    h5_pages,
    health,
    notify_pages,
    open311,
    patrol_api,
    patrol_pages,
    phone_pages,
    plate_review_pages,
    registry_api,
    registry_excel,
    registry_pages,
    screen_pages,
    stats_api,
    vision_pages,
    visitor_pages,
)
from jiayuan.web.routes.health import IngestHealthSource

STATIC_DIR = Path(__file__).resolve().parent / "static"


def add_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Each router's routes, added to the app as they are, in order (the first match wins).

    The routers carry their own prefixes and tags, so including them would add nothing; and FastAPI
    rebuilds every route of an included router on a new app's first request (about 0.25 s per app, paid
    by each test's app), where a route added as it is keeps what was built once at import. So
    `app.dependency_overrides` does not reach these routes: the tests use real services, never overrides.
    """
    for router in routers:
        app.router.routes.extend(router.routes)


def create_app(settings: Settings | None = None, *, ingest: IngestHealthSource | None = None) -> FastAPI:
    """Build the app; the database must already be migrated (`jiayuan db upgrade`).

    `ingest` is the ingest this process runs (`jiayuan serve`), for `/healthz` to report.
    """
    settings = settings or get_settings()
    context = AppContext.from_settings(settings)
    passwords.configure(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
    configure_notify(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.attach()
        broker_links: list[LiveFeed | ReaderUpdates | BrokerSync] = []
        if settings.mqtt_url:
            prefix = settings.mqtt_topic_prefix
            secret = settings.secret_key.get_secret_value()
            signer = live_feed_signer(secret)
            broker_links.append(LiveFeed(settings.mqtt_url, prefix=prefix, hub=hub, signer=signer).start())
            broker_links.append(
                ReaderUpdates(settings.mqtt_url, prefix=prefix, sessions=context.sessions).start()
            )
            if settings.mqtt_dynsec:
                sync = BrokerSync(
                    settings.mqtt_url, sessions=context.sessions, sealer=sealer_for(secret), prefix=prefix
                ).start()
                app.state.broker_sync = sync
                broker_links.append(sync)
        try:
            yield
        finally:
            for link in broker_links:
                link.close()
            hub.detach()
            # The live-view relay's MQTT client leaves with the app, before the broker goes away.
            relay = getattr(app.state, "live_relay", None)
            if relay is not None:
                relay.close()
            context.engine.dispose()

    app = FastAPI(
        title="Jiayuan 家园 API",
        version="1",
        summary="平安家园 · 智慧社区: registry, gate access, vehicles, flow and gate cameras",
        lifespan=lifespan,
        # Served behind a sign-in by `api_docs` instead (and the pages not at all in production).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    app.state.ingest_health = ingest
    install_error_handlers(app)
    # The last added runs first: the headers also go on the body limit's 413, in the request's language.
    app.add_middleware(BodyLimit, default=settings.max_body_bytes, upload=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(LanguageOfRequest)
    add_routes(
        app,
        api_docs.router_for(app, with_pages=settings.env != "production"),
        health.router,
        # Before the registry's routes: `/residents/import` must not be read as `/residents/{resident_id}`.
        registry_excel.api,
        registry_excel.pages,
        auth_pages.router,
        accounts_api.router,
        console_pages.entry,
        console_pages.router,
        devices_api.router,
        devices_pages.router,
        access_api.router,
        access_ws.router,
        access_pages.router,
        plate_review_pages.router,
        visitor_pages.router,
        stats_api.router,
        open311.router,
        cases_sharing.api,
        cases_stats.api,
        cases_api.router,
        cases_sharing.pages,
        cases_stats.pages,
        cases_deadlines.pages,
        cases_pages.router,
        duty_api.router,
        duty_pages.router,
        notify_pages.router,
        screen_pages.router,
        h5_pages.pages,
        h5_pages.api,
        phone_pages.router,
        patrol_api.router,
        patrol_pages.router,
        vision_pages.router,
        registry_api.router,
        registry_pages.router,
    )
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app

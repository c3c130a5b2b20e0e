"""Domain configuration built from the settings, once for every entry point (web, ingest, CLI)."""

from __future__ import annotations

from jiayuan.devices.service import snapshots
from jiayuan.devices.service.pipeline import Pipeline
from jiayuan.settings import Settings


def device_pipeline(settings: Settings) -> Pipeline:
    """The device pipeline as configured: topic prefix, size and clock limits, silence allowed."""
    return Pipeline.build(
        prefix=settings.mqtt_topic_prefix,
        max_bytes=settings.device_event_max_bytes,
        future_s=settings.device_clock_future_s,
        past_days=settings.device_clock_past_days,
        silent_after_s=settings.device_offline_after_s,
    )


def snapshot_retention(settings: Settings) -> snapshots.Retention:
    """How long and how much evidence is kept."""
    return snapshots.Retention(days=settings.snapshot_retention_days, max_bytes=settings.snapshot_max_bytes)

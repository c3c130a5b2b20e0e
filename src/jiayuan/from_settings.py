"""Domain configuration built from the settings, once for every entry point (web, ingest, CLI)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.devices.service import snapshots
from jiayuan.devices.service.pipeline import Pipeline
from jiayuan.kernel.crypto import PiiVault
from jiayuan.notify import service as notify
from jiayuan.notify.channels import Channel, DingTalkRobot, SmsGateway, WeComRobot
from jiayuan.notify.schemas import Routing, community_robot
from jiayuan.notify.sender import Pruner, Sender
from jiayuan.notify.states import ChannelName, RetryPolicy
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


def notify_routing(settings: Settings) -> Routing:
    """Which group robots case notices go to (the console when none), per community where a community has
    its own, whether SMS is configured, and the console's address for links in messages."""
    group = [
        name
        for name, configured in (
            (ChannelName.WECOM, settings.notify_wecom_webhook is not None),
            (ChannelName.DINGTALK, settings.notify_dingtalk_webhook is not None),
        )
        if configured
    ]
    communities = {
        community_id: tuple(
            name
            for name, url in ((ChannelName.WECOM, robots.wecom), (ChannelName.DINGTALK, robots.dingtalk))
            if url is not None
        )
        for community_id, robots in settings.community_robots().items()
    }
    origin = settings.public_origin.rstrip("/") or f"http://{settings.host}:{settings.port}"
    return Routing(
        group=tuple(group) or (ChannelName.CONSOLE,),
        communities=communities,
        sms=settings.notify_sms_url is not None,
        console_url=origin,
    )


def configure_notify(settings: Settings) -> None:
    """Set this process's notify routing and sealing key from the settings (every entry point that
    changes cases or sends the outbox)."""
    notify.configure(notify_routing(settings), PiiVault.from_secret(settings.pii_key.get_secret_value()))


def notify_retry_policy(settings: Settings) -> RetryPolicy:
    """How often and how soon a failed message is tried again."""
    return RetryPolicy(
        max_attempts=settings.notify_max_attempts,
        base_s=settings.notify_backoff_base_s,
        cap_s=settings.notify_backoff_cap_s,
    )


def notify_channels(settings: Settings, client: httpx.Client) -> list[Channel]:
    """The configured providers as channels sharing one HTTP client (its timeout is the setting); a
    robot channel also carries the communities' own robots of its kind."""
    own = settings.community_robots()
    wecom = {community_robot(c): r.wecom for c, r in own.items() if r.wecom is not None}
    dingtalk = {
        community_robot(c): (r.dingtalk, r.dingtalk_secret)
        for c, r in own.items()
        if r.dingtalk is not None and r.dingtalk_secret is not None
    }
    channels: list[Channel] = []
    if settings.notify_wecom_webhook is not None or wecom:
        url = settings.notify_wecom_webhook.get_secret_value() if settings.notify_wecom_webhook else ""
        channels.append(WeComRobot(url=url, client=client, others=wecom))
    if settings.notify_dingtalk_webhook is not None or dingtalk:
        url = settings.notify_dingtalk_webhook.get_secret_value() if settings.notify_dingtalk_webhook else ""
        secret = settings.notify_dingtalk_secret.get_secret_value() if settings.notify_dingtalk_secret else ""
        channels.append(DingTalkRobot(url=url, secret=secret, client=client, others=dingtalk))
    if settings.notify_sms_url is not None:
        header = None
        if settings.notify_sms_auth is not None:
            name, _, value = settings.notify_sms_auth.get_secret_value().partition(":")
            header = (name.strip(), value.strip())
        channels.append(
            SmsGateway(
                url=settings.notify_sms_url.get_secret_value(),
                body_template=settings.sms_body_template(),
                auth_header=header,
                client=client,
            )
        )
    return channels


def notify_client(settings: Settings) -> httpx.Client:
    """The HTTP client the channels send with: the configured timeout on connect, read and write."""
    return httpx.Client(timeout=settings.notify_timeout_s, follow_redirects=False)


def notify_senders(settings: Settings, sessions: sessionmaker[Session], client: httpx.Client) -> list[Sender]:
    """One sender per configured provider."""
    policy = notify_retry_policy(settings)
    # A claimed message is held well past the longest a send can take (connect + write + read).
    lease = timedelta(seconds=max(60.0, settings.notify_timeout_s * 6))
    return [Sender(sessions, channel, policy, lease=lease) for channel in notify_channels(settings, client)]


def notify_pruner(settings: Settings, sessions: sessionmaker[Session]) -> Pruner:
    """Deletes settled messages older than the retention."""
    return Pruner(sessions, keep=timedelta(days=settings.notify_retention_days))

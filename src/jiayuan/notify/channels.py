"""The channels a message leaves by, each in its provider's own request format, behind one interface.

A channel either returns (delivered) or raises DeliveryError with a short reason that is stored on the
row: it never quotes a URL (webhook URLs carry access tokens, DingTalk's signed URL its signature), a
header or a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from jiayuan.notify.states import ChannelName

# httpx logs every request's full URL at INFO; webhook URLs carry the robot's token and DingTalk's its
# signature, so they must not reach the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)

# WeCom refuses markdown over 4,096 bytes (DingTalk 20,000): 1,300 characters stay under it even when
# every one is Chinese (3 bytes in UTF-8). Case notices are far shorter.
MAX_TEXT_CHARS = 1300


class DeliveryError(Exception):
    """An attempt that did not deliver; the message says why without any secret."""


@dataclass(frozen=True)
class Outgoing:
    """What a channel sends: a title, plain text lines, and a recipient where the channel has one."""

    title: str
    text: str
    target: str = ""
    link: str = ""

    def markdown(self) -> str:
        """The message as group-robot markdown: the title as a heading, the link as a link."""
        link = f"\n[在控制台查看]({self.link})" if self.link else ""
        return f"### {self.title}\n{self.text}"[: MAX_TEXT_CHARS - len(link)] + link

    def plain(self) -> str:
        """The message as plain text (SMS): the title on the first line, the link on the last."""
        link = f"\n{self.link}" if self.link else ""
        return f"{self.title}\n{self.text}"[: MAX_TEXT_CHARS - len(link)] + link


class Channel(Protocol):
    """One way out. `send` returns once the provider accepted the message, or raises DeliveryError."""

    @property
    def name(self) -> ChannelName: ...

    def send(self, message: Outgoing) -> None: ...


@dataclass(frozen=True)
class WeComRobot:
    """企业微信群机器人: POST {"msgtype": "markdown", "markdown": {"content": …}} to the webhook URL;
    accepted when the answer is HTTP 200 with errcode 0."""

    url: str = field(repr=False)
    client: httpx.Client = field(repr=False)
    # Communities' own robots by outbox target; a message with no target goes to `url`.
    others: dict[str, str] = field(default_factory=dict, repr=False)
    name: ChannelName = ChannelName.WECOM

    def send(self, message: Outgoing) -> None:
        url = self.others.get(message.target) if message.target else self.url
        if not url:
            raise DeliveryError(f"未配置该群机器人（{message.target or '默认'}）")
        body = {"msgtype": "markdown", "markdown": {"content": message.markdown()}}
        _expect_errcode_zero(_post(self.client, url, body), secrets=(url,))


@dataclass(frozen=True)
class DingTalkRobot:
    """钉钉群机器人 with 加签: the webhook URL gets `timestamp` (ms) and `sign` =
    urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))); accepted when errcode is 0."""

    url: str = field(repr=False)
    secret: str = field(repr=False)
    client: httpx.Client = field(repr=False)
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000), repr=False)
    # Communities' own robots (URL, secret) by outbox target; a message with no target goes to `url`.
    others: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    name: ChannelName = ChannelName.DINGTALK

    def send(self, message: Outgoing) -> None:
        url, secret = self.others.get(message.target, ("", "")) if message.target else (self.url, self.secret)
        if not url:
            raise DeliveryError(f"未配置该群机器人（{message.target or '默认'}）")
        signed = signed_url(url, secret, self.clock_ms())
        body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.markdown()}}
        secrets = (url, secret, signed)
        _expect_errcode_zero(_post(self.client, signed, body), secrets=secrets)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a timestamp, base64 (not yet URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The webhook URL with `timestamp` and the URL-encoded `sign` appended."""
    sign = urllib.parse.quote_plus(dingtalk_sign(secret, timestamp_ms))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


@dataclass(frozen=True)
class SmsGateway:
    """An HTTP SMS provider: POST the configured JSON body template, its "{phone}" and "{text}"
    placeholders filled in, with the configured auth header; accepted on any HTTP 2xx."""

    url: str = field(repr=False)
    body_template: dict[str, Any]
    client: httpx.Client = field(repr=False)
    auth_header: tuple[str, str] | None = field(default=None, repr=False)
    name: ChannelName = ChannelName.SMS

    def send(self, message: Outgoing) -> None:
        if not message.target:
            raise DeliveryError("短信没有收信号码")
        body = fill_template(self.body_template, phone=message.target, text=message.plain())
        headers = dict([self.auth_header]) if self.auth_header else {}
        _post(self.client, self.url, body, headers=headers)


def fill_template(template: Any, *, phone: str, text: str) -> Any:
    """The body template with "{phone}" and "{text}" replaced in every string inside it (values are
    substituted after parsing, so a quote in the text cannot break the JSON)."""
    if isinstance(template, str):
        return template.replace("{phone}", phone).replace("{text}", text)
    if isinstance(template, dict):
        return {key: fill_template(value, phone=phone, text=text) for key, value in template.items()}
    if isinstance(template, list):
        return [fill_template(value, phone=phone, text=text) for value in template]
    return template


@dataclass(frozen=True)
class Console:
    """No provider: the message is kept in the outbox as sent and shown on the console page 消息."""

    name: ChannelName = ChannelName.CONSOLE

    def send(self, message: Outgoing) -> None:
        return None


def _post(
    client: httpx.Client,
    url: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    try:
        response = client.post(url, json=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"服务商超时未应答（{type(exc).__name__}）") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"连接服务商失败（{type(exc).__name__}）") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"服务商返回 HTTP {response.status_code}")
    return response


def _expect_errcode_zero(response: httpx.Response, *, secrets: tuple[str, ...]) -> None:
    try:
        answer = response.json()
    except json.JSONDecodeError:
        raise DeliveryError("服务商的应答不是 JSON") from None
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode != 0:
        errmsg = _scrub(str(answer.get("errmsg", "")) if isinstance(answer, dict) else "", secrets)
        raise DeliveryError(f"服务商拒绝：errcode {errcode} {errmsg[:120]}".rstrip())


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    """A provider's own message with anything secret cut out, should the provider ever echo it."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text

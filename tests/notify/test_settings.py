"""Provider settings that could never deliver are refused, naming the variable and never the value."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from jiayuan.from_settings import notify_channels, notify_retry_policy, notify_routing
from jiayuan.notify.states import ChannelName
from jiayuan.settings import Settings

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wk-secret-1"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=dt-secret-2"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"notify_wecom_webhook": "qyapi.weixin.qq.com/wk-secret-1"},
            "JIAYUAN_NOTIFY_WECOM_WEBHOOK must be an http",
        ),
        (
            {"notify_dingtalk_webhook": DINGTALK},
            "JIAYUAN_NOTIFY_DINGTALK_WEBHOOK needs JIAYUAN_NOTIFY_DINGTALK_SECRET",
        ),
        ({"notify_dingtalk_secret": "SECdt-secret-3"}, "JIAYUAN_NOTIFY_DINGTALK_SECRET is set but"),
        (
            {"notify_sms_url": "https://sms.example/send", "notify_sms_body": "{phone-secret"},
            "not valid JSON",
        ),
        (
            {"notify_sms_url": "https://sms.example/send", "notify_sms_body": '["{phone}", "{text}"]'},
            "JSON object",
        ),
        (
            {"notify_sms_url": "https://sms.example/send", "notify_sms_body": '{"to": "{phone}"}'},
            "must contain {text}",
        ),
        (
            {"notify_sms_url": "https://sms.example/send", "notify_sms_auth": "Bearer sms-secret-4"},
            "Header-Name: value",
        ),
        (
            {"notify_backoff_base_s": 60, "notify_backoff_cap_s": 30},
            "JIAYUAN_NOTIFY_BACKOFF_CAP_S must not be less",
        ),
        ({"notify_timeout_s": 0}, "notify_timeout_s"),
    ],
)
def test_bad_provider_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(env="test", **values)
    text = str(refused.value)
    assert message in text
    for secret in ("wk-secret-1", "dt-secret-2", "SECdt-secret-3", "phone-secret", "sms-secret-4"):
        assert secret not in text


def test_configured_providers_become_channels_and_routing() -> None:
    settings = Settings(
        env="test",
        notify_wecom_webhook=WECOM,  # type: ignore[arg-type]
        notify_dingtalk_webhook=DINGTALK,  # type: ignore[arg-type]
        notify_dingtalk_secret="SECabc",  # type: ignore[arg-type]
        notify_sms_url="https://sms.example/send",  # type: ignore[arg-type]
        notify_sms_auth="X-Api-Key: k1",  # type: ignore[arg-type]
        public_origin="https://jy.example/",
        notify_max_attempts=4,
    )
    routing = notify_routing(settings)
    assert routing.group == (ChannelName.WECOM, ChannelName.DINGTALK) and routing.sms
    assert routing.console_url == "https://jy.example"
    with httpx.Client() as client:
        channels = notify_channels(settings, client)
    assert [c.name for c in channels] == [ChannelName.WECOM, ChannelName.DINGTALK, ChannelName.SMS]
    assert "secret" not in repr(channels) and "k1" not in repr(channels)
    assert notify_retry_policy(settings).max_attempts == 4
    bare = Settings(env="test")
    assert notify_routing(bare).group == (ChannelName.CONSOLE,) and not notify_routing(bare).sms

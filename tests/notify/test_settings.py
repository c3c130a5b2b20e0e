"""Provider settings that could never deliver are refused, naming the variable and never the value."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from jiayuan.from_settings import notify_channels, notify_retry_policy, notify_routing
from jiayuan.notify.channels import DingTalkRobot, WeComRobot
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
        ({"notify_community_robots": "{wk-secret-1"}, "JIAYUAN_NOTIFY_COMMUNITY_ROBOTS is not valid JSON"),
        ({"notify_community_robots": '["wk-secret-1"]'}, "must be a JSON object of community ids"),
        (
            {"notify_community_robots": '{"紫荆路": {"wecom": "https://x/wk-secret-1"}}'},
            "must be a community id",
        ),
        ({"notify_community_robots": '{"12": {"wechat": "https://x/wk-secret-1"}}'}, "community 12: wechat:"),
        ({"notify_community_robots": '{"12": {"wecom": 7}}'}, "community 12: wecom:"),
        (
            {"notify_community_robots": '{"12": {"wecom": "wk-secret-1"}}'},
            "community 12: wecom must be an http",
        ),
        (
            {"notify_community_robots": f'{{"12": {{"dingtalk": "{DINGTALK}"}}}}'},
            "dingtalk and dingtalk_secret go together",
        ),
        ({"notify_community_robots": '{"12": {}}'}, "community 12 names no robot"),
    ],
)
def test_bad_provider_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(env="test", **values)
    text = str(refused.value)
    assert message in text
    for secret in (
        "wk-secret-1",
        "dt-secret-2",
        "SECdt-secret-3",
        "phone-secret",
        "sms-secret-4",
        "https://x",
    ):
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


def test_a_community_with_robots_of_its_own() -> None:
    own = f'{{"12": {{"dingtalk": "{DINGTALK}", "dingtalk_secret": "SECown"}}, "15": {{"wecom": "{WECOM}"}}}}'
    settings = Settings(
        env="test",
        notify_wecom_webhook="https://qyapi.example/default",  # type: ignore[arg-type]
        notify_community_robots=own,  # type: ignore[arg-type]
    )
    routing = notify_routing(settings)
    assert routing.group == (ChannelName.WECOM,)
    assert routing.communities == {12: (ChannelName.DINGTALK,), 15: (ChannelName.WECOM,)}
    with httpx.Client() as client:
        wecom, dingtalk = notify_channels(settings, client)
    assert isinstance(wecom, WeComRobot) and wecom.url == "https://qyapi.example/default"
    assert wecom.others == {"community:15": WECOM}
    assert isinstance(dingtalk, DingTalkRobot) and dingtalk.url == ""
    assert dingtalk.others == {"community:12": (DINGTALK, "SECown")}
    assert "SECown" not in repr(dingtalk) and "dt-secret-2" not in repr(dingtalk)

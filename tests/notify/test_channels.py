"""Each channel in its provider's real request format against a real local HTTP server; every failure
is a DeliveryError whose text holds no URL, token or secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterator

import httpx
import pytest

from jiayuan.notify.channels import (
    DeliveryError,
    DingTalkRobot,
    Outgoing,
    SmsGateway,
    WeComRobot,
    dingtalk_sign,
    fill_template,
)
from tests.notify.receiver import ERRCODE, HANG, HTTP_500, receiving

TOKEN = "wecom-key-5f1c9a"
SECRET = "SECd41d8cd98f00b204e9800998ecf8427e"
MESSAGE = Outgoing(
    title="【新事件】一键报警 #7",
    text="事件：1号门一键报警\n位置：锦江花园 1号门",
    link="https://jy.example/console/cases/7",
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=0.5) as made:
        yield made


def test_wecom_posts_markdown_and_needs_errcode_zero(client: httpx.Client) -> None:
    with receiving([ERRCODE]) as provider:
        robot = WeComRobot(url=f"{provider.base}/cgi-bin/webhook/send?key={TOKEN}", client=client)
        with pytest.raises(DeliveryError) as refused:
            robot.send(MESSAGE)
        robot.send(MESSAGE)
    assert "errcode 310000" in str(refused.value) and TOKEN not in str(refused.value)
    first, second = provider.requests
    assert second.path == "/cgi-bin/webhook/send" and second.query == {"key": TOKEN}
    assert second.headers["content-type"] == "application/json"
    assert second.body == {
        "msgtype": "markdown",
        "markdown": {
            "content": "### 【新事件】一键报警 #7\n事件：1号门一键报警\n位置：锦江花园 1号门\n"
            "[在控制台查看](https://jy.example/console/cases/7)"
        },
    }
    assert first.body == second.body


def test_dingtalk_signs_the_url_with_the_secret(client: httpx.Client) -> None:
    with receiving() as provider:
        robot = DingTalkRobot(
            url=f"{provider.base}/robot/send?access_token=tok123",
            secret=SECRET,
            client=client,
            clock_ms=lambda: 1_700_000_000_123,
        )
        robot.send(MESSAGE)
    (request,) = provider.requests
    assert request.path == "/robot/send"
    assert request.query["access_token"] == "tok123" and request.query["timestamp"] == "1700000000123"
    # Checked the way DingTalk checks it: HMAC-SHA256 over "timestamp\nsecret", base64 (parse_qs has
    # already undone the URL encoding, so a "+" in the signature arrived intact).
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"1700000000123\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.query["sign"] == expected == dingtalk_sign(SECRET, 1_700_000_000_123)
    assert request.body == {
        "msgtype": "markdown",
        "markdown": {
            "title": MESSAGE.title,
            "text": f"### {MESSAGE.title}\n{MESSAGE.text}\n[在控制台查看](https://jy.example/console/cases/7)",
        },
    }


def test_dingtalk_refusal_quotes_no_signature(client: httpx.Client) -> None:
    with receiving([ERRCODE]) as provider:
        robot = DingTalkRobot(
            url=f"{provider.base}/robot/send?access_token=tok123", secret=SECRET, client=client
        )
        with pytest.raises(DeliveryError) as refused:
            robot.send(MESSAGE)
    sign = provider.requests[0].query["sign"]
    assert "sign not match" in str(refused.value)
    for secret in (SECRET, sign, "tok123", provider.base):
        assert secret not in str(refused.value)


def test_sms_fills_the_template_and_sends_the_auth_header(client: httpx.Client) -> None:
    template = {"to": "{phone}", "content": "{text}", "sign": "平安家园", "extra": ["{phone}", 1]}
    with receiving([HTTP_500]) as provider:
        gateway = SmsGateway(
            url=f"{provider.base}/sms/send",
            body_template=template,
            auth_header=("Authorization", "Bearer sms-key-77"),
            client=client,
        )
        quoted = Outgoing(
            title="派遣", text='请到 "1号门"', target="13800138000", link="https://jy.example/c/1"
        )
        with pytest.raises(DeliveryError, match="HTTP 500"):
            gateway.send(quoted)
        gateway.send(quoted)
        with pytest.raises(DeliveryError, match="收信号码"):
            gateway.send(Outgoing(title="派遣", text="x"))
    request = provider.requests[-1]
    assert request.headers["authorization"] == "Bearer sms-key-77"
    assert request.body == {
        "to": "13800138000",
        "content": '派遣\n请到 "1号门"\nhttps://jy.example/c/1',
        "sign": "平安家园",
        "extra": ["13800138000", 1],
    }
    assert len(provider.requests) == 2  # nothing was sent without a number


def test_a_hung_provider_is_a_timeout_and_an_absent_one_a_connection_error(client: httpx.Client) -> None:
    with receiving([HANG], hang_s=2.0) as provider:
        robot = WeComRobot(url=f"{provider.base}/send?key={TOKEN}", client=client)
        with pytest.raises(DeliveryError, match="超时") as hung:
            robot.send(MESSAGE)
        base = provider.base
    assert TOKEN not in str(hung.value)
    with pytest.raises(DeliveryError, match="连接服务商失败") as absent:
        WeComRobot(url=f"{base}/send?key={TOKEN}", client=client).send(MESSAGE)
    assert TOKEN not in str(absent.value) and base not in str(absent.value)


def test_template_values_are_filled_after_parsing() -> None:
    assert fill_template({"a": {"b": "{text}!"}, "n": None}, phone="1", text='"}') == {
        "a": {"b": '"}!'},
        "n": None,
    }


def test_no_url_reaches_the_logs(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with receiving([HTTP_500]) as provider:
        robot = WeComRobot(url=f"{provider.base}/send?key={TOKEN}", client=client)
        with pytest.raises(DeliveryError):
            robot.send(MESSAGE)
        robot.send(MESSAGE)
    assert TOKEN not in caplog.text


def test_a_long_text_stays_within_the_robots_limit(client: httpx.Client) -> None:
    with receiving() as provider:
        WeComRobot(url=f"{provider.base}/send?key=k", client=client).send(
            Outgoing(title="长", text="事" * 3000)
        )
    assert len(provider.requests[0].body["markdown"]["content"].encode()) <= 4096


def test_a_community_robot_is_chosen_by_the_target(client: httpx.Client) -> None:
    with receiving() as provider:
        wecom = WeComRobot(
            url=f"{provider.base}/default?key=d",
            client=client,
            others={"community:12": f"{provider.base}/own?key=o"},
        )
        wecom.send(MESSAGE)
        wecom.send(Outgoing(title="t", text="x", target="community:12"))
        with pytest.raises(DeliveryError, match=r"未配置该群机器人（community:13）"):
            wecom.send(Outgoing(title="t", text="x", target="community:13"))
        only_own = DingTalkRobot(
            url="",
            secret="",
            client=client,
            others={"community:12": (f"{provider.base}/robot?access_token=own", "SECown")},
            clock_ms=lambda: 1_700_000_000_000,
        )
        only_own.send(Outgoing(title="t", text="x", target="community:12"))
        with pytest.raises(DeliveryError, match="默认"):
            only_own.send(MESSAGE)
    assert [(r.path, r.query.get("key") or r.query.get("access_token")) for r in provider.requests] == [
        ("/default", "d"),
        ("/own", "o"),
        ("/robot", "own"),
    ]
    assert provider.requests[2].query["sign"] == dingtalk_sign("SECown", 1_700_000_000_000)

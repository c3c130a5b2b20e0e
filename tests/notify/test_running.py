"""The senders as `jiayuan serve` runs them: a loop per provider in threads of their own, so a provider
that hangs holds up only its own messages."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.cli.notify import start_senders
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal
from jiayuan.notify import service
from jiayuan.notify.states import ChannelName
from tests.conftest import make_test_settings
from tests.notify.receiver import HANG, receiving


def put(sessions: sessionmaker[Session], channel: ChannelName, title: str) -> None:
    with unit_of_work(sessions) as session:
        service.enqueue(
            session, actor=Principal.system(), channel=channel, title=title, text="…", community_id=1
        )


def test_a_hung_provider_delays_no_other(database_url: str, tmp_path: Path) -> None:
    with receiving([HANG, HANG], hang_s=5.0) as wecom, receiving() as dingtalk:
        settings = make_test_settings(database_url, tmp_path).model_copy(
            update={
                "notify_wecom_webhook": SecretStr(f"{wecom.base}/send?key=k"),
                "notify_dingtalk_webhook": SecretStr(f"{dingtalk.base}/robot/send?access_token=t"),
                "notify_dingtalk_secret": SecretStr("SECx"),
                "notify_timeout_s": 3.0,
            }
        )
        engine = make_engine(database_url)
        try:
            sessions = make_sessionmaker(engine)
            put(sessions, ChannelName.WECOM, "企业微信的消息")
            put(sessions, ChannelName.DINGTALK, "钉钉的消息")
            stop = start_senders(settings)
            started = time.monotonic()
            try:
                while not dingtalk.delivered() and time.monotonic() - started < 10:
                    time.sleep(0.05)
                took = time.monotonic() - started
                assert dingtalk.delivered(), "the DingTalk message waited on the hung WeCom robot"
                assert took < 2.5 and len(wecom.requests) == 1 and not wecom.delivered()
            finally:
                stop()
        finally:
            engine.dispose()
    assert dingtalk.delivered()[0].body["markdown"]["title"] == "钉钉的消息"

"""`jiayuan notify run` as its own process: it sends until told to stop, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal
from jiayuan.notify import service
from jiayuan.notify.states import ChannelName
from tests.notify.receiver import HTTP_500, receiving

JIAYUAN = Path(sys.executable).with_name("jiayuan")


def put(sessions: sessionmaker[Session], title: str) -> None:
    with unit_of_work(sessions) as session:
        service.enqueue(
            session,
            actor=Principal.system(),
            channel=ChannelName.WECOM,
            title=title,
            text="…",
            community_id=1,
        )


def test_notify_run_sends_until_stopped(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    try:
        sessions = make_sessionmaker(engine)
        put(sessions, "重启前入队")
        with receiving([HTTP_500]) as provider:
            env = {
                **os.environ,
                "JIAYUAN_DATABASE_URL": database_url,
                "JIAYUAN_VAR_DIR": str(tmp_path),
                "JIAYUAN_NOTIFY_WECOM_WEBHOOK": f"{provider.base}/send?key=k",
                "JIAYUAN_NOTIFY_BACKOFF_BASE_S": "0.2",
            }
            process = subprocess.Popen(
                [str(JIAYUAN), "notify", "run"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                put(sessions, "运行中入队")
                deadline = time.monotonic() + 20
                while len(provider.delivered()) < 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                process.send_signal(signal.SIGTERM)
                output, _ = process.communicate(timeout=20)
        assert process.returncode == 0, output
        assert "消息发送中：企业微信" in output
        titles = sorted(r.body["markdown"]["content"].splitlines()[0] for r in provider.delivered())
        assert titles == ["### 运行中入队", "### 重启前入队"]
        assert [r.behaviour for r in provider.requests].count(HTTP_500) == 1
    finally:
        engine.dispose()

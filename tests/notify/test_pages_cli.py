"""The console page 消息 (scoped, newest first, paged) and `jiayuan notify list/run`."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.notify import service
from jiayuan.notify.schemas import Routing
from jiayuan.notify.states import ChannelName, MessageState
from jiayuan.settings import Settings, get_settings
from tests.accounts.helpers import login
from tests.factories import Tree, build_tree, make_user, token_for
from tests.notify.receiver import HTTP_500, receiving


@pytest.fixture
def tree(db: Session) -> Tree:
    built = build_tree(db)
    db.commit()
    return built


def put(sessions: sessionmaker[Session], community_id: int, title: str, channel: ChannelName) -> int:
    with unit_of_work(sessions) as session:
        return service.enqueue(
            session,
            actor=Principal.system(),
            channel=channel,
            title=title,
            text="位置：南门",
            community_id=community_id,
        )


def test_the_console_shows_a_community_its_own_messages(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    staff_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    make_user(sessions, "far", Role.STAFF, scopes=[f"community:{tree.other_community.id}"])
    make_user(sessions, "wangwei", Role.GRID, scopes=[f"grid:{tree.grid.id}"])
    login(client, "zhoumin")
    staff = {"Authorization": f"Bearer {token_for(sessions, staff_id)}"}
    made = client.post(
        "/api/v1/cases",
        json={"category": "repair", "title": "单元门禁坏了", "household_id": tree.h101.id},
        headers=staff,
    )
    assert made.status_code == 201, made.text
    page = client.get("/console/messages")
    assert page.status_code == 200
    assert (
        f"【新事件】设施报修 #{made.json()['id']}" in page.text
        and "控制台" in page.text
        and "已发送" in page.text
    )
    assert f'href="/console/cases/{made.json()["id"]}"' in page.text
    for n in range(55):
        put(sessions, tree.community.id, f"通知 {n:02d}", ChannelName.WECOM)
    put(sessions, tree.other_community.id, "别的社区的通知", ChannelName.WECOM)
    first = client.get("/console/messages")
    assert (
        "通知 54" in first.text and "通知 05" in first.text and "通知 04" not in first.text
    )  # newest first, 50 a page
    assert "别的社区的通知" not in first.text and "1 / 2" in first.text
    second = client.get("/console/messages", params={"page": 2})
    assert "通知 04" in second.text and "单元门禁坏了" in second.text
    pending = client.get("/console/messages", params={"state": "pending", "channel": "wecom"})
    assert "待发送" in pending.text and "单元门禁坏了" not in pending.text
    assert client.get("/console/messages", params={"state": "lost"}).status_code == 422

    client.cookies.clear()
    login(client, "far")
    theirs = client.get("/console/messages")
    assert (
        "别的社区的通知" in theirs.text and "通知 54" not in theirs.text and "单元门禁坏了" not in theirs.text
    )
    client.cookies.clear()
    login(client, "wangwei")
    assert client.get("/console/messages").status_code == 403


def test_the_web_app_routes_notices_to_the_configured_robots(
    settings: Settings, sessions: sessionmaker[Session], tree: Tree
) -> None:
    from jiayuan.web.app import create_app

    configured = settings.model_copy(
        update={
            "notify_wecom_webhook": SecretStr("https://qyapi.example/send?key=k"),
            "public_origin": "https://jy.example",
        }
    )
    staff_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    try:
        with TestClient(create_app(configured)) as client:
            staff = {"Authorization": f"Bearer {token_for(sessions, staff_id)}"}
            body = {"category": "noise", "title": "广场舞音响太响", "household_id": tree.h101.id}
            made = client.post("/api/v1/cases", json=body, headers=staff)
            assert made.status_code == 201, made.text
    finally:
        service.configure(Routing())
    with sessions() as session:
        (message,) = service.list_messages(session, actor=Principal.system(), params=PageParams()).items
    assert message.channel is ChannelName.WECOM and message.state is MessageState.PENDING
    assert message.link == f"https://jy.example/console/cases/{made.json()['id']}"


def test_notify_list_and_run_from_the_cli(
    cli_env: None, sessions: sessionmaker[Session], tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    mine = put(sessions, tree.community.id, "【事件派遣】一键报警 #1", ChannelName.WECOM)
    put(sessions, tree.other_community.id, "别处", ChannelName.WECOM)
    listed = CliRunner().invoke(cli, ["notify", "list", "--json", "--as", "zhoumin"])
    assert listed.exit_code == 0, listed.output
    assert [m["id"] for m in json.loads(listed.stdout)["items"]] == [mine]
    idle = CliRunner().invoke(cli, ["notify", "run", "--once"])
    assert idle.exit_code == 0 and "未配置任何消息渠道" in idle.output

    with receiving([HTTP_500, HTTP_500]) as provider:
        monkeypatch.setenv(
            "JIAYUAN_NOTIFY_WECOM_WEBHOOK", f"{provider.base}/cgi-bin/webhook/send?key=secret-key"
        )
        monkeypatch.setenv("JIAYUAN_NOTIFY_BACKOFF_BASE_S", "0.01")
        get_settings.cache_clear()
        failed = CliRunner().invoke(cli, ["notify", "run", "--once"])
        assert failed.exit_code == 0 and "企业微信：待发送 2" in failed.output
        shown = CliRunner().invoke(cli, ["notify", "list", "--json", "--state", "pending"])
        errors = {m["last_error"] for m in json.loads(shown.stdout)["items"]}
        assert errors == {"服务商返回 HTTP 500"}
        time.sleep(0.05)  # the retry falls due (backoff base 10 ms)
        sent = CliRunner().invoke(cli, ["notify", "run", "--once"])
        assert sent.exit_code == 0 and "企业微信：已发送 2" in sent.output
    assert len(provider.delivered()) == 2 and "secret-key" not in shown.stdout

    kept = CliRunner().invoke(cli, ["notify", "prune"])
    assert kept.exit_code == 0 and "已删除 0 条 90 天前" in kept.output
    pruned = CliRunner().invoke(cli, ["notify", "prune", "--days", "1"])
    assert pruned.exit_code == 0 and "已删除 0 条" in pruned.output
    monkeypatch.setenv("JIAYUAN_NOTIFY_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    refused = CliRunner().invoke(cli, ["notify", "prune"])
    assert refused.exit_code == 2 and "JIAYUAN_NOTIFY_RETENTION_DAYS" in refused.output
    monkeypatch.delenv("JIAYUAN_NOTIFY_RETENTION_DAYS")

    monkeypatch.setenv("JIAYUAN_NOTIFY_SMS_URL", "ftp://sms.example")
    get_settings.cache_clear()
    bad = CliRunner().invoke(cli, ["notify", "list"])
    assert bad.exit_code == 2 and "JIAYUAN_NOTIFY_SMS_URL must be an http:// or https:// URL" in bad.output
    assert "sms.example" not in bad.output

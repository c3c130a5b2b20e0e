"""The secretary finds a visitor pass on the console, cancels it, and the gate then refuses it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Dialog, Page, expect

from jiayuan.access.pass_tokens import signer_for
from jiayuan.access.schemas import VisitorInvite
from jiayuan.access.service import gate_checks, visitors
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.registry.models import Household, Unit
from jiayuan.settings import Settings
from tests.browser.conftest import seed_secretary
from tests.factories import add_gate

PASSWORD = "secretary-pass-2"


@pytest.fixture(scope="module")
def visitor_token(live_settings: Settings) -> str:
    """Two guests of 锦江花园 1号楼 1单元 301 (one tomorrow) and a gate; returns today's guest's QR token."""
    household_id = seed_secretary(live_settings, username="shuji2", password=PASSWORD)
    vault = PiiVault.from_secret(live_settings.pii_key.get_secret_value())
    signer = signer_for(live_settings.pass_signing_key.get_secret_value(), live_settings.pass_key_id)
    now = utcnow()
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        household = session.get_one(Household, household_id)
        add_gate(session, session.get_one(Unit, household.unit_id).building.compound, "jjhy-gate1", "1号门")
        for name, start in (("李四", timedelta(hours=-1)), ("王二", timedelta(days=1))):
            visitor = visitors.invite_visitor(
                session, actor=Principal.system(), vault=vault,
                invite=VisitorInvite(
                    household_id=household_id, name=name, phone="13800138000", plate="豫A12345",
                    valid_from=now + start, valid_until=now + start + timedelta(hours=4), entries=2,
                ),
            )  # fmt: skip
            if name == "李四":
                token = visitors.visitor_token(
                    session, actor=Principal.system(), signer=signer, visitor_id=visitor.id
                ).token
    engine.dispose()
    return token


def test_list_filter_and_cancel(
    page: Page, live_server: str, live_settings: Settings, visitor_token: str
) -> None:
    page.goto(f"{live_server}/console/visitors")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", "shuji2")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/visitors"))

    row = page.locator("#visitor-table tbody tr", has_text="李四")
    expect(row).to_contain_text("138****8000")
    expect(row).to_contain_text("豫A12345")
    expect(row).to_contain_text("有效")
    expect(row).to_contain_text("0/2")
    expect(page.locator("#visitor-results")).not_to_contain_text("13800138000")
    expect(page.locator("#visitor-table tbody tr", has_text="王二")).to_contain_text("未生效")

    page.select_option("select[name=status]", "pending")
    expect(page.locator("#visitor-table tbody tr", has_text="李四")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"status=pending"))
    page.select_option("select[name=status]", "active")
    row = page.locator("#visitor-table tbody tr", has_text="李四")

    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    row.locator("input[name=reason]").fill("客人行程取消")
    row.locator("button", has_text="撤销").click()
    expect(row).to_contain_text("已撤销")
    expect(row.locator("button", has_text="撤销")).to_have_count(0)
    assert questions and "李四" in questions[0]

    signer = signer_for(live_settings.pass_signing_key.get_secret_value(), live_settings.pass_key_id)
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        check = gate_checks.verify_at_gate(
            session, actor=Principal.system(), token=visitor_token, gate_ref="jjhy-gate1", direction="in",
            public_keys=signer.public_keys(),
        )  # fmt: skip
        assert (check.decision, check.reason) == ("refused", "revoked")
    engine.dispose()

    page.goto(f"{live_server}/console/audit")
    expect(page.locator("body")).to_contain_text("客人行程取消")

"""The demo's printed resident mobile signs in to /h5 (through the same services the page uses)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import sign_in
from jiayuan.cli import seed
from jiayuan.cli.common import console
from jiayuan.demo.seed import resident_phone
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Role
from jiayuan.notify.models import OutboxMessage
from jiayuan.settings import get_settings
from jiayuan.web import h5
from tests.conftest import TEST_PII_KEY


def test_the_printed_resident_mobile_signs_in(demo_db: Session, vault: PiiVault) -> None:
    found = resident_phone(demo_db, vault=vault)
    assert found is not None
    phone, _name = found
    keyed, find, send = h5.sign_in_tools(demo_db, vault)
    holder = find(phone)
    jumin = demo_db.scalars(select(User).where(User.username == "jumin")).one()
    household = {s.ref_id for s in jumin.scopes if s.kind == "household"}
    assert holder is not None and {holder.household_id} == household
    sign_in.request_code(
        demo_db, phone=phone, ip="127.0.0.1", keyed=keyed, find=find, send=send, policy=h5.CODE_POLICY
    )
    message = demo_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert message is not None and message.channel == "console"
    code = re.search(r"验证码为 (\d{6})", message.text)
    assert code
    signed = sign_in.sign_in_with_code(
        demo_db,
        phone=phone,
        code=code.group(1),
        ip="127.0.0.1",
        keyed=keyed,
        find=find,
        policy=h5.CODE_POLICY,
    )
    assert not isinstance(signed, sign_in.CodeRefused)
    assert signed.role is Role.RESIDENT and signed.household_id == holder.household_id


def test_the_demo_prints_the_resident_mobile(
    demo_url: str, demo_db: Session, vault: PiiVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAYUAN_DATABASE_URL", demo_url)
    monkeypatch.setenv("JIAYUAN_PII_KEY", TEST_PII_KEY)
    get_settings.cache_clear()
    try:
        with console.capture() as captured:
            seed.print_accounts()
    finally:
        get_settings.cache_clear()
    found = resident_phone(demo_db, vault=vault)
    assert found is not None
    printed = captured.get()
    assert f"用手机号 {found[0]}" in printed and "/h5" in printed and "jumin" in printed

"""One-time sign-in codes: kept hashed, valid five minutes, five guesses, resends throttled per number and
per address, a switched-off account refused, SMS when a provider is configured."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import SignInCode, User
from jiayuan.accounts.service import sign_in, users
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Invalid, TooManyRequests
from jiayuan.kernel.principal import Principal, Role
from jiayuan.notify import service as notify
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.schemas import Routing
from jiayuan.notify.states import ChannelName
from jiayuan.registry.service import residents
from jiayuan.web import h5
from tests.factories import build_tree, person

PHONE = "13812345678"
SYSTEM = Principal.system()


@pytest.fixture
def resident(db: Session, vault: PiiVault) -> int:
    tree = build_tree(db)
    made = residents.add_resident(
        db, actor=SYSTEM, vault=vault, household_id=tree.h101.id,
        data=person("刘莹", date(1980, 3, 1), 2, phone=PHONE),
    )  # fmt: skip
    db.commit()
    return made.id


class Codes:
    """Asks for codes and signs in as the /h5 page does, remembering the codes the outbox got."""

    def __init__(self, db: Session, vault: PiiVault) -> None:
        self.db = db
        self.keyed, self.find, send = h5.sign_in_tools(db, vault)
        self.sent: list[str] = []

        def remember(holder: sign_in.PhoneHolder, phone: str, code: str) -> None:
            self.sent.append(code)
            send(holder, phone, code)

        self.send = remember

    def ask(self, phone: str = PHONE, *, ip: str = "10.0.0.1", at: timedelta = timedelta()) -> str:
        return sign_in.request_code(
            self.db, phone=phone, ip=ip, keyed=self.keyed, find=self.find, send=self.send,
            policy=h5.CODE_POLICY, now=utcnow() + at,
        )  # fmt: skip

    def use(
        self, code: str, phone: str = PHONE, *, at: timedelta = timedelta()
    ) -> Principal | sign_in.CodeRefused:
        return sign_in.sign_in_with_code(
            self.db, phone=phone, code=code, ip="10.0.0.1", keyed=self.keyed, find=self.find,
            policy=h5.CODE_POLICY, now=utcnow() + at,
        )  # fmt: skip


@pytest.fixture
def codes(db: Session, vault: PiiVault, resident: int) -> Codes:
    return Codes(db, vault)


def test_the_code_is_stored_only_as_a_keyed_hash_and_lives_five_minutes(db: Session, codes: Codes) -> None:
    codes.ask()
    code = codes.sent[-1]
    stored = db.scalars(select(SignInCode)).one()
    assert code not in stored.code_hash and PHONE not in stored.phone_hash
    late = codes.use(code, at=timedelta(minutes=5, seconds=1))
    assert isinstance(late, sign_in.CodeRefused) and "已过期" in late.message
    codes.ask(at=timedelta(minutes=6))
    typed = codes.sent[-1].translate({ord(d): chr(0xFF10 + int(d)) for d in "0123456789"})  # full width
    signed = codes.use(typed, at=timedelta(minutes=6, seconds=30))
    assert isinstance(signed, Principal) and signed.role is Role.RESIDENT


def test_resends_wait_a_minute_and_are_capped_per_number_and_per_address(codes: Codes) -> None:
    codes.ask()
    with pytest.raises(TooManyRequests, match=r"请 (59|60) 秒后再试"):
        codes.ask(at=timedelta(seconds=1))
    for minute in range(1, 5):
        codes.ask(at=timedelta(minutes=minute))
    with pytest.raises(TooManyRequests, match="分钟后再试"):
        codes.ask(at=timedelta(minutes=6))
    assert len(codes.sent) == 5
    # One address asking for many numbers is stopped too, registered or not.
    for n in range(15):
        codes.ask(f"1370000{n:04d}", ip="10.0.0.1")
    with pytest.raises(TooManyRequests):
        codes.ask("13799999999", ip="10.0.0.1")
    codes.ask("13799999999", ip="10.0.0.2")


def test_malformed_numbers_and_codes_name_the_field(codes: Codes) -> None:
    with pytest.raises(Invalid, match="11 位手机号") as bad_phone:
        codes.ask("1381234")
    assert bad_phone.value.field == "phone"
    assert codes.ask("+86 138-1234-5678") == sign_in.CODE_SENT
    assert codes.sent  # the registered number, however it was typed
    codes.ask("１３８１２３４５６７８", at=timedelta(minutes=2))  # full-width digits from a Chinese keyboard
    assert len(codes.sent) == 2
    with pytest.raises(Invalid, match="6 位数字") as bad_code:
        codes.use("12a456")
    assert bad_code.value.field == "code"


def test_a_switched_off_resident_account_is_refused(db: Session, codes: Codes) -> None:
    codes.ask()
    first = codes.use(codes.sent[-1])
    assert isinstance(first, Principal) and first.user_id is not None
    admin = Principal(role=Role.ADMIN, user_id=0, username="root")
    users.deactivate_user(db, actor=admin, user_id=first.user_id)
    codes.ask(at=timedelta(minutes=2))
    refused = codes.use(codes.sent[-1], at=timedelta(minutes=2))
    assert isinstance(refused, sign_in.CodeRefused) and refused.status == 403 and "已停用" in refused.message
    assert len(db.scalars(select(User).where(User.role == "resident")).all()) == 1


@pytest.fixture
def sms_routing(vault: PiiVault) -> Iterator[None]:
    notify.configure(Routing(sms=True), vault)
    yield
    notify.configure(Routing())


def test_with_an_sms_provider_the_code_goes_by_sms(db: Session, codes: Codes, sms_routing: None) -> None:
    codes.ask()
    message = db.scalars(select(OutboxMessage)).one()
    assert message.channel == ChannelName.SMS.value and PHONE not in message.target  # sealed
    assert codes.sent[-1] in message.text and message.state == "pending"
    (delivery,) = notify.claim(
        db, actor=SYSTEM, channel=ChannelName.SMS, now=utcnow(), lease=timedelta(minutes=1), limit=5
    )
    assert delivery.target == PHONE


def test_wrong_codes_over_a_day_stop_guessing_at_one_number(codes: Codes) -> None:
    wrong = 0
    for hour in range(3):
        for minute in range(5):
            at = timedelta(hours=hour, minutes=minute * 2)
            try:
                codes.ask(at=at)
            except TooManyRequests as refused:
                assert "今天验证码输错次数过多" in refused.message
                break
            guess = "000000" if codes.sent[-1] != "000000" else "111111"
            for _ in range(h5.CODE_POLICY.max_tries):
                answer = codes.use(guess, at=at + timedelta(seconds=30))
                assert isinstance(answer, sign_in.CodeRefused)
                if "今天验证码输错次数过多" in answer.message:
                    break
                wrong += 1
    assert wrong == h5.CODE_POLICY.wrong_per_day
    # Even the right code is refused for the rest of the day; the next day the number may sign in.
    late = timedelta(hours=3)
    with pytest.raises(TooManyRequests):
        codes.ask(at=late)
    codes.ask(at=timedelta(hours=27))
    assert isinstance(codes.use(codes.sent[-1], at=timedelta(hours=27, seconds=10)), Principal)

"""The resident's H5 face (/h5), put together from the domains' services.

Sign-in hands accounts the registry's phone lookup and the outbox; the e-pass and visitor passes come
from access; 一键报警 and reports are cases seen through a resident's eyes (who is coming by display name,
the steps in plain words, never a worker's phone or username).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel
from sqlalchemy.orm import Session

from jiayuan.accounts.service.sign_in import CodePolicy, FindHolder, PhoneHolder, SendCode
from jiayuan.cases.schemas import CaseFilter, CaseIn, CaseOut, Category
from jiayuan.cases.service import reads, reporting
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import ROLE_CONTEXT, ROLE_LABELS, Principal, Role
from jiayuan.notify import service as notify
from jiayuan.registry.service import directory
from jiayuan.web import i18n
from jiayuan.web.i18n import N_

CODE_POLICY = CodePolicy()
# The categories a resident picks from when reporting a problem (alarms are raised by devices).
REPORT_CATEGORIES = (
    Category.REPAIR,
    Category.NOISE,
    Category.SANITATION,
    Category.SAFETY,
    Category.NEIGHBOURS,
    Category.OTHER,
)
# A second press of 一键报警 this soon after the first joins the case already raised.
SOS_JOIN_WINDOW = timedelta(minutes=2)

_STEP_WORDS = {
    CaseAction.ACCEPT: N_("社区已受理"),
    CaseAction.DISPATCH: N_("已派工作人员处理"),
    CaseAction.ARRIVE: N_("工作人员已到场"),
    CaseAction.HANDLE: N_("已处置完毕"),
    CaseAction.VERIFY: N_("社区已核查处置结果"),
    CaseAction.CLOSE: N_("已结案"),
    CaseAction.RETURN: N_("退回上一步，重新处理"),
    CaseAction.ESCALATE: N_("已升级，由上级跟进"),
    CaseAction.REOPEN: N_("已重新打开，社区将再次处理"),
}


def require_resident(principal: Principal) -> Principal:
    """The resident face is for residents bound to a household; others are told where to go."""
    if principal.role is not Role.RESIDENT:
        # The role's label in the page's language: the message is read on the refusal page.
        role = i18n.translate_in(ROLE_CONTEXT, ROLE_LABELS.get(principal.role, principal.role.value))
        raise Forbidden(
            "居民页面只供居民使用。您登录的是“{role}”账号，请前往工作台 /console，或退出后用居民手机号登录。",
            role=role,
        )
    if principal.household_id is None or principal.person_id is None:
        raise Forbidden("您的居民账号尚未绑定住户，请联系社区工作人员")
    return principal


def home_label(session: Session, principal: Principal) -> str:
    """`锦江花园 1号楼 1单元 301`: the resident's own flat, as the alarm will name it."""
    assert principal.household_id is not None
    place = directory.household_places(session, [principal.household_id]).get(principal.household_id)
    return f"{place.compound_name} {place.label}" if place else ""


def sign_in_tools(session: Session, vault: PiiVault) -> tuple[Callable[[str], str], FindHolder, SendCode]:
    """What accounts needs to sign a resident in: the keyed hash, the registry's lookup, the outbox."""

    def find(phone: str) -> PhoneHolder | None:
        return directory.phone_holder(session, phone_hash=vault.lookup_hash(phone))

    def send(holder: PhoneHolder, phone: str, code: str) -> None:
        notify.sign_in_code(
            session,
            actor=Principal.system(),
            phone=phone,
            code=code,
            community_id=holder.community_id,
            valid_minutes=CODE_POLICY.valid_minutes,
        )

    return vault.lookup_hash, find, send


def qr_data_uri(token: str) -> str:
    """A QR code of a pass as an SVG data URI (the page shows it as an image)."""
    return str(segno.make(token, error="m").svg_data_uri(scale=6, border=2))


# A Chinese font for the words on a shared pass picture (Debian's fonts-noto-cjk, else WenQuanYi);
# without one the picture is the bare QR code.
_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)


def qr_png(token: str, *, until: datetime | None = None) -> bytes:
    """A pass as a PNG picture to save or send in a chat: the QR code, and above and below it what it is
    and until when it works (Beijing time) when a Chinese font is installed."""
    code = io.BytesIO()
    segno.make(token, error="m").save(code, kind="png", scale=8, border=3)
    font_file = next((f for f in _CJK_FONTS if f.exists()), None)
    if font_file is None:
        return code.getvalue()
    qr = Image.open(io.BytesIO(code.getvalue())).convert("RGB")
    width = qr.width + 80
    canvas = Image.new("RGB", (width, qr.height + 200), "white")
    draw = ImageDraw.Draw(canvas)
    title, small = ImageFont.truetype(str(font_file), 40), ImageFont.truetype(str(font_file), 24)
    _ = i18n.translate  # the words in the language of the page the picture is saved from
    draw.text((width // 2, 30), _("平安家园 · 访客通行证"), font=title, fill="#b71c1c", anchor="mt")
    canvas.paste(qr, (40, 100))
    lines = [_("到小区门口把二维码对准扫码器")]
    if until is not None:
        lines.insert(0, _("有效期至 {until}（北京时间）").format(until=f"{local(until):%Y-%m-%d %H:%M}"))
    for row, line in enumerate(lines):
        draw.text((width // 2, qr.height + 115 + row * 36), line, font=small, fill="#333333", anchor="mt")
    out = io.BytesIO()
    canvas.save(out, "PNG", optimize=True)
    return out.getvalue()


class ResidentAttachment(BaseModel):
    """A photo or voice note on a step."""

    kind: str
    kind_label: str
    url: str


class ResidentStep(BaseModel):
    """One step of a case as the resident reads it."""

    at: datetime
    text: str
    attachments: list[ResidentAttachment] = []


class ResidentCase(BaseModel):
    """A resident's case: what, where, where it stands in plain words, who is coming, its steps; its words
    in the language of the page that asks (the page polls it and writes them as they are)."""

    id: int
    category: Category
    category_label: str
    title: str
    description: str
    place: str
    state: CaseState
    state_label: str
    headline: str
    helper: str | None
    reported_at: datetime
    closed_at: datetime | None
    closed: bool
    may_reopen: bool
    reopen_until: datetime | None
    steps: list[ResidentStep]


def resident_case(case: CaseOut, *, reopen_days: int, now: datetime | None = None) -> ResidentCase:
    """The resident's view of a case they may see (`reads.show_case` checked that)."""
    now = now or utcnow()
    helper = case.assignee_name
    closed = case.state is CaseState.CLOSED
    until = case.closed_at + timedelta(days=reopen_days) if closed and case.closed_at else None
    sos = case.category is Category.SOS
    received = N_("已收到您的一键报警，正在通知值班人员") if sos else N_("已收到您的诉求")
    steps = [
        ResidentStep(
            at=step.at,
            text=i18n.translate(
                received if step.from_state is None else _STEP_WORDS.get(step.action, step.action.label)
            ),
            attachments=[
                ResidentAttachment(kind=a.kind.value, kind_label=i18n.translate(a.kind_label), url=a.url)
                for a in step.attachments
            ],
        )
        for step in case.steps
    ]
    return ResidentCase(
        id=case.id,
        category=case.category,
        category_label=i18n.translate(case.category_label),
        title=case.title,
        description=case.description,
        place=case.place,
        state=case.state,
        state_label=i18n.translate(case.state_label),
        headline=_headline(case.category, case.state, helper),
        helper=helper,
        reported_at=case.reported_at,
        closed_at=case.closed_at,
        closed=closed,
        # Only the reporter reopens; a resident is shown the reporter's name only on their own reports.
        may_reopen=until is not None
        and now <= until
        and CaseAction.REOPEN in case.allowed
        and case.reporter_name is not None,
        reopen_until=until,
        steps=steps,
    )


def _headline(category: Category, state: CaseState, helper: str | None) -> str:
    _ = i18n.translate
    if state is CaseState.CLOSED:
        return _("已结案。如问题仍未解决，可以在下方重新打开。")
    if state in (CaseState.HANDLED, CaseState.VERIFIED):
        return _("已处置完毕，社区正在核查。")
    if state is CaseState.ON_SITE:
        return _("{who}已到场。").format(who=helper) if helper else _("值班人员已到场。")
    if category is Category.SOS:
        if helper:
            return _("求助已收到，{helper}正在赶来。请保持电话畅通，注意安全。").format(helper=helper)
        return _("求助已收到，正在通知值班人员，请保持电话畅通，注意安全。")
    if helper:
        return _("社区已安排{helper}处理。").format(helper=helper)
    return _("社区已收到，会尽快安排处理。")


def raise_sos(
    session: Session,
    *,
    actor: Principal,
    latitude: float | None,
    longitude: float | None,
    accuracy_m: float | None,
    attachment_ids: list[int] | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
) -> CaseOut:
    """一键报警: a case of category sos at the resident's household (source resident), with the phone's
    position when the resident let the browser share it. A press within two minutes of an open alarm
    joins it instead of raising a second one (pressing again while waiting); the same `request_id` sent
    twice (a double tap, a retry after a lost answer) is one alarm whenever it comes."""
    now = now or utcnow()
    recent = reads.list_cases(
        session,
        actor=actor,
        params=PageParams(page=1, size=20),
        filters=CaseFilter(open_only=True, category=Category.SOS),
    )
    for case in recent.items:
        if case.category is Category.SOS and now - case.reported_at <= SOS_JOIN_WINDOW:
            return case
    lines = ["居民在手机上按下一键报警。"]
    if latitude is not None and longitude is not None:
        fix = f"手机定位：北纬 {latitude:.5f}，东经 {longitude:.5f}"
        if accuracy_m is not None:
            fix += f"（误差约 {round(accuracy_m)} 米）"
        lines.append(fix)
    else:
        lines.append("未获得手机定位，请按登记的住址前往。")
    data = CaseIn(
        category=Category.SOS,
        title="居民一键报警",
        description="\n".join(lines),
        attachment_ids=attachment_ids or [],
        request_id=request_id,
    )
    return reporting.report_case(session, actor=actor, data=data)

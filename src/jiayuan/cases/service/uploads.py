"""Use cases of a case's photos and voice notes: keep an upload (made safe by `cases.attachments`) until
it is given with a report or an action, show one to whoever sees its case, drop those never given."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jiayuan.cases import attachments, policies, repository
from jiayuan.cases.models import Case, CaseAttachment, CaseStep
from jiayuan.cases.schemas import AttachmentFile, AttachmentOut
from jiayuan.cases.service.reads import _attachment_out
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Invalid, NotFound, TooManyRequests
from jiayuan.kernel.principal import Principal, Role

# An upload is given with a report or an action within a day; one person keeps at most this many waiting.
ATTACHMENT_WAIT = timedelta(days=1)
MAX_WAITING_UPLOADS = 30


def upload_attachment(session: Session, *, actor: Principal, data: bytes) -> AttachmentOut:
    """Keep a photo or voice note (made safe by `attachments.accept`) for the uploader to give with a
    report or an action within a day."""
    policies.require_uploader(actor)
    now = utcnow()
    if repository.waiting_uploads(session, actor.user_id, since=now - ATTACHMENT_WAIT) >= MAX_WAITING_UPLOADS:
        raise TooManyRequests(
            "已有 {n} 个文件等待提交；请先提交上报或操作", field="file", n=MAX_WAITING_UPLOADS
        )
    accepted = attachments.accept(data)
    row = CaseAttachment(
        uploader_user_id=actor.user_id,
        kind=accepted.kind.value,
        content_type=accepted.content_type,
        size=len(accepted.data),
        sha256=hashlib.sha256(accepted.data).hexdigest(),
        uploaded_at=now,
        data=accepted.data,
    )
    session.add(row)
    session.flush()
    return _attachment_out(row)


def attachment_file(session: Session, *, actor: Principal, attachment_id: int) -> AttachmentFile:
    """A photo or voice note for whoever sees its case (before it is given: for its uploader only)."""
    policies.require_reader(actor)
    row = repository.attachment_by_id(session, attachment_id)
    if row is None or not (
        policies.sees(actor, row.case)
        and policies.shows_details(actor, row.case)
        and actor.role is not Role.SCREEN
        if row.case is not None
        else actor.user_id is not None and row.uploader_user_id == actor.user_id
    ):
        raise NotFound("附件不存在", field="attachment_id")  # out of reach reads as missing
    return AttachmentFile(content_type=row.content_type, data=row.data)


def drop_waiting_uploads(session: Session, *, actor: Principal, now: datetime) -> int:
    """Drop the uploads never given with a report or an action within a day; how many."""
    policies.require_system(actor)
    return repository.delete_waiting(session, before=now - ATTACHMENT_WAIT)


def _attach(
    session: Session, actor: Principal, case: Case, step: CaseStep, ids: Sequence[int], now: datetime
) -> None:
    """Bind the actor's own uploads, not yet given and under a day old, to the case and step."""
    if not ids:
        return
    found = repository.waiting_attachments(session, ids, actor.user_id, since=now - ATTACHMENT_WAIT)
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        raise Invalid(
            "附件 #{id} 不存在、已过期或已提交过；请重新上传", field="attachment_ids", id=missing[0]
        )
    session.flush()  # the step's id
    for attachment_id in dict.fromkeys(ids):
        row = found[attachment_id]
        row.case_id, row.step_id = case.id, step.id
        step.attachments.append(row)

"""Use cases of reading cases: the board (list with filters, counted up to a cap), counts per state,
one case with its history, a gate or camera case's snapshot. `_out` is the one shape a case is given
back in; `reporting` and `workflow` give theirs back through it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.cases import attachments, policies, repository
from jiayuan.cases.models import Case, CaseAttachment
from jiayuan.cases.schemas import AttachmentOut, CaseFilter, CaseOut, CasePage, Category, Source, StepOut
from jiayuan.cases.states import CaseAction, CaseState, allowed
from jiayuan.devices.service import snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import NotFound
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal

# The board counts at most this many matching cases (narrow by filters beyond).
BOARD_COUNT_CAP = 10_000


def list_cases(
    session: Session,
    *,
    actor: Principal,
    params: PageParams,
    filters: CaseFilter | None = None,
) -> CasePage:
    """The cases within the actor's reach, newest first, narrowed by `filters`; counted up to
    BOARD_COUNT_CAP."""
    policies.require_reader(actor)
    where = repository.reach(actor) & repository.narrowed(filters or CaseFilter(), actor, utcnow())
    query = repository.cases_where(where)
    rows = session.scalars(query.offset(params.offset).limit(params.size)).all()
    assigned = {c.assignee_user_id for c in rows if c.assignee_user_id is not None}
    names = users.display_names(session, sorted(assigned)) if assigned else {}
    total = repository.count(session, query, cap=BOARD_COUNT_CAP)
    return CasePage(
        items=[
            _out(actor, c, with_steps=False).model_copy(
                update={"assignee_name": names.get(c.assignee_user_id) if c.assignee_user_id else None}
            )
            for c in rows
        ],
        total=min(total, BOARD_COUNT_CAP),
        total_exact=total <= BOARD_COUNT_CAP,
        page=params.page,
        size=params.size,
    )


def count_by_state(session: Session, *, actor: Principal) -> dict[CaseState, int]:
    """How many cases within the actor's reach stand in each state (every state named, 0 when none)."""
    policies.require_reader(actor)
    found = repository.counts_by_state(session, repository.reach(actor))
    return {state: found.get(state.value, 0) for state in CaseState}


def show_case(session: Session, *, actor: Principal, case_id: int) -> CaseOut:
    """One case with its history, and the names of the person it is with and of the cadre on duty."""
    case = _out(actor, policies.require_visible(actor, repository.case_by_id(session, case_id)))
    ids = [i for i in (case.assignee_user_id, case.cadre_user_id) if i is not None]
    names = users.display_names(session, ids) if ids else {}
    return case.model_copy(
        update={
            "assignee_name": names.get(case.assignee_user_id) if case.assignee_user_id else None,
            "cadre_name": names.get(case.cadre_user_id) if case.cadre_user_id else None,
        }
    )


def _attachment_out(row: CaseAttachment) -> AttachmentOut:
    kind = attachments.AttachmentKind(row.kind)
    return AttachmentOut(
        id=row.id,
        kind=kind,
        kind_label=kind.label,
        content_type=row.content_type,
        size=row.size,
        url=f"/api/v1/cases/attachments/{row.id}",
    )


def _out(actor: Principal, case: Case, *, with_steps: bool = True) -> CaseOut:
    state = CaseState(case.state)
    category = Category(case.category)
    # Someone who only follows the case (their duplicate was merged into it) sees how far it has got.
    details = policies.shows_details(actor, case)
    steps = [
        StepOut(
            action=CaseAction.ACCEPT if s.action == "report" else CaseAction(s.action),
            from_state=None if s.from_state is None else CaseState(s.from_state),
            to_state=CaseState(s.to_state),
            actor_name=s.actor_name,
            actor_role=s.actor_role,
            at=s.at,
            note=s.note if details else "",
            attachments=[_attachment_out(a) for a in s.attachments] if details else [],
        )
        for s in (case.steps if with_steps else ())
    ]
    return CaseOut(
        id=case.id,
        category=category,
        category_label=category.label,
        source=Source(case.source),
        title=case.title if details else f"{category.label}（与您的上报合并办理）",
        description=case.description if details else "",
        state=state,
        state_label=state.label,
        level=case.level,
        community_id=case.community_id,
        compound_id=case.compound_id,
        household_id=case.household_id if details else None,
        grid_id=case.grid_id,
        place=case.place_label if details else "",
        gate_id=case.gate_id,
        device_id=case.device_id,
        evidence=case.evidence if details else {},
        reporter_name=case.reporter_name if policies.shows_reporter(actor, case) else None,
        assignee_user_id=case.assignee_user_id,
        cadre_user_id=case.cadre_user_id,
        reported_at=case.reported_at,
        closed_at=case.closed_at,
        due_at=case.due_at,
        overdue=case.due_at is not None and case.due_at <= utcnow(),
        merged_into_id=case.merged_into_id,
        allowed=[] if case.merged_into_id is not None else allowed(state),
        steps=steps,
    )


def evidence_snapshot(session: Session, *, actor: Principal, files: SnapshotFiles, case_id: int) -> bytes:
    """The camera snapshot a gate or camera case carries, for whoever sees the case: the worker it is
    handed to sees its evidence even when their scope (a grid) does not cover the gate's cameras."""
    case = policies.require_visible(actor, repository.case_by_id(session, case_id))
    evidence = (case.evidence or {}) if policies.shows_details(actor, case) else {}
    snapshot, camera = evidence.get("snapshot"), evidence.get("snapshot_device") or case.device_id
    if not isinstance(snapshot, str) or not isinstance(camera, str):
        raise NotFound("该事件没有抓拍图", field="case_id")
    # The case's own scope was checked above; the picture is read as the platform, from the camera that
    # took it (the alarm's own device, or the gate camera nearest the alarm).
    return snapshots.snapshot_image(
        session, actor=Principal.system(), files=files, device_id=camera, snapshot_id=snapshot
    )

"""JSON API of the accounts domain: tokens, who am I, users, audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from jiayuan.accounts import export
from jiayuan.accounts.schemas import (
    AuditFilter,
    AuditOut,
    AuditSearch,
    DeactivateRequest,
    LockoutOut,
    LoginRequest,
    MobileIn,
    PasswordChange,
    PasswordReset,
    PrincipalOut,
    TokenCreate,
    TokenIssued,
    TokenOut,
    UserCreate,
    UserOut,
    parse_scope,
)
from jiayuan.accounts.service import audit, logins, tokens, users
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.service import credentials
from jiayuan.devices.service import tokens as device_tokens
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.registry.service.directory import scope_resolver
from jiayuan.web import i18n
from jiayuan.web.auth import (
    SESSION_COOKIE,
    AdminPrincipal,
    CurrentPrincipal,
    client_ip,
    login_policy,
    require_current_password,
)
from jiayuan.web.deps import ContextDep, RowId, SessionDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post(
    "/auth/token",
    response_model=TokenIssued,
    responses={401: {"description": "用户名或密码错误"}, 429: {"description": "尝试过多或账户已锁定"}},
)
def issue_login_token(body: LoginRequest, request: Request, context: ContextDep) -> Response:
    """Exchange a username and password for a bearer token (valid for the session length)."""
    policy = login_policy(context.settings)
    # Own transaction: a refused attempt is still counted and audited.
    with unit_of_work(context.sessions) as session:
        outcome = logins.authenticate(
            session, username=body.username, password=body.password, policy=policy, ip=client_ip(request)
        )
        issued = None
        if not isinstance(outcome, logins.LoginRefused):
            issued = tokens.create_api_token(
                session,
                actor=outcome,
                user_id=outcome.user_id,
                name="登录令牌",
                expires_at=utcnow() + timedelta(hours=policy.session_hours),
                max_days=context.settings.api_token_max_days,
            )
    if issued is None:
        assert isinstance(outcome, logins.LoginRefused)
        headers = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after else None
        if outcome.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
        return JSONResponse(
            {"detail": i18n.error_text(outcome), "field": "password"},
            status_code=outcome.status,
            headers=headers,
        )
    return JSONResponse(issued.model_dump(mode="json"))


@router.post("/auth/password", status_code=204)
def change_password(
    body: PasswordChange,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
) -> Response:
    """Change your own password (the current one is needed, and wrong guesses count as failed logins);
    your other sessions end and every API token of yours, the one used for this call included, is
    revoked."""
    require_current_password(
        session,
        principal=principal,
        password=body.current_password,
        settings=context.settings,
        request=request,
    )
    users.change_password(
        session,
        actor=principal,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_cookie=request.cookies.get(SESSION_COOKIE),
    )
    return Response(status_code=204)


@router.get("/auth/lockouts", response_model=list[LockoutOut])
def list_lockouts(principal: CurrentPrincipal, session: SessionDep) -> list[LockoutOut]:
    """Login locks in force that the caller may lift (admins only)."""
    return logins.list_lockouts(session, actor=principal)


@router.delete("/auth/lockouts/{lockout_id}", response_model=LockoutOut)
def lift_lockout(lockout_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> LockoutOut:
    """End one login lock early (admins only)."""
    return logins.lift_lockout(session, actor=principal, lockout_id=lockout_id)


@router.get("/auth/me", response_model=PrincipalOut)
def who_am_i(principal: CurrentPrincipal) -> PrincipalOut:
    """The caller's role and scope."""
    return PrincipalOut.of(principal)


@router.get("/users", response_model=Page[UserOut])
def list_users(
    principal: CurrentPrincipal, session: SessionDep, paging: Annotated[PageParams, Query()]
) -> Page[UserOut]:
    """Users the caller administers (admins only)."""
    return users.list_users(session, actor=principal, params=paging)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, principal: CurrentPrincipal, session: SessionDep) -> UserOut:
    """Add a user with a role and scopes such as `community:1`, `grid:3` (admins only)."""
    return users.create_user(
        session,
        actor=principal,
        username=body.username,
        display_name=body.display_name,
        role=body.role,
        password=body.password,
        scopes=[parse_scope(s) for s in body.scopes],
        community_of=scope_resolver(session),
    )


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> UserOut:
    """One user (admins only; other communities' users are 404)."""
    return users.get_user(session, actor=principal, user_id=user_id)


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
def deactivate_user(
    user_id: RowId, principal: CurrentPrincipal, session: SessionDep, body: DeactivateRequest | None = None
) -> UserOut:
    """Stop a user from signing in; their sessions end and their tokens are revoked."""
    return users.deactivate_user(
        session, actor=principal, user_id=user_id, reason=body.reason if body else None
    )


@router.put("/users/{user_id}/mobile", response_model=UserOut)
def set_mobile(
    user_id: RowId, body: MobileIn, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> UserOut:
    """Set or clear (empty) the mobile a person's own notices go to: the person themself, or an admin
    who manages them. Kept encrypted; answered and audited masked."""
    return users.set_mobile(session, actor=principal, user_id=user_id, data=body, vault=context.vault)


@router.post("/users/{user_id}/unlock", response_model=UserOut)
def unlock_user(user_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> UserOut:
    """Lift a login lock early."""
    return users.unlock_user(session, actor=principal, user_id=user_id)


@router.post("/users/{user_id}/password", response_model=UserOut)
def reset_password(
    user_id: RowId, body: PasswordReset, principal: CurrentPrincipal, session: SessionDep
) -> UserOut:
    """Set a user's password (admins, within their communities); the user is signed out everywhere."""
    return users.reset_password(session, actor=principal, user_id=user_id, new_password=body.new_password)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(principal: CurrentPrincipal, session: SessionDep) -> list[TokenOut]:
    """The caller's tokens (an admin sees all within their communities, and device tokens)."""
    return device_tokens.list_tokens(session, actor=principal)


@router.post("/tokens", response_model=TokenIssued, status_code=201)
def create_token(
    body: TokenCreate, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> TokenIssued:
    """Issue a token for yourself, or (admins) for another user or a device; shown once.

    A device token is also the device's MQTT password (the newest live one is; docs/devices.md). A
    user's token expires at `expires_at`, or after JIAYUAN_API_TOKEN_MAX_DAYS when that is sooner or
    none is given; the answer states the expiry that applies.
    """
    if body.device_id is not None and body.user_id is None:
        sealer = credentials.sealer_for(context.settings.secret_key.get_secret_value())
        return credentials.issue_token(
            session, actor=principal, device_id=body.device_id, name=body.name, sealer=sealer
        )
    user_id = body.user_id
    if user_id is None and body.device_id is None:
        user_id = principal.user_id
    return tokens.create_api_token(
        session,
        actor=principal,
        name=body.name,
        user_id=user_id,
        device_id=body.device_id,
        expires_at=body.expires_at,
        max_days=context.settings.api_token_max_days,
    )


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> TokenOut:
    """Revoke a token at once."""
    return device_tokens.revoke_token(session, actor=principal, token_id=token_id)


@router.get("/audit", response_model=Page[AuditOut])
def search_audit(
    search: Annotated[AuditSearch, Query()], principal: CurrentPrincipal, session: SessionDep
) -> Page[AuditOut]:
    """Search the audit log by actor, action, target and time (admins only)."""
    return audit.search_audit(session, actor=principal, criteria=search.criteria(), params=search.paging())


@router.get("/audit/export.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def export_audit(
    criteria: Annotated[AuditFilter, Query()], principal: AdminPrincipal, session: SessionDep
) -> Response:
    """The matching audit rows as an Excel file with Chinese headers (admins only)."""
    rows = audit.audit_rows_for_export(session, actor=principal, criteria=criteria)
    filename = f"audit-{local(utcnow()):%Y%m%d-%H%M}.xlsx"
    return Response(
        export.audit_workbook(rows),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

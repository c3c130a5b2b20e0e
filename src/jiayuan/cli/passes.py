"""`jiayuan pass …`: issue and verify e-passes from the command line (for device integrators)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from jiayuan.access.pass_tokens import Signer, signer_for
from jiayuan.access.schemas import REASON_LABELS, VisitorFilter
from jiayuan.access.service import gate_checks, passes
from jiayuan.access.service import visitors as visitors_service
from jiayuan.access.states import VisitorState
from jiayuan.cli.common import AS_HELP, console, err_console, operator, session_scope, settings, vault
from jiayuan.kernel.clock import local
from jiayuan.kernel.paging import MAX_PAGE, MAX_PAGE_SIZE, PageParams

app = typer.Typer(help="通行码 E-passes: issue and verify them, list visitor passes.", no_args_is_help=True)


def _signer() -> Signer:
    config = settings()
    return signer_for(config.pass_signing_key.get_secret_value(), config.pass_key_id)


@app.command()
def issue(
    resident: int = typer.Option(..., "--resident", help="Resident id (居民编号)."),
    out: Path | None = typer.Option(None, "--out", help="Also write the QR code: x.png or x.svg."),
    validity: int = typer.Option(None, help="Seconds the code stays valid (30–60)."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Sign a resident e-pass and print the token."""
    if out is not None and out.suffix.lower() not in (".png", ".svg"):
        err_console.print("[red]--out 须以 .png 或 .svg 结尾[/red]")
        raise typer.Exit(2)
    with session_scope() as session:
        issued = passes.issue_resident_pass(
            session,
            actor=operator(session, as_user),
            signer=_signer(),
            person_id=resident,
            validity_s=validity or settings().pass_validity_s,
        )
    console.print(issued.token, soft_wrap=True, highlight=False)
    if out is not None:
        import segno

        segno.make(issued.token, error="m").save(str(out), scale=6, border=2)
        err_console.print(
            f"二维码已写入 {out}（有效至北京时间 {local(issued.expires_at):%Y-%m-%d %H:%M:%S}）"
        )


@app.command()
def verify(
    token: str = typer.Argument(..., help="The token as scanned (JY1.…)."),
    gate: str = typer.Option(..., "--gate", help="Gate id or code, e.g. jjhy-gate1."),
    direction: str = typer.Option("in", help="in or out."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Check a token at a gate as the platform does; exits 1 when refused."""
    with session_scope() as session:
        check = gate_checks.verify_at_gate(
            session,
            actor=operator(session, as_user),
            token=token,
            gate_ref=gate,
            direction=direction,
            public_keys=_signer().public_keys(),
        )
        decision, reason = check.decision, check.reason
    if as_json:
        console.print_json(json.dumps({"decision": decision, "reason": reason}))
    else:
        refused = REASON_LABELS.get(reason, reason)
        label = "[green]放行 ok[/green]" if decision == "ok" else f"[red]拒绝：{refused}（{reason}）[/red]"
        console.print(label)
    if decision != "ok":
        raise typer.Exit(1)


@app.command()
def visitors(
    compound: int | None = typer.Option(None, "--compound", min=1, help="Compound id (小区编号)."),
    household: int | None = typer.Option(None, "--household", min=1, help="Household id (住户编号)."),
    status: str | None = typer.Option(
        None, "--status", help="active/有效, pending/未生效, used_up/已用完, expired/已过期, revoked/已撤销."
    ),
    on: datetime | None = typer.Option(None, "--on", formats=["%Y-%m-%d"], help="Valid on this day."),
    page: int = typer.Option(1, "--page", min=1, max=MAX_PAGE, help="Page number (from 1)."),
    size: int = typer.Option(20, "--size", min=1, max=MAX_PAGE_SIZE, help="Passes per page."),
    as_json: bool = typer.Option(False, "--json", help="Print the page as JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List visitor passes (访客通行证), newest first, as the API and the console do; phones masked."""
    with session_scope() as session:
        criteria = VisitorFilter(
            compound_id=compound,
            household_id=household,
            status=VisitorState.parse(status) if status is not None else None,
            on=on.date() if on else None,
        )
        found = visitors_service.list_visitors(
            session,
            actor=operator(session, as_user),
            vault=vault(),
            criteria=criteria,
            params=PageParams(page=page, size=size),
        )
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json"), ensure_ascii=False))
        return
    table = Table(title=f"访客通行证 共 {found.total} 张，第 {found.page} 页")
    for column in ("编号", "访客", "手机号", "车牌", "小区", "住户", "时段", "次数", "状态", "邀请人"):
        table.add_column(column)
    for item in found.items:
        window = f"{local(item.valid_from):%m-%d %H:%M} ~ {local(item.valid_until):%m-%d %H:%M}"
        table.add_row(
            str(item.id),
            item.name,
            item.phone_masked,
            item.plate or "",
            item.compound,
            item.household,
            window,
            f"{item.entries_used}/{item.entries_allowed}",
            item.status_label,
            item.invited_by or "",
        )
    console.print(table)

"""`jiayuan pass …`: issue and verify e-passes from the command line (for device integrators)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jiayuan.access import passes_service
from jiayuan.access.passes import Signer, signer_for
from jiayuan.cli.common import console, err_console, session_scope, settings
from jiayuan.kernel.principal import Principal

app = typer.Typer(help="通行码 E-passes: issue and verify.", no_args_is_help=True)


def _signer() -> Signer:
    config = settings()
    return signer_for(config.pass_signing_key.get_secret_value(), config.pass_key_id)


@app.command()
def issue(
    resident: int = typer.Option(..., "--resident", help="Resident id (居民编号)."),
    out: Path | None = typer.Option(None, "--out", help="Also write the QR code: x.png or x.svg."),
    validity: int = typer.Option(None, help="Seconds the code stays valid (30–60)."),
) -> None:
    """Sign a resident e-pass and print the token."""
    if out is not None and out.suffix.lower() not in (".png", ".svg"):
        err_console.print("[red]--out 须以 .png 或 .svg 结尾[/red]")
        raise typer.Exit(2)
    with session_scope() as session:
        issued = passes_service.issue_resident_pass(
            session,
            actor=Principal.system(),
            signer=_signer(),
            person_id=resident,
            validity_s=validity or settings().pass_validity_s,
        )
    console.print(issued.token, soft_wrap=True, highlight=False)
    if out is not None:
        import segno

        segno.make(issued.token, error="m").save(str(out), scale=6, border=2)
        err_console.print(f"二维码已写入 {out}（有效至 {issued.expires_at.isoformat()}）")


@app.command()
def verify(
    token: str = typer.Argument(..., help="The token as scanned (JY1.…)."),
    gate: str = typer.Option(..., "--gate", help="Gate id or code, e.g. jjhy-gate1."),
    direction: str = typer.Option("in", help="in or out."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check a token at a gate as the platform does; exits 1 when refused."""
    with session_scope() as session:
        check = passes_service.verify_at_gate(
            session,
            actor=Principal.system(),
            token=token,
            gate_ref=gate,
            direction=direction,
            public_keys=_signer().public_keys(),
        )
        decision, reason = check.decision, check.reason
    if as_json:
        console.print_json(json.dumps({"decision": decision, "reason": reason}))
    else:
        label = "[green]放行 ok[/green]" if decision == "ok" else f"[red]拒绝 refused: {reason}[/red]"
        console.print(label)
    if decision != "ok":
        raise typer.Exit(1)

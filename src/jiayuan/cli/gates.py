"""`jiayuan gates …`: gates with their devices, overnight vehicles, pass material for readers."""

from __future__ import annotations

import json

import typer

from jiayuan.access.service import reports
from jiayuan.cli.common import AS_HELP, console, operator, session_scope

app = typer.Typer(help="出入口 Gates and their devices.", no_args_is_help=True)


@app.command("list")
def list_gates(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List every gate with its compound and devices."""
    with session_scope() as session:
        gates = reports.list_gates(session, actor=operator(session, as_user))
    if as_json:
        console.print_json(json.dumps([g.model_dump() for g in gates], ensure_ascii=False))
        return
    from rich.table import Table

    table = Table("编号", "代码", "名称", "小区", "设备")
    for gate in gates:
        table.add_row(
            str(gate.id), gate.code, gate.name, gate.compound_name, ", ".join(d.id for d in gate.devices)
        )
    console.print(table)


@app.command("push-keys")
def push_keys() -> None:
    """Send the pass keys and the revocation list to every QR reader over the command topic."""
    import threading

    from jiayuan.access.pass_tokens import signer_for
    from jiayuan.access.service import passes
    from jiayuan.accounts.service.audit import record_audit
    from jiayuan.broker_link import background_client
    from jiayuan.cli.common import err_console, os_operator, settings
    from jiayuan.devices import commands
    from jiayuan.devices.protocol import Topics

    config = settings()
    if not config.mqtt_url:
        err_console.print("[red]未配置 JIAYUAN_MQTT_URL[/red]")
        raise typer.Exit(2)
    signer = signer_for(config.pass_signing_key.get_secret_value(), config.pass_key_id)
    with session_scope() as session:
        readers = passes.qr_readers(session)
        material = {r: passes.pass_material(session, signer=signer, reader=r) for r in readers}
        # Audited before sending: a push that fails half-way still says who started it.
        record_audit(
            session,
            actor=os_operator(),
            action="keys.push",
            target_type="device",
            detail={"readers": len(readers)},
        )
    client = background_client(config.mqtt_url, name="jiayuan-push-keys")
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.loop_start()
    if not connected.wait(10):
        client.loop_stop()
        err_console.print("[red]10 秒内未能连上 MQTT 服务：检查 JIAYUAN_MQTT_URL 和 Mosquitto[/red]")
        raise typer.Exit(1)
    topics = Topics(config.mqtt_topic_prefix)
    try:
        for device_id in readers:
            for type, payload in material[device_id].items():
                client.publish(
                    topics.commands(device_id), commands.build(device_id, type, payload), qos=1
                ).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()
    console.print(f"已向 {len(readers)} 个读头下发公钥和各自社区的吊销名单")

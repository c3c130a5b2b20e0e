"""`jiayuan broker …`: the production broker's accounts (Mosquitto's dynamic security plugin)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jiayuan.broker.config import AUTOSAVE_CHANGES
from jiayuan.cli.common import console, err_console, settings
from jiayuan.settings import Settings

app = typer.Typer(help="MQTT 服务账户 Broker accounts (Mosquitto dynamic security).", no_args_is_help=True)


def _platform_url(config: Settings) -> str:
    if not config.mqtt_url:
        err_console.print("[red]未配置 JIAYUAN_MQTT_URL（mqtt://平台账户:口令@主机:端口）[/red]")
        raise typer.Exit(2)
    return config.mqtt_url


@app.command("init")
def init(
    file: Path = typer.Option(..., "--file", help="动态安全插件的 JSON 文件 (plugin_opt_config_file)."),
    force: bool = typer.Option(False, "--force", help="覆盖已有文件（设备账户随后用 sync 重建）."),
) -> None:
    """Write the plugin's file: the platform account of JIAYUAN_MQTT_URL and its role, no devices yet."""
    from jiayuan.broker import dynsec
    from jiayuan.broker_link import parse_mqtt_url

    target = parse_mqtt_url(_platform_url(settings()))
    if not target.username or not target.password:
        err_console.print("[red]JIAYUAN_MQTT_URL 须带平台账户和口令：mqtt://用户名:口令@主机:端口[/red]")
        raise typer.Exit(2)
    if file.exists() and not force:
        err_console.print(f"[red]{file} 已存在；确认要重建请加 --force[/red]")
        raise typer.Exit(1)
    file.parent.mkdir(parents=True, exist_ok=True)
    config = dynsec.initial_config(username=target.username, password=target.password)
    file.write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    file.chmod(0o600)
    console.print(f"已写入 {file}：平台账户 {target.username}；启动 Mosquitto 后运行 jiayuan broker sync")


def push_devices(config: Settings, device_ids: list[str] | None, *, force: bool = False) -> int:
    """Push device logins to the broker now, reported on stderr; returns how many failed (0 when off)."""
    if not config.mqtt_url or not config.mqtt_dynsec:
        return 0
    from jiayuan.broker.admin import BrokerAdmin
    from jiayuan.broker.sync import sync_devices
    from jiayuan.db.session import make_engine, make_sessionmaker
    from jiayuan.devices.service.credentials import sealer_for

    engine = make_engine(config.database_url)
    admin = BrokerAdmin(config.mqtt_url).start()
    try:
        results = sync_devices(
            make_sessionmaker(engine),
            admin,
            sealer=sealer_for(config.secret_key.get_secret_value()),
            prefix=config.mqtt_topic_prefix,
            device_ids=device_ids,
            force=force,
        )
    finally:
        admin.close()
        engine.dispose()
    failed = 0
    for result in results:
        login = result.login
        if result.error:
            failed += 1
            err_console.print(f"[red]{login.device_id}: 未能更新 {result.error}[/red]")
        elif login.password is None:
            err_console.print(f"{login.device_id}: 拒绝登录 refused（{login.why_refused}）")
        else:
            err_console.print(f"{login.device_id}: 可登录 allowed（令牌 #{login.token_id}）")
    return failed


@app.command("config")
def config(
    var_dir: Path = typer.Option(..., "--dir", help="Mosquitto 的数据目录（持久化、日志、动态安全文件）."),
    port: int = typer.Option(1883, "--port", min=1, max=65535, help="监听端口."),
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址（设备在别的主机上时填 0.0.0.0）."),
    user: str = typer.Option("", "--user", help="Mosquitto 运行所用的系统账户（默认当前账户）."),
    plugin: str = typer.Option("", "--plugin", help="mosquitto_dynamic_security.so 的路径（默认自动查找）."),
    autosave_changes: int = typer.Option(
        AUTOSAVE_CHANGES,
        "--autosave-changes",
        min=1,
        help="每累计多少条变化落盘一次（崩溃时最多丢这么多条）.",
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="写入此文件（默认打印到标准输出）."),
) -> None:
    """Write Mosquitto's configuration: no anonymous clients, dynamic security, the packet limit."""
    from jiayuan.broker.config import BrokerConfig, dynsec_plugin

    found = plugin or dynsec_plugin()
    if not found:
        err_console.print(
            "[red]找不到 mosquitto_dynamic_security.so：安装 Mosquitto ≥ 2.0，或用 --plugin 指明路径[/red]"
        )
        raise typer.Exit(2)
    text = BrokerConfig(
        var_dir=str(var_dir.resolve()),
        port=port,
        host=host,
        user=user,
        plugin=found,
        max_packet_bytes=settings().mqtt_max_packet_bytes,
        autosave_changes=autosave_changes,
    ).render()
    if output is None:
        console.out(text, end="", highlight=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    err_console.print(f"已写入 {output}；启动：mosquitto -c {output}")


@app.command("sync")
def sync(
    force: bool = typer.Option(False, "--force", help="重设每个设备的口令（已连接的设备会断开重连）."),
) -> None:
    """Push every device's login: its newest live token as password, or refused when disabled."""
    config = settings()
    _platform_url(config)
    if push_devices(config, None, force=force):
        raise typer.Exit(1)

"""Mosquitto's dynamic security plugin: the platform's accounts and roles, and the control commands.

Roles:
- `jiayuan-platform`: publish, subscribe and receive everything, and administer the plugin over
  `$CONTROL/dynamic-security/v1` (how the platform keeps device logins in step with tokens).
- `jiayuan-device-{id}`, one per device: publish its own `events`, `status`, `snapshots/+` and `live`,
  subscribe to and receive its own `commands`; nothing else. (Mosquitto 2.0.11's plugin does not
  expand `%c`/`%u` in ACLs, so each device gets literal topics in a role of its own.)
Anything not granted is refused: anonymous clients by `allow_anonymous false`, the rest by the
default ACL access below.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from jiayuan.devices.protocol import Topics

DEVICE_ROLE = "jiayuan-device"
PLATFORM_ROLE = "jiayuan-platform"
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response"
_ITERATIONS = 101  # what mosquitto_ctrl and the plugin itself use


def _acl(acltype: str, topic: str, *, allow: bool = True) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "allow": allow}


def device_role(device_id: str) -> str:
    """The role holding one device's topics."""
    return f"{DEVICE_ROLE}-{device_id}"


def device_acls(prefix: str, device_id: str) -> list[dict[str, Any]]:
    """A device's own topics only."""
    topics = Topics(prefix)
    commands = topics.commands(device_id)
    return [
        _acl("publishClientSend", topics.events(device_id)),
        _acl("publishClientSend", topics.status(device_id)),
        _acl("publishClientSend", topics.snapshot(device_id, "+")),
        _acl("publishClientSend", topics.live(device_id)),  # a camera worker's annotated frames (QoS 0)
        _acl("subscribeLiteral", commands),
        _acl("publishClientReceive", commands),
        _acl("unsubscribeLiteral", commands),
    ]


def platform_acls() -> list[dict[str, Any]]:
    """Everything, `$CONTROL/dynamic-security/#` included (`#` alone does not match `$` topics)."""
    acls = [
        _acl(kind, topic)
        for topic in ("#", "$CONTROL/dynamic-security/#")
        for kind in ("publishClientSend", "publishClientReceive", "subscribePattern", "unsubscribePattern")
    ]
    acls += [_acl("publishClientReceive", "$SYS/#"), _acl("subscribePattern", "$SYS/#")]
    return acls


def password_fields(password: str, *, salt: bytes | None = None) -> dict[str, Any]:
    """The plugin's stored form of a password: PBKDF2-SHA512, base64 hash and salt, iterations."""
    salt = salt or base64.b64encode(os.urandom(12))
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), base64.b64decode(salt), _ITERATIONS)
    return {
        "password": base64.b64encode(digest).decode("ascii"),
        "salt": salt.decode("ascii"),
        "iterations": _ITERATIONS,
    }


def initial_config(*, username: str, password: str) -> dict[str, Any]:
    """The plugin's JSON file for a new broker: the platform's account and the two roles, no devices.

    Devices are added afterwards over the control topic (`jiayuan broker sync`, then automatically).
    """
    return {
        "clients": [
            {
                "username": username,
                "textName": "Jiayuan platform",
                **password_fields(password),
                "roles": [{"rolename": PLATFORM_ROLE}],
            }
        ],
        "groups": [],
        "roles": [
            {"rolename": PLATFORM_ROLE, "textName": "平台 platform", "acls": platform_acls()},
        ],
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
    }


def create_device(device_id: str, password: str, *, prefix: str) -> list[dict[str, Any]]:
    """Commands creating a device's role and client (answered "already exists" when it has them).

    Neither disconnects anyone. The client id is bound to the username: username = client id = device id.
    """
    role = device_role(device_id)
    return [
        {"command": "createRole", "rolename": role, "acls": device_acls(prefix, device_id)},
        {
            "command": "createClient",
            "username": device_id,
            "password": password,
            "clientid": device_id,
            "roles": [{"rolename": role}],
        },
    ]


def set_password(device_id: str, password: str) -> list[dict[str, Any]]:
    """Change a device's password; the plugin disconnects the device (it must sign in anew)."""
    return [{"command": "setClientPassword", "username": device_id, "password": password}]


def enable(device_id: str) -> list[dict[str, Any]]:
    """Let the device sign in (does not disconnect anyone)."""
    return [{"command": "enableClient", "username": device_id}]


def disable(device_id: str) -> list[dict[str, Any]]:
    """Refuse the device's sign-ins; the plugin disconnects it at once."""
    return [{"command": "disableClient", "username": device_id}]

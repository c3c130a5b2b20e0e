"""Which gate cameras a principal may watch live (the stream and snapshot relay lives in web/)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiayuan.devices import policies, repository
from jiayuan.devices.schemas import HealthReasonOut
from jiayuan.devices.service.inspection import health_reasons
from jiayuan.kernel.errors import NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo

CAMERA_KINDS = frozenset({"cam", "camera", "camera_360", "plate_camera"})


def visible_cameras(session: Session, *, actor: Principal) -> list[DeviceInfo]:
    """The enabled cameras whose gate lies in the actor's scope."""
    policies.require_can_view_cameras(actor)
    return [
        d
        for d in directory.all_devices(session)
        if d.kind in CAMERA_KINDS and d.enabled and policies.device_visible(actor, d)
    ]


def camera_for(session: Session, *, actor: Principal, device_id: str) -> DeviceInfo:
    """One camera the actor may watch; one outside the scope is as unknown as a missing one."""
    policies.require_can_view_cameras(actor)
    device = directory.devices_by_ids(session, [device_id]).get(device_id)
    if device is None or device.kind not in CAMERA_KINDS or not policies.device_visible(actor, device):
        raise NotFound("没有编号为 {device} 的摄像机", field="device_id", device=device_id)
    return device


def degraded_cameras(
    session: Session, *, actor: Principal, cameras: list[DeviceInfo]
) -> dict[str, list[HealthReasonOut]]:
    """Of these cameras (as `visible_cameras` gave them), those whose worker says it runs degraded,
    with its reasons."""
    policies.require_can_view_cameras(actor)
    rows = repository.statuses(session, [c.id for c in cameras])
    found = {device_id: health_reasons(row) for device_id, row in rows.items()}
    return {device_id: reasons for device_id, reasons in found.items() if reasons}

"""The little the access rules need to know about a gate."""

from __future__ import annotations

from dataclasses import dataclass

from jiayuan.registry.directory import DeviceInfo, GateInfo


@dataclass(frozen=True)
class GateRef:
    """A gate with its compound and community."""

    id: int
    name: str
    compound_id: int
    community_id: int

    @classmethod
    def of_gate(cls, gate: GateInfo) -> GateRef:
        """From a registry gate."""
        return cls(gate.id, gate.name, gate.compound_id, gate.community_id)

    @classmethod
    def of_device(cls, device: DeviceInfo) -> GateRef | None:
        """The gate a device stands at, if it stands at one."""
        if device.gate_id is None or device.compound_id is None or device.community_id is None:
            return None
        return cls(device.gate_id, device.gate_name or "", device.compound_id, device.community_id)

"""The shape of the demo community: streets, compounds, buildings, units, floors, gates, grids."""

from __future__ import annotations

from dataclasses import dataclass

CITY = "巩义市"
# 巩义市's administrative division code: the first six digits of locally issued ID numbers.
REGION_CODE = "410181"
MAIN_STREET = "紫荆路街道"
MAIN_COMMUNITY = "紫荆路社区"
SHOP_STREET = "杜甫路街道"
SHOP_COMMUNITY = "桐本南路社区"


@dataclass(frozen=True)
class CompoundPlan:
    """One compound: its code (device ids start with it), buildings and how they are built."""

    code: str
    name: str
    address: str
    built: int
    buildings: int
    units: int
    floors: int
    flats_per_floor: int
    occupancy: float
    gate: str

    def building_names(self) -> list[str]:
        """`1号楼`, `2号楼` …"""
        return [f"{number}号楼" for number in range(1, self.buildings + 1)]

    def unit_names(self) -> list[str]:
        """`1单元`, `2单元` …"""
        return [f"{number}单元" for number in range(1, self.units + 1)]

    def rooms(self) -> list[str]:
        """Room numbers of one unit: floor then flat (`101`, `102`, … `1802`)."""
        return [
            f"{floor}{flat:02d}"
            for floor in range(1, self.floors + 1)
            for flat in range(1, self.flats_per_floor + 1)
        ]


# 46 buildings: the newer high-rise compounds have more flats per building than the old walk-ups.
COMPOUNDS: tuple[CompoundPlan, ...] = (
    CompoundPlan("jjhy", "锦江花园", "巩义市紫荆路 88 号", 2012, 12, 2, 18, 2, 0.97, "东门"),
    CompoundPlan("sh1", "森海一期", "巩义市紫荆路 126 号", 2006, 10, 2, 11, 2, 0.98, "南门"),
    CompoundPlan("sh2", "森海二期", "巩义市紫荆路 128 号", 2015, 9, 2, 18, 2, 0.96, "北门"),
    CompoundPlan("hyjy", "鸿运嘉苑", "巩义市桐本路 21 号", 2009, 8, 3, 11, 2, 0.98, "正门"),
    CompoundPlan("wy", "外运小区", "巩义市紫荆路 35 号", 1996, 7, 3, 6, 2, 0.99, "西门"),
)

# Which buildings each grid covers: (grid name, compound code, first building, last building).
GRIDS: tuple[tuple[str, str, int, int], ...] = (
    ("第一网格", "jjhy", 1, 6),
    ("第二网格", "jjhy", 7, 12),
    ("第三网格", "sh1", 1, 5),
    ("第四网格", "sh1", 6, 10),
    ("第五网格", "sh2", 1, 5),
    ("第六网格", "sh2", 6, 9),
    ("第七网格", "hyjy", 1, 8),
    ("第八网格", "wy", 1, 7),
)

# Every gate carries the same five devices; the id suffix is part of the device id (`jjhy-gate1-qr`).
# What the night patrol checks on each gate camera.
PATROL_CHECKLIST = ("门口无人长时间逗留", "道闸与围墙无异常", "消防通道畅通", "画面清晰")
GATE_DEVICES: tuple[tuple[str, str, str], ...] = (
    ("qr", "qr_reader", "二维码读头"),
    ("plate", "plate_camera", "车牌识别相机"),
    ("cam360", "camera_360", "360°全景相机"),
    ("sos", "sos_button", "一键报警按钮"),
    ("speaker", "speaker", "广播音箱"),
)


def compound(code: str) -> CompoundPlan:
    """The compound with this code."""
    return next(plan for plan in COMPOUNDS if plan.code == code)

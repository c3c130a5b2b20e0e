"""Tables of the community registry (社区底数).

Personal data: ID numbers and phones are stored only encrypted (AES-GCM), beside a keyed hash
for exact lookup and the last four characters for tail search (the same four the masked
display shows). Nothing here holds a plaintext ID number.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiayuan.db.base import Base, StringList, TimestampMixin


class Street(Base):
    """街道: the sub-district office above the communities."""

    __tablename__ = "streets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    city: Mapped[str] = mapped_column(String(64), default="")

    communities: Mapped[list[Community]] = relationship(back_populates="street")


class Community(Base):
    """社区: the unit a community office runs."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("streets.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))

    street: Mapped[Street] = relationship(back_populates="communities")
    compounds: Mapped[list[Compound]] = relationship(back_populates="community")


class Compound(Base):
    """小区/楼院: a gated compound or courtyard of buildings."""

    __tablename__ = "compounds"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    address: Mapped[str] = mapped_column(String(128), default="")

    community: Mapped[Community] = relationship(back_populates="compounds")
    buildings: Mapped[list[Building]] = relationship(back_populates="compound")
    gates: Mapped[list[Gate]] = relationship(back_populates="compound")


class Building(Base):
    """楼栋."""

    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("compound_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    floors: Mapped[int] = mapped_column(default=6)

    compound: Mapped[Compound] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building")


class Unit(Base):
    """单元: a stairway of a building."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("building_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))

    building: Mapped[Building] = relationship(back_populates="units")
    households: Mapped[list[Household]] = relationship(back_populates="unit")


class Household(Base):
    """户: a flat and the people registered in it."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("unit_id", "room"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    room: Mapped[str] = mapped_column(String(16))

    unit: Mapped[Unit] = relationship(back_populates="households")
    residents: Mapped[list[Resident]] = relationship(back_populates="household")
    vehicles: Mapped[list[Vehicle]] = relationship(back_populates="household")


class Resident(TimestampMixin, Base):
    """居民: one person registered in a household."""

    __tablename__ = "residents"
    __table_args__ = (
        # One GIN index over the community, the name substrings and the pinyin prefixes (btree_gin
        # on PostgreSQL): a community's staff searching a name or its pinyin get one index scan
        # instead of intersecting the matches with a bitmap of the community's ~50,000 residents.
        Index(
            "ix_residents_community_name_search",
            "community_id",
            "name_grams",
            "name_keys",
            postgresql_using="gin",
        ),
        # A community's tail search is one range of these instead of intersecting ~50,000 rows of
        # the community with the matches (prefix searches gained nothing from such pairs).
        Index("ix_residents_community_phone_tail", "community_id", "phone_tail"),
        Index("ix_residents_community_id_tail", "community_id", "id_tail"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    # Where the household sits, copied onto the resident (registry.service.resident_columns) so
    # that scoped search is a condition on this table instead of a join through the tree.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    name: Mapped[str] = mapped_column(String(32), index=True)
    name_pinyin: Mapped[str] = mapped_column(String(128))
    name_initials: Mapped[str] = mapped_column(String(32))
    # Every substring up to 4 characters of the name without its dots: a text array with a GIN
    # index on PostgreSQL, so that "name contains 刘莹" is an index lookup at millions of residents
    # (a JSON list on SQLite).
    name_grams: Mapped[list[str]] = mapped_column(StringList, default=list)
    # Every prefix of the pinyin and initials of every reading of the name (registry.names).
    name_keys: Mapped[list[str]] = mapped_column(StringList(32), default=list)
    gender: Mapped[str] = mapped_column(String(2))
    birth_date: Mapped[date] = mapped_column(Date)
    id_number_cipher: Mapped[str] = mapped_column(String(128))
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_tail: Mapped[str] = mapped_column(String(4), index=True)
    phone_cipher: Mapped[str | None] = mapped_column(String(128))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_tail: Mapped[str | None] = mapped_column(String(4), index=True)
    relation: Mapped[str] = mapped_column(String(16))
    residence_type: Mapped[str] = mapped_column(String(8))
    moved_in_on: Mapped[date | None] = mapped_column(Date)
    moved_out_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(255), default="")

    household: Mapped[Household] = relationship(back_populates="residents")
    tags: Mapped[list[ResidentTag]] = relationship(
        back_populates="resident", cascade="all, delete-orphan", lazy="selectin"
    )


class ResidentTag(Base):
    """A care or attention tag on a resident (独居老人, 高龄, 低保 …)."""

    __tablename__ = "resident_tags"
    __table_args__ = (UniqueConstraint("resident_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(16), index=True)

    resident: Mapped[Resident] = relationship(back_populates="tags")


class Vehicle(Base):
    """车辆: a resident vehicle, by normalised plate."""

    __tablename__ = "vehicles"
    __table_args__ = (
        Index("ix_vehicles_plate_prefix", "plate", postgresql_ops={"plate": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Normalised: upper case, no separators (`豫A12345`), see registry.search.normalise_plate.
    plate: Mapped[str] = mapped_column(String(16), unique=True)
    color: Mapped[str] = mapped_column(String(8))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(32), default="")

    household: Mapped[Household] = relationship(back_populates="vehicles")


class ShopStreet(Base):
    """A commercial street (园丁街) with its length and width."""

    __tablename__ = "shop_streets"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    length_m: Mapped[int]
    width_m: Mapped[int]


class StreetSection(Base):
    """A section (段) of a commercial street."""

    __tablename__ = "street_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("shop_streets.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))


class Shop(Base):
    """商铺: a shop on a commercial street, with its operator."""

    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("street_sections.id"), index=True)
    number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    business: Mapped[str] = mapped_column(String(32))
    operator_name: Mapped[str] = mapped_column(String(32))
    operator_phone_cipher: Mapped[str | None] = mapped_column(String(128))
    operator_phone_tail: Mapped[str | None] = mapped_column(String(4))


grid_buildings = Table(
    "grid_buildings",
    Base.metadata,
    Column("grid_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
    Column("building_id", ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True),
)


class Grid(Base):
    """网格: the buildings one grid worker answers for."""

    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    worker_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    buildings: Mapped[list[Building]] = relationship(secondary=grid_buildings, lazy="selectin")


class Gate(Base):
    """出入口: a gate of a compound."""

    __tablename__ = "gates"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))

    compound: Mapped[Compound] = relationship(back_populates="gates")
    devices: Mapped[list[Device]] = relationship(back_populates="gate")


class Device(Base):
    """设备 at a gate: QR reader, plate camera, 360° camera, SOS button, speaker.

    The id is the device's own MQTT client id / username (e.g. `jjhy-gate1-qr`).
    """

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gate_id: Mapped[int | None] = mapped_column(ForeignKey("gates.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    gate: Mapped[Gate | None] = relationship(back_populates="devices")

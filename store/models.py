"""SQLAlchemy models of the stored layers; geometries are WGS84 (SRID 4326)."""

from __future__ import annotations

from typing import ClassVar

from geoalchemy2 import Geometry
from sqlalchemy import Float, Integer, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every SIGAP table."""

    # Every model maps one Table (no inheritance mapping): Core statements over `Model.__table__` type-check.
    __table__: ClassVar[Table]


class Kabupaten(Base):
    """A kabupaten/kota of Kalimantan Tengah."""

    __tablename__ = "kabupaten"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kode: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    nama: Mapped[str] = mapped_column(String(120), nullable=False)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)


class Kecamatan(Base):
    """A kecamatan of Barito Selatan."""

    __tablename__ = "kecamatan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kode: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    nama: Mapped[str] = mapped_column(String(120), nullable=False)
    kabupaten_kode: Mapped[str] = mapped_column(String(16), nullable=False)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)


class Desa(Base):
    """A desa or kelurahan of Barito Selatan."""

    __tablename__ = "desa"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kode: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    nama: Mapped[str] = mapped_column(String(120), nullable=False)
    jenis: Mapped[str] = mapped_column(String(16), nullable=False)
    kecamatan_kode: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    kecamatan: Mapped[str] = mapped_column(String(120), nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)


class River(Base):
    """A river centre line (hydrography layer for the map and the locator)."""

    __tablename__ = "river"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(120))
    waterway: Mapped[str] = mapped_column(String(32), nullable=False, default="river")
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    geom = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=True), nullable=False)

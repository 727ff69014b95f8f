"""The stored travel network: its lines (derived, OSM or file) and a version row that says when it changed.

The graph itself (``geo.network.TravelNetwork``) is never stored: every process builds it from these lines
and rebuilds it when ``network_state.token`` changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import Boolean, CheckConstraint, Float, Integer, String, delete, func, insert, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.crs import WGS84, project_geometries
from geo.layers import Layers
from geo.network import SOURCES, TravelNetwork, build_network, derive_network
from geo.times import utcnow
from store.accounts import record_audit
from store.models import Base
from store.types import UTCDateTime

# One transaction-scoped advisory lock key so two workers starting together derive the network once.
_PG_LOCK_KEY = 112_0004


class NetworkLine(Base):
    """One line of the travel network (road, river, canal, landing, ferry) in WGS84."""

    __tablename__ = "network_line"
    __table_args__ = (CheckConstraint("source IN ('derived','osm','file')", name="ck_network_line_source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    oneway: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    length_factor: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    geom = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=True), nullable=False)


class NetworkState(Base):
    """The single row saying which network is stored: version counter, change token, main source."""

    __tablename__ = "network_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    token: Mapped[str] = mapped_column(String(32), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    lines: Mapped[int] = mapped_column(Integer, nullable=False)
    description: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


@dataclass(frozen=True)
class LineSet:
    """Network lines in WGS84 with per-line attributes, ready to store or to build a graph from."""

    lines: np.ndarray
    kind: np.ndarray
    oneway: np.ndarray
    speed_kmh: np.ndarray  # NaN = the class speed
    length_factor: np.ndarray
    source: np.ndarray
    name: np.ndarray

    def __len__(self) -> int:
        return len(self.lines)

    def take(self, mask: np.ndarray) -> LineSet:
        """The subset of lines where mask is true."""
        return LineSet(**{k: v[mask] for k, v in vars(self).items()})

    @staticmethod
    def concat(a: LineSet, b: LineSet) -> LineSet:
        """Both sets, one after the other."""
        return LineSet(**{k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in vars(a)})

    def build(self) -> TravelNetwork:
        """The travel-time graph of these lines (ValueError when no usable line remains)."""
        return build_network(
            lines=self.lines,
            kind=self.kind,
            oneway=self.oneway,
            speed_kmh=self.speed_kmh,
            source=self.source,
            crs=WGS84,
            length_factor=self.length_factor,
            name=self.name,
        )


@dataclass(frozen=True)
class StoredState:
    """Which network the database holds."""

    version: int
    token: str
    source: str
    lines: int
    updated_at: datetime | None


def derived_lines(layers: Layers) -> LineSet:
    """The approximate default network derived from the desa and the rivers, in WGS84, source 'derived'."""
    raw = derive_network(desa=layers.desa.geometry, desa_codes=layers.desa.code, river_lines=layers.rivers.geometry)
    geoms = project_geometries(np.asarray(raw["lines"], dtype=object), src=raw["crs"], dst=WGS84)
    n = len(geoms)
    return LineSet(
        lines=geoms,
        kind=np.asarray(raw["kind"], dtype=object),
        oneway=np.asarray(raw["oneway"], dtype=bool),
        speed_kmh=np.full(n, np.nan),
        length_factor=np.asarray(raw["length_factor"], dtype=float),
        source=np.full(n, "derived", dtype=object),
        name=np.asarray(raw["name"], dtype=object),
    )


def read_state(session: Session) -> StoredState | None:
    """The stored network's version row, or None when nothing is stored (always read from the database)."""
    row = session.execute(
        select(
            NetworkState.version, NetworkState.token, NetworkState.source, NetworkState.lines, NetworkState.updated_at
        ).where(NetworkState.id == 1)
    ).first()
    return None if row is None else StoredState(*row)


def read_lines(session: Session, *, bbox: tuple[float, float, float, float] | None = None) -> LineSet:
    """The stored lines (optionally only those intersecting a lon/lat bbox) as a LineSet."""
    stmt = select(
        NetworkLine.kind,
        NetworkLine.oneway,
        NetworkLine.speed_kmh,
        NetworkLine.length_factor,
        NetworkLine.source,
        NetworkLine.name,
        func.ST_AsBinary(NetworkLine.geom),
    ).order_by(NetworkLine.id)
    if bbox is not None:
        stmt = stmt.where(func.ST_Intersects(NetworkLine.geom, func.ST_GeomFromText(shapely.box(*bbox).wkt, 4326)))
    rows = session.execute(stmt).all()
    cols = list(zip(*rows, strict=True)) if rows else [()] * 7
    return LineSet(
        lines=shapely.from_wkb(np.array([bytes(b) for b in cols[6]], dtype=object)).astype(object)
        if rows
        else np.zeros(0, dtype=object),
        kind=np.array(cols[0], dtype=object),
        oneway=np.array(cols[1], dtype=bool),
        speed_kmh=np.array([np.nan if s is None else s for s in cols[2]], dtype=float),
        length_factor=np.array(cols[3], dtype=float),
        source=np.array(cols[4], dtype=object),
        name=np.array(cols[5], dtype=object),
    )


def main_source(sources: np.ndarray) -> str:
    """'osm' or 'file' when any imported line is present, else 'derived'."""
    present = set(np.unique(np.asarray(sources, dtype=str)).tolist())
    for s in ("osm", "file"):
        if s in present:
            return s
    return "derived"


def _lock(session: Session) -> None:
    """Serialise network writers (PostGIS: advisory lock; SpatiaLite: BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def replace_network(
    session: Session, lines: LineSet, *, actor: str | None, description: str | None = None
) -> StoredState:
    """Replace every stored line by ``lines`` in the caller's transaction and bump the version.

    The graph is built first, so a set with no usable line raises ValueError before anything is touched.
    """
    if len(lines) == 0:
        raise ValueError("Tidak ada garis yang bisa dipakai / no usable lines in the input")
    bad = np.setdiff1d(np.unique(lines.source.astype(str)), SOURCES)
    if len(bad):
        raise ValueError(f"Sumber tidak dikenal / Unknown source: {bad.tolist()}")
    try:
        lines.build()  # refuses unusable input before anything is deleted
    except shapely.errors.GEOSException as exc:
        raise ValueError(f"Geometri tidak bisa dipakai / unusable geometry: {exc}") from exc
    _lock(session)
    before = read_state(session)
    session.execute(delete(NetworkLine))
    wkt = shapely.to_wkt(lines.lines, rounding_precision=8, trim=True)
    speed = [None if not np.isfinite(s) else float(s) for s in lines.speed_kmh.tolist()]
    rows = [
        {
            "kind": k,
            "name": None if nm is None or nm == "" else str(nm)[:200],
            "oneway": bool(o),
            "speed_kmh": s,
            "length_factor": float(f),
            "source": str(src),
            "geom": f"SRID=4326;{g}",
        }
        for k, nm, o, s, f, src, g in zip(
            lines.kind.tolist(),
            lines.name.tolist(),
            lines.oneway.tolist(),
            speed,
            lines.length_factor.tolist(),
            lines.source.tolist(),
            wkt.tolist(),
            strict=True,
        )
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(NetworkLine), rows[start : start + 5000])
    state = session.get(NetworkState, 1)
    version = (before.version if before else 0) + 1
    source = main_source(lines.source)
    if state is None:
        state = NetworkState(id=1)
        session.add(state)
    state.version, state.token, state.source, state.lines = version, uuid.uuid4().hex, source, len(lines)
    state.description, state.updated_at, state.updated_by = description, utcnow(), actor
    record_audit(
        session,
        actor=actor,
        action="network_replace",
        entity="network",
        entity_id=1,
        before=None if before is None else {"version": before.version, "source": before.source, "lines": before.lines},
        after={"version": version, "source": source, "lines": len(lines), "description": description},
    )
    session.flush()
    return StoredState(version, state.token, source, len(lines), state.updated_at)


def ensure_default_network(session: Session, layers: Layers) -> StoredState:
    """Store the derived default network when no network is stored yet; return the stored state."""
    _lock(session)
    state = read_state(session)
    has_lines = session.scalar(select(func.count()).select_from(NetworkLine)) or 0
    if state is not None and has_lines:
        return state
    return replace_network(
        session,
        derived_lines(layers),
        actor=None,
        description="Jaringan turunan dari batas desa dan sungai / derived from desa boundaries and the river",
    )


def imported_lineset(
    *,
    lines: np.ndarray,
    kind: np.ndarray,
    oneway: np.ndarray,
    speed_kmh: np.ndarray,
    name: np.ndarray,
    source: str,
    layers: Layers | None = None,
) -> tuple[LineSet, int]:
    """An imported set ready to store; with ``layers`` and no waterway in the import, the derived river and
    landings are kept (source 'derived') so boats still route. Returns the set and how many were kept."""
    if source not in ("osm", "file"):
        raise ValueError(f"Sumber impor harus osm atau file / import source must be osm or file, not {source!r}")
    n = len(lines)
    new = LineSet(
        lines=np.asarray(lines, dtype=object),
        kind=np.asarray(kind, dtype=object),
        oneway=np.asarray(oneway, dtype=bool),
        speed_kmh=np.asarray(speed_kmh, dtype=float),
        length_factor=np.ones(n),
        source=np.full(n, source, dtype=object),
        name=np.asarray(name, dtype=object),
    )
    has_water = bool(np.isin(new.kind.astype(str), ["river", "canal"]).any())
    if has_water or layers is None or n == 0:
        return new, 0
    derived = derived_lines(layers)
    water = derived.take(np.isin(derived.kind.astype(str), ["river", "landing"]))
    return LineSet.concat(new, water), len(water)

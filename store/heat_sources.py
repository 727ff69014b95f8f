"""Known static heat sources (industry, flares, zinc-roof clusters): the editable layer and the hotspot mark.

A detection inside a source is "sumber tetap": `hotspot.static_source_id` names the source. The mark is set at
ingest and recomputed for the detections around a source whenever the layer changes, so alerts and clusters
can leave those detections out by a plain column test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import shapely
from geoalchemy2 import Geometry
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import CheckConstraint, ColumnElement, Integer, String, Text, bindparam, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.errors import Conflict, InvalidInput, NotFound
from geo.floods import clean_polygon
from geo.heatsources import assign_sources, merged_bounds
from geo.times import iso_utc, utcnow
from store.accounts import record_audit
from store.hotspots import Hotspot
from store.models import Base
from store.types import UTCDateTime

KINDS = ("industri", "flare", "atap_seng", "lainnya")
ORIGINS = ("manual", "cek_lapangan", "impor")
KIND_LABELS = {"industri": "Industri / industry", "flare": "Suar gas / flare",
               "atap_seng": "Atap seng / zinc roofs", "lainnya": "Lainnya / other"}


class HeatSource(Base):
    """One static heat source polygon: name, kind, where it came from (drawn, a ground check, an import)."""

    __tablename__ = "heat_source"
    __table_args__ = (
        CheckConstraint("kind IN ('industri','flare','atap_seng','lainnya')", name="ck_heat_source_kind"),
        CheckConstraint("origin IN ('manual','cek_lapangan','impor')", name="ck_heat_source_origin"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    origin: Mapped[str] = mapped_column(String(16), nullable=False, default="manual")
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)

    @property
    def shape(self) -> shapely.Geometry:
        """The source as a shapely MultiPolygon (WGS84)."""
        return to_shape(self.geom)


class HeatSourceNotFoundError(NotFound):
    """No heat source with that id."""

    def __init__(self, source_id: int) -> None:
        super().__init__(f"Sumber panas {source_id} tidak ada", f"Heat source {source_id} does not exist",
                         field="source_id")


def _check(name: Any, kind: Any, origin: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("Nama wajib, 1-200 karakter", "name is required, 1-200 characters", field="name")
    if kind not in KINDS:
        raise InvalidInput(f"Jenis harus salah satu dari {', '.join(KINDS)}", f"kind must be one of {', '.join(KINDS)}",
                           field="kind")
    if origin not in ORIGINS:
        raise InvalidInput(f"Asal harus salah satu dari {', '.join(ORIGINS)}",
                           f"origin must be one of {', '.join(ORIGINS)}", field="origin")


def heat_source_public(src: HeatSource) -> dict[str, Any]:
    """A source as a GeoJSON Feature (HeatSourceFeature)."""
    return {
        "type": "Feature",
        "id": src.id,
        "geometry": shapely.geometry.mapping(src.shape),
        "properties": {
            "id": src.id, "name": src.name, "kind": src.kind, "kind_label": KIND_LABELS[src.kind],
            "origin": src.origin, "notes": src.notes, "version": src.version, "created_by": src.created_by,
            "created_at": iso_utc(src.created_at), "updated_at": iso_utc(src.updated_at),
        },
    }


def list_heat_sources(session: Session) -> list[HeatSource]:
    """Every static heat source, oldest first."""
    return list(session.scalars(select(HeatSource).order_by(HeatSource.id)))


def get_heat_source(session: Session, source_id: int) -> HeatSource:
    """One source or HeatSourceNotFoundError."""
    src = session.get(HeatSource, source_id)
    if src is None:
        raise HeatSourceNotFoundError(source_id)
    return src


def source_lookup(session: Session) -> tuple[list[int], list[shapely.Geometry]]:
    """Ids and geometries of every source, for marking detections at ingest."""
    rows = list_heat_sources(session)
    return [s.id for s in rows], [s.shape for s in rows]


def remark_hotspots(session: Session, *, bounds: tuple[float, float, float, float] | None,
                    also_marked: tuple[int, ...] = ()) -> int:
    """Recompute `static_source_id` for detections in `bounds` (and those marked with `also_marked`); changed rows."""
    if bounds is None and not also_marked:
        return 0
    conds: list[ColumnElement[bool]] = []
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        conds.append((func.ST_X(Hotspot.geom).between(x0, x1)) & (func.ST_Y(Hotspot.geom).between(y0, y1)))
    if also_marked:
        conds.append(Hotspot.static_source_id.in_(also_marked))
    rows = session.execute(
        select(Hotspot.id, func.ST_X(Hotspot.geom), func.ST_Y(Hotspot.geom), Hotspot.static_source_id)
        .where(or_(*conds))
    ).all()
    if not rows:
        return 0
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    lon = np.array([r[1] for r in rows], dtype=np.float64)
    lat = np.array([r[2] for r in rows], dtype=np.float64)
    before = np.array([-1 if r[3] is None else r[3] for r in rows], dtype=np.int64)
    src_ids, geoms = source_lookup(session)
    after = assign_sources(lon=lon, lat=lat, ids=src_ids, geometries=geoms)
    changed = np.flatnonzero(after != before)
    if len(changed):
        stmt = update(Hotspot.__table__).where(Hotspot.__table__.c.id == bindparam("hid")).values(
            static_source_id=bindparam("sid"))
        session.execute(stmt, [{"hid": int(ids[i]), "sid": None if after[i] < 0 else int(after[i])} for i in changed])
    return int(len(changed))


def create_heat_source(session: Session, *, geometry: shapely.Geometry, name: str, kind: str,
                       origin: str = "manual", notes: str | None = None, actor: str | None,
                       hub: Any = None) -> tuple[HeatSource, int]:
    """Store a source (polygon repaired or refused with why), mark the detections inside; (source, marked)."""
    _check(name, kind, origin)
    clean = clean_polygon(geometry)
    now = utcnow()
    src = HeatSource(name=name.strip(), kind=kind, origin=origin, notes=notes, version=1, created_by=actor,
                     created_at=now, updated_at=now, geom=from_shape(clean.geometry, srid=4326))
    session.add(src)
    session.flush()
    marked = remark_hotspots(session, bounds=merged_bounds([clean.geometry]))
    record_audit(session, actor=actor, action="heat_source.create", entity="heat_source", entity_id=src.id,
                 after={**heat_source_public(src)["properties"], "marked": marked})
    if hub is not None:
        hub.publish(session, "heat_source.updated", {"id": src.id, "changed": ["created"], "marked": marked})
    return src, marked


def update_heat_source(session: Session, source_id: int, *, changes: dict[str, Any], version: int | None,
                       actor: str | None, hub: Any = None) -> tuple[HeatSource, int]:
    """Edit name/kind/notes/geometry (version-checked); re-mark detections around the old and new shape."""
    src = get_heat_source(session, source_id)
    if version is not None and version != src.version:
        raise Conflict(f"Sumber panas sudah diubah orang lain (versi {version} usang); muat ulang",
                       f"The heat source was changed by someone else (version {version} is stale); reload",
                       field="version", current_version=src.version)
    old = src.shape
    name = changes.get("name", src.name)
    kind = changes.get("kind", src.kind)
    _check(name, kind, src.origin)
    new_geom = None
    if changes.get("geometry") is not None:
        new_geom = clean_polygon(changes["geometry"]).geometry
        src.geom = from_shape(new_geom, srid=4326)
    src.name, src.kind = name.strip(), kind
    if "notes" in changes:
        src.notes = changes["notes"]
    src.version += 1
    src.updated_at = utcnow()
    session.flush()
    marked = remark_hotspots(session, bounds=merged_bounds([old, new_geom]))
    record_audit(session, actor=actor, action="heat_source.update", entity="heat_source", entity_id=src.id,
                 after={**heat_source_public(src)["properties"], "marked": marked})
    if hub is not None:
        hub.publish(session, "heat_source.updated", {"id": src.id, "changed": sorted(changes), "marked": marked})
    return src, marked


def delete_heat_source(session: Session, source_id: int, *, actor: str | None, hub: Any = None) -> int:
    """Remove a source; its detections lose the mark (or take another source's). Returns rows re-marked."""
    src = get_heat_source(session, source_id)
    before = heat_source_public(src)["properties"]
    bounds = merged_bounds([src.shape])
    session.delete(src)
    session.flush()
    changed = remark_hotspots(session, bounds=bounds, also_marked=(source_id,))
    record_audit(session, actor=actor, action="heat_source.delete", entity="heat_source", entity_id=source_id,
                 before=before)
    if hub is not None:
        hub.publish(session, "heat_source.updated", {"id": source_id, "changed": ["deleted"], "marked": changed})
    return changed

"""Published feature collections (OGC API Features, layer exports): what each holds, and the queries.

Collections: hotspots, flood_zones, incidents, desa, kecamatan, kabupaten. Caller names and phone
numbers are never among the published properties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from geo.errors import InvalidInput, NotFound
from geo.times import as_utc, iso_utc
from store.floods import FloodZone
from store.hotspots import Hotspot
from store.incidents import Incident, IncidentNote
from store.models import Desa, Kabupaten, Kecamatan
from store.types import db_time

__all__ = [
    "COLLECTIONS",
    "Collection",
    "Interval",
    "collection_extent",
    "fetch_features",
    "filtered",
    "get_collection",
    "parse_interval",
]

Interval = tuple[datetime | None, datetime | None]
Bbox = tuple[float, float, float, float]
# Shown when a collection is empty: Kalimantan Tengah.
DEFAULT_BBOX = [110.7, -3.6, 116.0, 0.8]


@dataclass(frozen=True)
class Collection:
    """One published table: model, the columns that become properties, and its time column."""

    id: str
    title: str
    description: str
    model: Any
    properties: tuple[str, ...]
    time_column: str | None = None
    computed: tuple[str, ...] = ()  # properties made from other tables (an incident's call log)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every property of a feature, stored then computed, in the order exports write them."""
        return self.properties + self.computed


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "hotspots",
            "Titik panas FIRMS / FIRMS fire hotspots",
            "Deteksi api satelit NASA FIRMS di Kalimantan Tengah dan 10 km sekitar Barito Selatan / "
            "NASA FIRMS satellite fire detections in Kalimantan Tengah and 10 km around Barito Selatan",
            Hotspot,
            (
                "acq_time",
                "confidence",
                "frp",
                "brightness",
                "satellite",
                "instrument",
                "daynight",
                "source",
                "zone",
                "desa_code",
                "kecamatan_code",
                "kabupaten_code",
                "border_distance_m",
                "h3_7",
            ),
            "acq_time",
        ),
        Collection(
            "flood_zones",
            "Zona banjir / flood zones",
            "Zona banjir BPBD (is_proxy=true: perkiraan, bukan pengamatan) / BPBD flood zones "
            "(is_proxy=true: a stand-in, not observed)",
            FloodZone,
            ("name", "severity", "status", "observed_at", "source", "is_proxy", "notes", "version", "updated_at"),
            "observed_at",
        ),
        Collection(
            "incidents",
            "Kejadian 112 / 112 incidents",
            "Kejadian yang berlokasi, tanpa data pribadi penelepon / located incidents, without caller details",
            Incident,
            (
                "number",
                "category",
                "status",
                "description",
                "accuracy_m",
                "location_source",
                "desa_code",
                "kecamatan_code",
                "inside_regency",
                "version",
                "created_at",
                "updated_at",
                "priority",
                "disposition",
            ),
            "created_at",
            ("notes",),
        ),
        Collection(
            "desa",
            "Desa/kelurahan Barito Selatan",
            "93 desa/kelurahan (Kepmendagri)",
            Desa,
            ("kode", "nama", "jenis", "kecamatan_kode", "kecamatan"),
        ),
        Collection(
            "kecamatan", "Kecamatan Barito Selatan", "6 kecamatan", Kecamatan, ("kode", "nama", "kabupaten_kode")
        ),
        Collection("kabupaten", "Kabupaten/kota Kalimantan Tengah", "14 kabupaten/kota", Kabupaten, ("kode", "nama")),
    )
}


def get_collection(collection_id: str, *, field: str = "collection") -> Collection:
    """The collection of that id, or NotFound listing the ones there are."""
    coll = COLLECTIONS.get(collection_id)
    if coll is None:
        names = ", ".join(COLLECTIONS)
        raise NotFound(
            f"Koleksi '{collection_id}' tidak ada; pilih {names}",
            f"Collection '{collection_id}' does not exist; choose {names}",
            field=field,
        )
    return coll


def parse_interval(raw: str | None, *, field: str = "datetime") -> Interval | None:
    """An OGC `datetime`: an instant, 'start/end', '../end' or 'start/..' (ISO-8601; UTC when no zone)."""
    if raw is None or raw == "":
        return None

    def one(part: str) -> datetime | None:
        if part in ("..", ""):
            return None
        try:
            return as_utc(part)
        except ValueError as exc:
            raise InvalidInput(
                f"'{field}' tidak valid: {part} (ISO-8601, mis. 2023-09-14T00:00:00Z/..)",
                f"invalid '{field}': {part} (ISO-8601, e.g. 2023-09-14T00:00:00Z/..)",
                field=field,
            ) from exc

    if "/" in raw:
        a, b = raw.split("/", 1)
        start, end = one(a), one(b)
        if start and end and start > end:
            raise InvalidInput(f"'{field}': awal setelah akhir", f"'{field}': start after end", field=field)
        return start, end
    t = one(raw)
    return t, t


def filtered(stmt: Select, coll: Collection, *, dialect: str, bbox: Bbox | None, interval: Interval | None) -> Select:
    """Apply bbox (exact intersection) and datetime filters to a select over the collection's table."""
    model = coll.model
    if coll.id == "incidents":
        stmt = stmt.where(model.geom.is_not(None))
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        if dialect == "sqlite":
            stmt = stmt.where(func.ST_Intersects(model.geom, func.BuildMbr(x0, y0, x1, y1, 4326)) == 1)
        else:
            stmt = stmt.where(func.ST_Intersects(model.geom, func.ST_MakeEnvelope(x0, y0, x1, y1, 4326)))
    if interval is not None and coll.time_column:
        col = getattr(model, coll.time_column)
        start, end = interval
        if start is not None:
            stmt = stmt.where(col >= db_time(start))
        if end is not None:
            stmt = stmt.where(col <= db_time(end))
    return stmt


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def fetch_features(
    session: Session,
    coll: Collection,
    *,
    bbox: Bbox | None = None,
    interval: Interval | None = None,
    limit: int | None = None,
    offset: int = 0,
    fid: int | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> tuple[list[dict[str, Any]], int | None]:
    """GeoJSON features of a collection (ordered by id) and, when paging, the number matched.

    `where` adds clauses over the collection's table (the hotspot filters of the planner page's exports).
    Each geometry is an ``orjson.Fragment`` of GeoJSON text: written out as it is, never parsed back.
    """
    model = coll.model
    dialect = session.get_bind().dialect.name
    props = [getattr(model, p) for p in coll.properties]
    stmt = filtered(
        select(model.id, func.ST_AsBinary(model.geom), *props), coll, dialect=dialect, bbox=bbox, interval=interval
    ).where(*where)
    matched = None
    if fid is not None:
        stmt = stmt.where(model.id == fid)
    elif limit is not None:
        count = filtered(select(func.count(model.id)), coll, dialect=dialect, bbox=bbox, interval=interval).where(
            *where
        )
        matched = int(session.execute(count).scalar_one())
        stmt = stmt.order_by(model.id).limit(limit).offset(offset)
    else:
        stmt = stmt.order_by(model.id)
    rows = session.execute(stmt).all()
    if not rows:
        return [], matched
    wkb = np.array([bytes(r[1]) if r[1] is not None else None for r in rows], dtype=object)
    text_geoms = shapely.to_geojson(shapely.set_precision(shapely.from_wkb(wkb), 1e-7))
    features = [
        {
            "type": "Feature",
            "id": r[0],
            "geometry": orjson.Fragment(g) if g else None,
            "properties": {name: _plain(v) for name, v in zip(coll.properties, r[2:], strict=True)},
        }
        for r, g in zip(rows, text_geoms.tolist(), strict=True)
    ]
    if coll.id == "incidents":
        _add_call_logs(session, features)
    return features, matched


def _add_call_logs(session: Session, features: list[dict[str, Any]]) -> None:
    """Each incident's call log as one text property, oldest first: 'UTC time actor: text' joined by ' | '."""
    logs: dict[int, list[str]] = {f["id"]: [] for f in features}
    ids = list(logs)
    for start in range(0, len(ids), 5000):
        rows = session.execute(
            select(IncidentNote.incident_id, IncidentNote.at, IncidentNote.actor, IncidentNote.text)
            .where(IncidentNote.incident_id.in_(ids[start:start + 5000]))
            .order_by(IncidentNote.id)
        ).all()
        for incident_id, at, actor, text in rows:
            logs[incident_id].append(f"{iso_utc(at)} {actor or '-'}: {text}")
    for f in features:
        f["properties"]["notes"] = " | ".join(logs[f["id"]])


def collection_extent(session: Session, coll: Collection) -> dict[str, Any]:
    """The collection's spatial extent (CRS84 bbox) and, when it has a time column, its temporal interval."""
    model = coll.model
    if session.get_bind().dialect.name == "sqlite":
        ext = func.Extent(model.geom)
        row = session.execute(select(func.MbrMinX(ext), func.MbrMinY(ext), func.MbrMaxX(ext), func.MbrMaxY(ext))).one()
    else:
        ext = func.ST_Extent(model.geom)
        row = session.execute(select(func.ST_XMin(ext), func.ST_YMin(ext), func.ST_XMax(ext), func.ST_YMax(ext))).one()
    bbox = [round(float(v), 6) for v in row] if all(v is not None for v in row) else DEFAULT_BBOX
    out: dict[str, Any] = {"bbox": bbox, "interval": None}
    if coll.time_column:
        col = getattr(model, coll.time_column)
        lo, hi = session.execute(select(func.min(col), func.max(col))).one()
        out["interval"] = [iso_utc(lo), iso_utc(hi)]
    return out

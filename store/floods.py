"""Flood zones: polygons BPBD marks as flooded (imported, drawn, or the Barito floodplain proxy)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from geoalchemy2 import Geometry
from geoalchemy2.shape import from_shape, to_shape
from pyproj import CRS
from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.crs import WGS84, project_geometries
from geo.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from geo.floods import (
    DEFAULT_RULES,
    PROXY_NAME,
    PROXY_SOURCE,
    PROXY_WIDTH_M,
    CleanPolygon,
    FloodGeometryError,
    PolygonRules,
    affected_desa,
    barito_floodplain_proxy,
    clean_polygon,
    too_many_vertices,
    wkb_vertex_count,
)
from geo.times import as_utc, format_wib, iso_utc, utcnow
from store.accounts import record_audit
from store.models import Base
from store.types import JSONType, UTCDateTime

SEVERITIES = ("rendah", "sedang", "tinggi")
STATUSES = ("active", "ended")


class FloodZone(Base):
    """One flooded area: name, severity (rendah|sedang|tinggi), status (active|ended), when observed, source."""

    __tablename__ = "flood_zone"
    __table_args__ = (
        CheckConstraint("severity IN ('rendah','sedang','tinggi')", name="ck_flood_zone_severity"),
        CheckConstraint("status IN ('active','ended')", name="ck_flood_zone_status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False, default="sedang")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", index=True)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(200), nullable=False, default="manual")
    is_proxy: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)

    @property
    def shape(self) -> shapely.Geometry:
        """The zone as a shapely MultiPolygon (WGS84)."""
        return to_shape(self.geom)


def active_flood_geometries(session: Session) -> list[shapely.Geometry]:
    """Shapely (multi)polygons (WGS84 lon/lat) of every flood zone whose status is 'active'."""
    rows = session.scalars(select(FloodZone.geom).where(FloodZone.status == "active").order_by(FloodZone.id))
    return [to_shape(g) for g in rows]


def active_flood_zones(session: Session) -> list[FloodZone]:
    """Every active flood zone, oldest first."""
    return list_flood_zones(session, status="active")


def list_flood_zones(session: Session, *, status: str | None = None) -> list[FloodZone]:
    """Every flood zone (or those of one status), oldest first."""
    stmt = select(FloodZone).order_by(FloodZone.id)
    if status:
        stmt = stmt.where(FloodZone.status == status)
    return list(session.scalars(stmt))


def get_flood_zone(session: Session, zone_id: int) -> FloodZone:
    """The zone with that id, or NotFound."""
    zone = session.get(FloodZone, zone_id)
    if zone is None:
        raise NotFound(f"Zona banjir {zone_id} tidak ada", f"Flood zone {zone_id} does not exist", field="id")
    return zone


# ----------------------------------------------------------------------------------- writing

FLOOD_FIELDS = ("name", "severity", "status", "observed_at", "source", "notes", "is_proxy")


class FloodInputError(InvalidInput):
    """A flood zone attribute (or import file) that is not acceptable; `field` names it."""


class FloodFileTooLarge(PayloadTooLarge):
    """An import file holding (or unpacking to) more than the platform reads in one go."""


def check_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Validated flood-zone attributes (severity/status vocabularies, aware UTC observed_at)."""
    out = dict(values)
    if "severity" in out and out["severity"] not in SEVERITIES:
        raise FloodInputError(
            f"Tingkat keparahan harus salah satu dari {', '.join(SEVERITIES)}",
            f"severity must be one of {', '.join(SEVERITIES)}",
            field="severity",
        )
    if "status" in out and out["status"] not in STATUSES:
        raise FloodInputError(
            f"Status harus salah satu dari {', '.join(STATUSES)}",
            f"status must be one of {', '.join(STATUSES)}",
            field="status",
        )
    if "name" in out and not str(out["name"] or "").strip():
        raise FloodInputError("Nama zona wajib diisi", "a zone name is required", field="name")
    if isinstance(out.get("observed_at"), datetime):
        out["observed_at"] = as_utc(out["observed_at"])
    return out


def flood_public(zone: FloodZone, *, include_geometry: bool = False) -> dict[str, Any]:
    """A flood zone as JSON-able properties (and its GeoJSON geometry when asked)."""
    out = {
        "id": zone.id,
        "name": zone.name,
        "severity": zone.severity,
        "status": zone.status,
        "observed_at": iso_utc(zone.observed_at),
        "observed_at_wib": format_wib(zone.observed_at),
        "source": zone.source,
        "is_proxy": bool(zone.is_proxy),
        "notes": zone.notes,
        "version": zone.version,
        "created_at": iso_utc(zone.created_at),
        "updated_at": iso_utc(zone.updated_at),
        "attributes": zone.attributes or {},
    }
    if include_geometry:
        out["geometry"] = json.loads(shapely.to_geojson(shapely.set_precision(zone.shape, 1e-7)))
    return out


def _summary(zone: FloodZone) -> dict[str, Any]:
    return {k: v for k, v in flood_public(zone).items() if k in ("id", "name", "severity", "status", "version")}


def create_flood(
    session: Session,
    *,
    geometry: shapely.Geometry,
    name: str,
    severity: str = "sedang",
    status: str = "active",
    observed_at: datetime | None = None,
    source: str = "manual",
    is_proxy: bool = False,
    notes: str | None = None,
    attributes: dict[str, Any] | None = None,
    actor: str | None,
    hub: Any = None,
    rules: PolygonRules = DEFAULT_RULES,
) -> tuple[FloodZone, CleanPolygon]:
    """Store a new zone (geometry repaired or FloodGeometryError), audited, `flood.updated` published."""
    clean = clean_polygon(geometry, rules=rules)
    values = check_attributes(
        {
            "name": name,
            "severity": severity,
            "status": status,
            "observed_at": observed_at,
            "source": source,
            "is_proxy": is_proxy,
            "notes": notes,
        }
    )
    attrs = dict(attributes or {})
    if clean.repaired:
        attrs["repaired"] = clean.reason
    now = utcnow()
    zone = FloodZone(
        **values,
        attributes=attrs or None,
        version=1,
        created_at=now,
        updated_at=now,
        geom=from_shape(clean.geometry, srid=4326),
    )
    session.add(zone)
    session.flush()
    record_audit(
        session, actor=actor, action="flood.create", entity="flood_zone", entity_id=zone.id, after=flood_public(zone)
    )
    if hub is not None:
        hub.publish(session, "flood.updated", {**_summary(zone), "changed": ["created"]})
    return zone, clean


def update_flood(
    session: Session,
    zone: FloodZone,
    changes: dict[str, Any],
    *,
    actor: str | None,
    hub: Any = None,
    geometry: shapely.Geometry | None = None,
    expected_version: int | None = None,
    rules: PolygonRules = DEFAULT_RULES,
) -> list[str]:
    """Apply attribute (and geometry) changes; audited; returns the changed field names.

    With `expected_version`, a zone changed since the caller read it is a Conflict (nothing is applied).
    """
    if expected_version is not None and expected_version != zone.version:
        raise Conflict(
            f"Zona sudah diubah orang lain (versi {zone.version}); muat ulang",
            f"The zone was changed by someone else (version {zone.version}); reload",
            field="version",
            current_version=zone.version,
        )
    before = flood_public(zone)
    values = check_attributes({k: v for k, v in changes.items() if k in FLOOD_FIELDS})
    changed = [k for k, v in values.items() if getattr(zone, k) != v]
    for k in changed:
        setattr(zone, k, values[k])
    if geometry is not None:
        clean = clean_polygon(geometry, rules=rules)
        if not clean.geometry.equals(zone.shape):
            zone.geom = from_shape(clean.geometry, srid=4326)
            attrs = dict(zone.attributes or {})
            if clean.repaired:
                attrs["repaired"] = clean.reason
            zone.attributes = attrs or None
            changed.append("geometry")
    if not changed:
        return []
    zone.version += 1
    zone.updated_at = utcnow()
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="flood.update",
        entity="flood_zone",
        entity_id=zone.id,
        before=before,
        after=flood_public(zone),
    )
    if hub is not None:
        hub.publish(session, "flood.updated", {**_summary(zone), "changed": changed})
    return changed


@dataclass
class FloodImportReport:
    """Zones created from a file, and features rejected with their reasons."""

    created: list[int] = field(default_factory=list)
    repaired: list[tuple[int, str]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def import_flood_file(
    session: Session,
    path: str | Path,
    *,
    layer: str | None = None,
    name_column: str | None = "name",
    severity_column: str | None = "severity",
    status_column: str | None = "status",
    observed_column: str | None = "observed_at",
    default_severity: str = "sedang",
    default_status: str = "active",
    source: str | None = None,
    actor: str | None,
    hub: Any = None,
    rules: PolygonRules = DEFAULT_RULES,
) -> FloodImportReport:
    """Import polygons from GeoJSON/Shapefile/GeoPackage (pyogrio); attributes mapped by column names.

    Reprojected to WGS84 when the file says another CRS. Invalid polygons are repaired or rejected
    with the reason; other columns are kept as attributes. Read in batches: a polygon over the vertex cap is
    rejected from its WKB headers before it is built, and a file over FILE_VERTEX_FACTOR caps (or a zip that
    unpacks larger than that could need) is refused whole (413, `file`).
    """
    report = FloodImportReport()
    used = {c for c in (name_column, severity_column, status_column, observed_column) if c}
    stem = Path(path).stem
    features = _read_features(path, layer=layer, rules=rules, report=report)
    for i, geom, rec in features:
        name = _text(rec.get(name_column)) if name_column else None
        severity = _text(rec.get(severity_column)) if severity_column else None
        severity = (severity or default_severity).lower()
        status = _text(rec.get(status_column)) if status_column else None
        status = (status or default_status).lower()
        observed = _when(rec.get(observed_column)) if observed_column else None
        extra = {k: _plain(v) for k, v in rec.items() if k not in used}
        try:
            with session.begin_nested():
                zone, clean = create_flood(
                    session,
                    geometry=geom,
                    name=name or f"{stem} #{i + 1}",
                    severity=severity,
                    status=status,
                    observed_at=observed,
                    source=source or f"file: {Path(path).name}",
                    attributes=extra,
                    actor=actor,
                    hub=hub,
                    rules=rules,
                )
        except (FloodGeometryError, FloodInputError) as exc:
            report.rejected.append((i + 1, str(exc)))
            continue
        report.created.append(zone.id)
        if clean.repaired:
            report.repaired.append((i + 1, clean.reason or ""))
    return report


# A file may hold this many polygons' worth of vertices at the cap (more: refused whole).
FILE_VERTEX_FACTOR = 10
# Unzipped bytes a vertex may take (GeoJSON text is the widest format), plus room for attributes and headers.
UNZIPPED_BYTES_PER_VERTEX = 64
UNZIPPED_SLACK_BYTES = 8 << 20
READ_BATCH = 64


def _read_features(
    path: str | Path, *, layer: str | None, rules: PolygonRules, report: FloodImportReport
) -> Iterator[tuple[int, shapely.Geometry, dict[str, Any]]]:
    """(0-based feature index, WGS84 geometry, attributes) of each feature under the vertex cap, read in batches."""
    import pyogrio

    file_cap = rules.max_vertices * FILE_VERTEX_FACTOR
    _check_unzipped_size(str(path), UNZIPPED_BYTES_PER_VERTEX * file_cap + UNZIPPED_SLACK_BYTES)
    e = pyogrio.errors
    unreadable = (e.DataSourceError, e.DataLayerError, e.CRSError, e.FeatureError, e.FieldError, e.GeometryError)
    total, number = 0, 0
    try:
        with pyogrio.open_arrow(path, layer=layer, batch_size=READ_BATCH, use_pyarrow=True) as (meta, reader):
            crs = meta.get("crs")
            to_wgs84 = crs is not None and CRS.from_user_input(crs).to_epsg() != 4326
            geom_name = meta.get("geometry_name") or "wkb_geometry"
            for batch in reader:
                wkbs = batch.column(geom_name).to_pylist()
                records = batch.drop_columns([geom_name]).to_pylist()
                keep: list[tuple[int, bytes, dict[str, Any]]] = []
                for wkb, rec in zip(wkbs, records, strict=True):
                    number += 1
                    if wkb is None:
                        report.rejected.append((number, str(FloodGeometryError("Geometri kosong", "empty geometry"))))
                        continue
                    count = wkb_vertex_count(wkb)
                    total += count
                    if total > file_cap:
                        raise FloodFileTooLarge(
                            f"Berkas memuat lebih dari {file_cap} titik poligon; bagi menjadi beberapa berkas",
                            f"The file holds more than {file_cap} polygon vertices; split it into several files",
                            field="file", max_vertices=file_cap,
                        )
                    if count > rules.max_vertices:
                        report.rejected.append((number, str(too_many_vertices(count, rules.max_vertices))))
                        continue
                    keep.append((number, wkb, rec))
                if not keep:
                    continue
                geoms = shapely.from_wkb([wkb for _, wkb, _ in keep])
                if to_wgs84:
                    geoms = project_geometries(geoms, src=crs, dst=WGS84)
                for (i, _, rec), geom in zip(keep, geoms, strict=True):
                    yield i - 1, geom, rec
    except (*unreadable, OSError, ValueError, shapely.errors.GEOSException, pyproj.exceptions.CRSError) as exc:
        # GDAL's own words say what is wrong with the file (not a zip, no layer, broken geometry...).
        raise FloodInputError(f"Berkas tidak terbaca: {exc}", f"The file cannot be read: {exc}", field="file") from exc


def _check_unzipped_size(path: str, limit: int) -> None:
    """Refuse a zip that unpacks to more than `limit` bytes (a zip bomb) before GDAL reads any of it."""
    if not path.startswith("/vsizip/"):
        return
    try:
        with zipfile.ZipFile(path.removeprefix("/vsizip/")) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise FloodInputError(f"Berkas zip tidak terbaca: {exc}", f"The zip file cannot be read: {exc}",
                              field="file") from exc
    if size > limit:
        raise FloodFileTooLarge(
            f"Isi zip {size} byte melebihi batas {limit} byte", f"The zip unpacks to {size} bytes, over {limit}",
            field="file", limit=limit,
        )


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    s = str(value).strip()
    return s or None


def _when(value: Any) -> datetime | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    t = pd.Timestamp(value)
    return None if pd.isna(t) else as_utc(t.to_pydatetime())


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def seed_proxy_floodplain(
    session: Session,
    *,
    layers: Any,
    active: bool = False,
    width_m: float = PROXY_WIDTH_M,
    actor: str | None = None,
    hub: Any = None,
) -> FloodZone:
    """The Barito floodplain proxy (river buffered, clipped to the regency), created once; ended unless asked."""
    existing = session.scalars(select(FloodZone).where(FloodZone.source == PROXY_SOURCE)).first()
    status = "active" if active else "ended"
    if existing is not None:
        update_flood(session, existing, {"status": status}, actor=actor, hub=hub)
        return existing
    regency = shapely.union_all(shapely.make_valid(layers.desa.geometry))
    geom = barito_floodplain_proxy(rivers=layers.rivers.geometry, regency=regency, width_m=width_m)
    zone, _ = create_flood(
        session,
        geometry=geom,
        name=PROXY_NAME,
        severity="sedang",
        status=status,
        source=PROXY_SOURCE,
        is_proxy=True,
        notes=f"Penyangga {width_m:.0f} m kiri-kanan Sungai Barito (Natural Earth 10m), bukan data "
        f"banjir teramati / {width_m:.0f} m buffer each side of the Barito centre line, not observed flooding",
        attributes={"width_m": width_m},
        actor=actor,
        hub=hub,
    )
    return zone


# ---------------------------------------------------------------------------------- analysis


def network_lines_cut(session: Session, zone: FloodZone) -> dict[str, Any]:
    """Network lines (table `network_line`) crossing the zone: how many, and the first 500 ids."""
    conn = session.connection()
    wkt = zone.shape.wkt
    ids = [
        r[0]
        for r in conn.execute(
            text("SELECT id FROM network_line WHERE ST_Intersects(geom, ST_GeomFromText(:wkt, 4326)) = 1 ORDER BY id")
            if conn.dialect.name == "sqlite"
            else text("SELECT id FROM network_line WHERE ST_Intersects(geom, ST_GeomFromText(:wkt, 4326)) ORDER BY id"),
            {"wkt": wkt},
        )
    ]
    return {"available": True, "count": len(ids), "ids": ids[:500]}


def flood_affected(session: Session, zone: FloodZone, *, layers: Any) -> dict[str, Any]:
    """Desa under water with their flooded share (UTM areas) and the network lines the zone cuts."""
    desa = layers.desa
    table = affected_desa(zone.shape, desa_geometry=desa.geometry, desa_code=desa.code, desa_name=desa.name)
    kec = dict(zip(np.asarray(desa.code).tolist(), np.asarray(desa.attrs["kecamatan"]).tolist(), strict=True))
    rows = [
        {
            "desa_code": r.desa_code,
            "desa_name": r.desa_name,
            "kecamatan": kec.get(r.desa_code),
            "flooded_km2": round(float(r.flooded_m2) / 1e6, 4),
            "desa_km2": round(float(r.desa_m2) / 1e6, 4),
            "share": round(float(r.share), 4),
        }
        for r in table.itertuples(index=False)
    ]
    zone_km2 = float(shapely.area(project_geometries(np.array([zone.shape])))[0]) / 1e6
    return {
        "id": zone.id,
        "name": zone.name,
        "status": zone.status,
        "is_proxy": bool(zone.is_proxy),
        "area_km2": round(zone_km2, 4),
        "desa": rows,
        "desa_count": len(rows),
        "roads_cut": network_lines_cut(session, zone),
    }

"""Ground checks ("cek lapangan") of hotspots, their results, the statistics they feed, and area alerts.

A ground check is an incident of its own category (`cek_lapangan` in data/catalog.yaml), so it is dispatched
with the existing recommendation; the `ground_check` row ties that incident to the detection (or the H3
cluster) it checks and keeps the result. A "bukan api" result caused by a roof or industry becomes a static
heat source, so the same spot is marked "sumber tetap" from then on.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import h3
import numpy as np
import shapely
from geoalchemy2 import Geometry
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.errors import Conflict, InvalidInput, NotFound
from geo.heatsources import footprint, nearest_centres
from geo.times import as_utc, format_wib, iso_utc, utcnow, wib_date
from store.accounts import record_audit
from store.hotspots import Hotspot
from store.incidents import Call, record_calls
from store.models import Base, Desa
from store.types import JSONType, UTCDateTime, db_time

RESULTS = ("api_aktif", "sudah_padam", "bukan_api", "tidak_terjangkau")
CAUSES = ("pantulan_atap", "industri", "lainnya")
CATEGORY = "cek_lapangan"


class GroundCheck(Base):
    """One ground check: the incident that dispatches it, what it checks, and the result the team found."""

    __tablename__ = "ground_check"
    __table_args__ = (
        CheckConstraint("result IS NULL OR result IN ('api_aktif','sudah_padam','bukan_api','tidak_terjangkau')",
                        name="ck_ground_check_result"),
        CheckConstraint("cause IS NULL OR cause IN ('pantulan_atap','industri','lainnya')",
                        name="ck_ground_check_cause"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), nullable=False, unique=True)
    hotspot_id: Mapped[int | None] = mapped_column(Integer, index=True)
    cluster_cell: Mapped[str | None] = mapped_column(String(16))
    hotspot_ids: Mapped[list[int] | None] = mapped_column(JSONType)
    satellite: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[str | None] = mapped_column(String(8))
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    desa_code: Mapped[str | None] = mapped_column(String(20))
    kecamatan_code: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    result: Mapped[str | None] = mapped_column(String(20))
    cause: Mapped[str | None] = mapped_column(String(20))
    area_ha: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    result_by: Mapped[str | None] = mapped_column(String(64))
    result_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heat_source_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)


class HotspotAlert(Base):
    """One area alert: a new nominal/high detection in the regency (or near a desa), once per cluster per day."""

    __tablename__ = "hotspot_alert"
    __table_args__ = (UniqueConstraint("day", "cluster_cell", name="uq_hotspot_alert_day_cell"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), nullable=False)
    cluster_cell: Mapped[str] = mapped_column(String(16), nullable=False)
    kecamatan_code: Mapped[str | None] = mapped_column(String(16))
    desa_code: Mapped[str | None] = mapped_column(String(20))
    hotspot_id: Mapped[int] = mapped_column(Integer, nullable=False)
    confidence: Mapped[str | None] = mapped_column(String(8))
    satellite: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    near_desa_m: Mapped[float | None] = mapped_column(Float)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)




RESULT_LABELS = {"api_aktif": "Api aktif / active fire", "sudah_padam": "Sudah padam / already out",
                 "bukan_api": "Bukan api / not a fire", "tidak_terjangkau": "Tidak terjangkau / unreachable"}
CAUSE_LABELS = {"pantulan_atap": "Pantulan atap / roof reflection", "industri": "Industri / industry",
                "lainnya": "Lainnya / other"}
CONFIDENCE_ID = {"low": "rendah", "nominal": "nominal", "high": "tinggi"}
# A "bukan api" spot becomes a static heat source this wide: the VIIRS 375 m pixel around the detection.
SOURCE_HALF_SIDE_M = 200.0
ALERT_CONFIDENCE = ("nominal", "high")
ALERT_CELL_RES = 7  # ~5 km² hexagons: one alert per such cluster per WIB day
# Only recent detections alert: loading last month's archive is history, not news.
ALERT_MAX_AGE = timedelta(hours=24)


class GroundCheckNotFoundError(NotFound):
    """No ground check with that id."""

    def __init__(self, check_id: int) -> None:
        super().__init__(f"Cek lapangan {check_id} tidak ada", f"Ground check {check_id} does not exist",
                         field="check_id")


def _point(geom: Any) -> tuple[float, float]:
    p = to_shape(geom)
    return float(p.x), float(p.y)


def ground_check_public(check: GroundCheck, *, incident_number: str | None = None,
                        incident_status: str | None = None) -> dict[str, Any]:
    """A ground check as a GeoJSON Feature (GroundCheckFeature)."""
    lon, lat = _point(check.geom)
    return {
        "type": "Feature",
        "id": check.id,
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": {
            "id": check.id, "incident_id": check.incident_id, "incident_number": incident_number,
            "incident_status": incident_status, "hotspot_id": check.hotspot_id, "cluster_cell": check.cluster_cell,
            "hotspot_ids": check.hotspot_ids or [], "satellite": check.satellite, "confidence": check.confidence,
            "detected_at": iso_utc(check.detected_at), "detected_at_wib": format_wib(check.detected_at),
            "desa_code": check.desa_code, "kecamatan_code": check.kecamatan_code, "created_by": check.created_by,
            "created_at": iso_utc(check.created_at), "result": check.result,
            "result_label": RESULT_LABELS.get(check.result or ""), "cause": check.cause,
            "cause_label": CAUSE_LABELS.get(check.cause or ""), "area_ha": check.area_ha, "note": check.note,
            "result_by": check.result_by, "result_at": iso_utc(check.result_at),
            "heat_source_id": check.heat_source_id, "version": check.version,
        },
    }


def get_ground_check(session: Session, check_id: int) -> GroundCheck:
    """One ground check or GroundCheckNotFoundError."""
    check = session.get(GroundCheck, check_id)
    if check is None:
        raise GroundCheckNotFoundError(check_id)
    return check


def list_ground_checks(session: Session, *, limit: int = 500) -> list[dict[str, Any]]:
    """The newest ground checks with their incident number and status, as Features."""
    from store.incidents import Incident

    rows = session.execute(
        select(GroundCheck, Incident.number, Incident.status).join(Incident, Incident.id == GroundCheck.incident_id)
        .order_by(GroundCheck.id.desc()).limit(limit)
    ).all()
    return [ground_check_public(c, incident_number=n, incident_status=st) for c, n, st in rows]


def _target(session: Session, *, hotspot_id: int | None, cluster_cell: str | None) -> dict[str, Any]:
    """What a new check looks at: the detection, or the detections of an H3 cell (newest, up to 500)."""
    if (hotspot_id is None) == (cluster_cell is None):
        raise InvalidInput("Pilih satu: hotspot_id atau cluster_cell", "Give exactly one of hotspot_id or cluster_cell",
                           field="hotspot_id")
    cols = (Hotspot.id, func.ST_X(Hotspot.geom), func.ST_Y(Hotspot.geom), Hotspot.satellite, Hotspot.instrument,
            Hotspot.confidence, Hotspot.acq_time, Hotspot.desa_code, Hotspot.kecamatan_code, Hotspot.date_only)
    if hotspot_id is not None:
        rows = session.execute(select(*cols).where(Hotspot.id == hotspot_id)).all()
        if not rows:
            raise NotFound(f"Titik panas {hotspot_id} tidak ada", f"Hotspot {hotspot_id} does not exist",
                           field="hotspot_id")
        lon, lat = rows[0][1], rows[0][2]
    else:
        if not isinstance(cluster_cell, str) or not h3.is_valid_cell(cluster_cell):
            raise InvalidInput(f"Sel H3 tidak dikenal: {cluster_cell}", f"Unknown H3 cell: {cluster_cell}",
                               field="cluster_cell")
        res = h3.get_resolution(cluster_cell)
        if not 5 <= res <= 9:
            raise InvalidInput("Sel H3 harus resolusi 5..9", "The H3 cell must be of resolution 5..9",
                               field="cluster_cell")
        lat, lon = h3.cell_to_latlng(cluster_cell)
        rows = session.execute(select(*cols).where(getattr(Hotspot, f"h3_{res}") == cluster_cell)
                               .order_by(Hotspot.acq_time.desc()).limit(500)).all()
        if not rows:
            raise NotFound(f"Tidak ada titik panas di sel {cluster_cell}", f"No hotspot in cell {cluster_cell}",
                           field="cluster_cell")
    rank = {"high": 2, "nominal": 1, "low": 0}
    lead = max(rows, key=lambda r: (rank.get(r[5] or "", -1), r[6]))
    return {"ids": [int(r[0]) for r in rows], "lon": float(lon), "lat": float(lat), "satellite": lead[3],
            "instrument": lead[4], "confidence": lead[5], "acq_time": as_utc(lead[6]), "desa_code": lead[7],
            "kecamatan_code": lead[8], "date_only": bool(lead[9])}


def describe_target(target: dict[str, Any], *, cluster_cell: str | None) -> str:
    """The incident description of a ground check (Bahasa Indonesia, what the crew reads)."""
    when = target["acq_time"]
    shown = (when.strftime("%d-%m-%Y") + " (tanggal saja)") if target["date_only"] else format_wib(when)
    what = f"{len(target['ids'])} titik panas di sel {cluster_cell}" if cluster_cell else "titik panas"
    sat = " ".join(v for v in (target["instrument"], target["satellite"]) if v) or "satelit"
    conf = CONFIDENCE_ID.get(target["confidence"] or "", "tidak diketahui")
    return f"Cek lapangan {what}: {sat}, kepercayaan {conf}, {shown}. Apakah api? Laporkan hasilnya."


def target_point(session: Session, *, hotspot_id: int | None, cluster_cell: str | None) -> dict[str, Any]:
    """Check the target of a new ground check and return it (point, detections, satellite, confidence)."""
    return _target(session, hotspot_id=hotspot_id, cluster_cell=cluster_cell)


def create_ground_check(session: Session, *, target: dict[str, Any], cluster_cell: str | None, actor: str | None,
                        location: dict[str, Any] | None, note: str | None = None, client: str | None = None,
                        hub: Any) -> dict[str, Any]:
    """Record the `cek_lapangan` incident (as a call is recorded) and the ground check tied to it; committed.

    One transaction: the incident, its first transition, the check row, both audit records and both events
    are stored together or not at all (a check without its incident, or the reverse, is never left behind).
    """
    call = Call(category=CATEGORY, actor=actor, description=describe_target(target, cluster_cell=cluster_cell)
                + (f" Catatan: {note}" if note else ""), lon=target["lon"], lat=target["lat"],
                location_source="coordinates", location=location, client=client, at=utcnow())
    [incident] = record_calls(session, [call], hub=hub, commit=False)
    check = GroundCheck(
        incident_id=incident.id, hotspot_id=None if cluster_cell else target["ids"][0], cluster_cell=cluster_cell,
        hotspot_ids=target["ids"], satellite=target["satellite"], confidence=target["confidence"],
        detected_at=target["acq_time"], desa_code=target["desa_code"], kecamatan_code=target["kecamatan_code"],
        created_by=actor, created_at=utcnow(), note=note, version=1,
        geom=from_shape(shapely.Point(target["lon"], target["lat"]), srid=4326),
    )
    session.add(check)
    session.flush()
    out = ground_check_public(check, incident_number=incident.number, incident_status=incident.status)
    record_audit(session, actor=actor, action="ground_check.create", entity="ground_check", entity_id=check.id,
                 after=out["properties"])
    hub.publish(session, "ground_check.updated", {"id": check.id, "incident_id": incident.id, "changed": ["created"]})
    session.commit()
    return out


def record_result(session: Session, check_id: int, *, result: str, cause: str | None, area_ha: float | None,
                  note: str | None, version: int | None, actor: str | None, hub: Any) -> dict[str, Any]:
    """Record what the team found; a roof or industry "bukan api" becomes a static heat source. Not committed."""
    from store.heat_sources import create_heat_source

    check = get_ground_check(session, check_id)
    if version is not None and version != check.version:
        raise Conflict(f"Cek lapangan sudah diubah (versi {version} usang); muat ulang",
                       f"The ground check was changed (version {version} is stale); reload",
                       field="version", current_version=check.version)
    if result not in RESULTS:
        raise InvalidInput(f"Hasil harus salah satu dari {', '.join(RESULTS)}",
                           f"result must be one of {', '.join(RESULTS)}", field="result")
    if result == "bukan_api" and cause not in CAUSES:
        raise InvalidInput(f"Hasil 'bukan api' perlu sebab: {', '.join(CAUSES)}",
                           f"A 'bukan api' result needs a cause: {', '.join(CAUSES)}", field="cause")
    if result != "bukan_api" and cause is not None:
        raise InvalidInput("Sebab hanya untuk hasil 'bukan api'", "cause is only for a 'bukan api' result",
                           field="cause")
    if area_ha is not None and (result != "api_aktif" or not (0 <= area_ha <= 1_000_000)):
        raise InvalidInput("Luas (ha) hanya untuk 'api aktif', 0..1.000.000",
                           "area_ha is only for 'api aktif', 0..1,000,000", field="area_ha")
    before = ground_check_public(check)["properties"]
    check.result, check.cause, check.area_ha = result, cause, area_ha
    if note is not None:
        check.note = note
    check.result_by, check.result_at = actor, utcnow()
    check.version += 1
    if result == "bukan_api" and cause in ("pantulan_atap", "industri") and check.heat_source_id is None:
        lon, lat = _point(check.geom)
        kind = "atap_seng" if cause == "pantulan_atap" else "industri"
        src, _ = create_heat_source(
            session, geometry=footprint(lon=lon, lat=lat, radius_m=SOURCE_HALF_SIDE_M),
            name=f"Cek lapangan #{check.id}: {CAUSE_LABELS[cause].split(' / ')[0].lower()}", kind=kind,
            origin="cek_lapangan", notes=note, actor=actor, hub=hub)
        check.heat_source_id = src.id
    session.flush()
    out = ground_check_public(check)
    record_audit(session, actor=actor, action="ground_check.result", entity="ground_check", entity_id=check.id,
                 before=before, after=out["properties"])
    hub.publish(session, "ground_check.updated", {"id": check.id, "incident_id": check.incident_id,
                                                  "changed": ["result"], "result": result})
    return out


def ground_check_stats(session: Session) -> dict[str, Any]:
    """Checks with a result, per satellite and per confidence: how many, how many were "bukan api", the share."""
    rows = session.execute(select(GroundCheck.satellite, GroundCheck.confidence, GroundCheck.result)
                           .where(GroundCheck.result.is_not(None))).all()

    def table(key: int) -> list[dict[str, Any]]:
        acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in rows:
            if r[2] == "tidak_terjangkau":
                continue  # nobody saw it: neither a fire nor a false alarm
            acc[r[key] or "tidak diketahui"][0] += 1
            acc[r[key] or "tidak diketahui"][1] += r[2] == "bukan_api"
        return [{"key": k, "checked": n, "false_alarms": f, "false_alarm_share": round(f / n, 3) if n else None}
                for k, (n, f) in sorted(acc.items())]

    results = {k: 0 for k in RESULTS}
    for r in rows:
        if r[2] is not None:
            results[r[2]] += 1
    pending = int(session.scalar(select(func.count(GroundCheck.id)).where(GroundCheck.result.is_(None))) or 0)
    return {"by_satellite": table(0), "by_confidence": table(1), "results": results, "pending": pending,
            "note": "Tidak terjangkau tidak dihitung / unreachable checks are not counted"}


# ------------------------------------------------------------------------------------------- alerts


def _desa_centres(session: Session) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    rows = session.execute(select(Desa.kode, Desa.nama, Desa.lng, Desa.lat).where(Desa.lat.is_not(None))).all()
    return ([r[0] for r in rows], [r[1] for r in rows], np.array([r[2] for r in rows], dtype=np.float64),
            np.array([r[3] for r in rows], dtype=np.float64))


def evaluate_alerts(session: Session, *, ingested_since: datetime, near_km: float = 5.0,
                    hub: Any = None) -> list[dict[str, Any]]:
    """Alerts for detections stored since `ingested_since` and acquired in the last 24 h: nominal/high, not a static
    source, inside a kecamatan or within `near_km` of a desa centre; one per H3 res-7 cluster per WIB day (a unique
    key). Not committed."""
    rows = session.execute(
        select(Hotspot.id, func.ST_X(Hotspot.geom), func.ST_Y(Hotspot.geom), Hotspot.acq_time, Hotspot.confidence,
               Hotspot.satellite, Hotspot.zone, Hotspot.desa_code, Hotspot.kecamatan_code,
               getattr(Hotspot, f"h3_{ALERT_CELL_RES}"))
        .where(Hotspot.ingested_at >= db_time(ingested_since), Hotspot.confidence.in_(ALERT_CONFIDENCE),
               Hotspot.acq_time >= db_time(utcnow() - ALERT_MAX_AGE),
               Hotspot.static_source_id.is_(None), Hotspot.zone.in_(("inside", "border")))
        .order_by(Hotspot.acq_time, Hotspot.id)
    ).all()
    if not rows:
        return []
    codes, names, clon, clat = _desa_centres(session)
    lon = np.array([r[1] for r in rows], dtype=np.float64)
    lat = np.array([r[2] for r in rows], dtype=np.float64)
    idx, metres = nearest_centres(lon=lon, lat=lat, centre_lon=clon, centre_lat=clat)
    best: dict[tuple[str, str], dict[str, Any]] = {}
    rank = {"high": 1, "nominal": 0}
    for i, r in enumerate(rows):
        inside = r[6] == "inside" and r[8] is not None
        near = bool(np.isfinite(metres[i]) and metres[i] <= near_km * 1000.0)
        if not (inside or near):
            continue
        when = as_utc(r[3])
        key = (wib_date(when).isoformat(), r[9])
        cand = {"day": key[0], "cluster_cell": r[9], "kecamatan_code": r[8], "desa_code": r[7] or codes[idx[i]],
                "hotspot_id": int(r[0]), "confidence": r[4], "satellite": r[5],
                "reason": "kecamatan" if inside else "dekat_desa", "detected_at": when, "lon": float(lon[i]),
                "lat": float(lat[i]), "near_desa": names[idx[i]] if idx[i] >= 0 else None,
                "near_desa_m": round(float(metres[i]), 0) if np.isfinite(metres[i]) else None}
        if key not in best or rank[cand["confidence"]] > rank[best[key]["confidence"]]:
            best[key] = cand
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = HotspotAlert.__table__
    raised: list[dict[str, Any]] = []
    now = utcnow()
    for cand in best.values():
        values = {k: v for k, v in cand.items() if k in table.c}
        stmt = dialect.insert(table).values(**values, created_at=db_time(now)).on_conflict_do_nothing(
            index_elements=["day", "cluster_cell"]).returning(table.c.id)
        new_id = session.execute(stmt).scalar()
        if new_id is None:
            continue  # this cluster already raised its alert today
        alert = alert_public(cand | {"id": int(new_id), "created_at": now})
        raised.append(alert)
        if hub is not None:
            hub.publish(session, "hotspot.alert", alert)
    return raised


def alert_public(a: dict[str, Any]) -> dict[str, Any]:
    """An alert as the pages show it (HotspotAlertPublic)."""
    return {
        "id": a["id"], "day": a["day"], "cluster_cell": a["cluster_cell"], "kecamatan_code": a["kecamatan_code"],
        "desa_code": a["desa_code"], "hotspot_id": a["hotspot_id"], "confidence": a["confidence"],
        "satellite": a["satellite"], "reason": a["reason"], "detected_at": iso_utc(a["detected_at"]),
        "detected_at_wib": format_wib(a["detected_at"]), "created_at": iso_utc(a["created_at"]),
        "lon": round(a["lon"], 6), "lat": round(a["lat"], 6), "near_desa": a.get("near_desa"),
        "near_desa_m": a.get("near_desa_m"),
    }


def recent_alerts(session: Session, *, since: datetime, limit: int = 200) -> list[dict[str, Any]]:
    """Alerts raised since `since`, newest first, with the desa name."""
    rows = session.execute(
        select(HotspotAlert, Desa.nama).outerjoin(Desa, Desa.kode == HotspotAlert.desa_code)
        .where(HotspotAlert.created_at >= since).order_by(HotspotAlert.id.desc()).limit(limit)
    ).all()
    return [alert_public({**{c.name: getattr(a, c.name) for c in HotspotAlert.__table__.c}, "near_desa": name})
            for a, name in rows]


__all__ = [
    "CATEGORY", "CAUSES", "RESULTS", "GroundCheck", "HotspotAlert", "create_ground_check", "evaluate_alerts",
    "get_ground_check", "ground_check_public", "ground_check_stats", "list_ground_checks", "recent_alerts",
    "record_result",
]

"""Stored FIRMS fire detections (table `hotspot`), the job-run log, and the streaming bulk ingest.

What is kept: every detection inside Kalimantan Tengah (the kabupaten layer) plus those outside it
within 10 km of a Barito Selatan desa (fires cross the border with Kalimantan Selatan). Tags follow
the issue: `zone` is 'inside' (desa + kecamatan of Barito Selatan), 'border' (outside, <= 10 km: the
neighbour kabupaten when it is in Kalteng and the distance to the nearest desa) or 'kalteng'
(elsewhere in the province: kabupaten code only, no desa and no distance). The rest is dropped.

Ingest is idempotent: rows carry a stable `detection_key` and go in with
INSERT ... ON CONFLICT (detection_key) DO NOTHING, one executemany per batch, one commit per chunk,
so a re-run or an interrupted 1 GB file resumes without duplicates.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    false,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from geo.firms import CODING_TEXT, DetectionChunk, Format, GenericColumns, read_detections, tag_detections
from geo.heatsources import assign_sources
from geo.hexagons import MAX_RESOLUTION, MIN_RESOLUTION, cells_from_lonlat, cells_to_str
from geo.times import iso_utc, utcnow
from store.accounts import record_audit
from store.models import Base
from store.types import JSONType, UTCDateTime

BORDER_M = 10_000.0
H3_RESOLUTIONS = tuple(range(MIN_RESOLUTION, MAX_RESOLUTION + 1))
ZONES = ("inside", "border", "kalteng")
MAX_REPORTED_REJECTS = 50
_BATCH_ROWS = 5_000


class Hotspot(Base):
    """One satellite fire detection (FIRMS MODIS/VIIRS or a generic export), tagged and indexed by H3."""

    __tablename__ = "hotspot"
    __table_args__ = (CheckConstraint("zone IN ('inside','border','kalteng')", name="ck_hotspot_zone"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    detection_key: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    # Plain DateTime, not UTCDateTime: hotspot times are read a whole column at a time (geo.times.utc_index),
    # never row by row, and compared with store.types.db_time bounds.
    acq_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    # True when the file gave a date without acq_time: acq_time is then 00:00 UTC of that date, shown as
    # "tanggal saja" (date only), never as a time of day.
    date_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # The static heat source (store.heat_sources) the detection lies in: "sumber tetap", left out of alerts
    # and clusters by default.
    static_source_id: Mapped[int | None] = mapped_column(Integer, index=True)
    confidence: Mapped[str | None] = mapped_column(String(8))
    confidence_raw: Mapped[str | None] = mapped_column(String(16))
    frp: Mapped[float | None] = mapped_column(Float)
    brightness: Mapped[float | None] = mapped_column(Float)
    satellite: Mapped[str | None] = mapped_column(String(32))
    instrument: Mapped[str | None] = mapped_column(String(16))
    daynight: Mapped[str | None] = mapped_column(String(1))
    version: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    desa_code: Mapped[str | None] = mapped_column(String(20), index=True)
    kecamatan_code: Mapped[str | None] = mapped_column(String(16), index=True)
    kabupaten_code: Mapped[str | None] = mapped_column(String(16))
    zone: Mapped[str] = mapped_column(String(8), nullable=False)
    border_distance_m: Mapped[float | None] = mapped_column(Float)
    h3_5: Mapped[str] = mapped_column(String(16), nullable=False)
    h3_6: Mapped[str] = mapped_column(String(16), nullable=False)
    h3_7: Mapped[str] = mapped_column(String(16), nullable=False)
    h3_8: Mapped[str] = mapped_column(String(16), nullable=False)
    h3_9: Mapped[str] = mapped_column(String(16), nullable=False)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)


class JobRun(Base):
    """One run of a scheduled job (e.g. the FIRMS pull): when, whether it worked, what it did."""

    __tablename__ = "job_run"
    # Migration 0006 creates this index (one job's runs in time order); declared so the model matches the schema.
    __table_args__ = (Index("ix_job_run_job_started", "job", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(48), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ok: Mapped[bool | None] = mapped_column(Boolean)
    message: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


@dataclass
class IngestReport:
    """What one ingest did: rows read, kept in the area, newly inserted, already stored, rejected."""

    read: int = 0
    kept: int = 0
    outside: int = 0
    inserted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)
    zones: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ZONES, 0))
    fmt: str | None = None
    first_time: datetime | None = None
    last_time: datetime | None = None
    confidence_coding: str | None = None
    date_only: int = 0
    static_source: int = 0
    alerts: int = 0

    def counts(self) -> dict[str, Any]:
        """JSON-able summary (for the job log, the audit log, the API and the CLI)."""
        return {
            "read": self.read,
            "kept": self.kept,
            "outside": self.outside,
            "inserted": self.inserted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "zones": dict(self.zones),
            "format": self.fmt,
            "confidence_coding": self.confidence_coding,
            "confidence_coding_text": list(CODING_TEXT[self.confidence_coding]) if self.confidence_coding else None,
            "date_only": self.date_only,
            "static_source": self.static_source,
            "alerts": self.alerts,
            "first_rejects": [{"line": ln, "reason": r} for ln, r in self.rejects[:10]],
            "first_time": iso_utc(self.first_time),
            "last_time": iso_utc(self.last_time),
        }


# ------------------------------------------------------------------------------ area + rows


def select_area(chunk: DetectionChunk, *, locator: Any, max_outside_m: float = BORDER_M,
                h3_resolutions: Sequence[int] = ()) -> DetectionChunk:
    """Tag a chunk and keep Kalimantan Tengah plus the 10 km border band; adds `zone` 'kalteng' rows.

    With `h3_resolutions`, the kept rows carry their H3 cells (`cells`), computed while tagging.
    """
    if not len(chunk):
        return tag_detections(chunk, locator=locator, max_outside_m=max_outside_m, h3_resolutions=h3_resolutions)
    lon, lat = chunk.lon, chunk.lat
    # One grid read for the province: cheaper than tagging first, and most of a FIRMS area file is outside.
    kab, _ = locator.kabupaten_grid.locate(lon, lat, order_key=locator.kabupaten_key)
    in_kalteng = kab >= 0
    margin = max_outside_m / 100_000.0
    x0, y0, x1, y1 = _desa_bounds(locator)
    near = (lon >= x0 - margin) & (lon <= x1 + margin) & (lat >= y0 - margin) & (lat <= y1 + margin)
    candidate = in_kalteng | near
    part = chunk.take(candidate)
    kab = kab[candidate]
    tagged = tag_detections(part, locator=locator, max_outside_m=max_outside_m, h3_resolutions=h3_resolutions)
    frame = tagged.frame
    zone = frame["zone"].to_numpy(dtype=object).copy()
    rest = (zone == "outside") & (kab >= 0)
    zone[rest] = "kalteng"
    kab_code = frame["kabupaten_code"].to_numpy(dtype=object).copy()
    kab_code[rest] = np.asarray(locator.kabupaten.code, dtype=object)[kab[rest]]
    frame = frame.assign(zone=pd.Series(zone, dtype=object), kabupaten_code=pd.Series(kab_code, dtype=object))
    keep = zone != "outside"
    out = DetectionChunk(frame=frame, extras=tagged.extras, rejects=list(chunk.rejects), fmt=chunk.fmt,
                         cells=tagged.cells)
    return out.take(keep)


def _desa_bounds(locator: Any) -> tuple[float, float, float, float]:
    cached = getattr(locator, "_sigap_desa_bounds", None)
    if cached is None:
        cached = tuple(float(v) for v in shapely.total_bounds(locator.layers.desa.geometry))
        locator._sigap_desa_bounds = cached
    return cached


def _source_labels(chunk: DetectionChunk, source: str | None) -> np.ndarray:
    n = len(chunk)
    if source:
        return np.full(n, source, dtype=object)
    if chunk.fmt == "generic":
        return np.full(n, "generic", dtype=object)
    version = chunk.frame["version"].astype("string").fillna("")
    nrt = version.str.upper().str.endswith("NRT").to_numpy(dtype=bool)
    return np.where(nrt, "firms-nrt", "firms-archive").astype(object)


_COLUMNS = (
    "detection_key",
    "acq_time",
    "date_only",
    "static_source_id",
    "confidence",
    "confidence_raw",
    "frp",
    "brightness",
    "satellite",
    "instrument",
    "daynight",
    "version",
    "source",
    "desa_code",
    "kecamatan_code",
    "kabupaten_code",
    "zone",
    "border_distance_m",
    "h3_5",
    "h3_6",
    "h3_7",
    "h3_8",
    "h3_9",
    "attributes",
    "ingested_at",
)


def hotspot_frame(chunk: DetectionChunk, *, source: str | None, ingested_at: datetime,
                  static_sources: tuple[Sequence[int], Sequence[Any]] = ((), ())) -> pd.DataFrame:
    """The rows to store, one column per table column (`lon`, `lat` in place of geom), built array-wise.

    The h3_5..h3_9 columns come from `chunk.cells` when tagging computed them, else from lon/lat here.
    `static_sources` (ids, WGS84 polygons) mark the detections inside a known static heat source.
    """
    f = chunk.frame
    n = len(f)
    lon, lat = chunk.lon, chunk.lat
    zone = f["zone"].to_numpy(dtype=object) if n else np.empty(0, dtype=object)
    out = pd.DataFrame(
        {
            "detection_key": f["detection_key"].to_numpy(dtype=object),
            "acq_time": pd.DatetimeIndex(f["acq_time_utc"]).tz_convert(UTC),
            "date_only": (f["date_only"].to_numpy(dtype=bool) if "date_only" in f.columns
                          else np.zeros(n, dtype=bool)),
            "static_source_id": _source_ids(lon, lat, static_sources),
            "confidence": f["confidence"].to_numpy(dtype=object),
            "confidence_raw": f["confidence_raw"].astype(object).to_numpy(),
            "frp": f["frp"].to_numpy(dtype=np.float64),
            "brightness": f["brightness"].to_numpy(dtype=np.float64),
            "satellite": f["satellite"].to_numpy(dtype=object),
            "instrument": f["instrument"].to_numpy(dtype=object),
            "daynight": f["daynight"].to_numpy(dtype=object),
            "version": f["version"].to_numpy(dtype=object),
            "source": _source_labels(chunk, source),
            "desa_code": f["desa_code"].to_numpy(dtype=object),
            "kecamatan_code": f["kecamatan_code"].to_numpy(dtype=object),
            "kabupaten_code": f["kabupaten_code"].to_numpy(dtype=object),
            "zone": zone,
            "border_distance_m": np.where(zone == "kalteng", np.nan, f["border_distance_m"].to_numpy(dtype=np.float64)),
        }
    )
    for res in H3_RESOLUTIONS:
        cells = chunk.cells.get(res)
        if cells is None:
            cells = cells_from_lonlat(lon=lon, lat=lat, res=res)
        out[f"h3_{res}"] = cells_to_str(cells)
    out["attributes"] = _attributes_json(chunk.extras)
    out["ingested_at"] = pd.Timestamp(ingested_at).tz_convert(UTC)
    out["lon"] = lon
    out["lat"] = lat
    return out


def _source_ids(lon: np.ndarray, lat: np.ndarray, static_sources: tuple[Sequence[int], Sequence[Any]]) -> Any:
    """Nullable integer column: the static source containing each point, NA when none."""
    ids, geoms = static_sources
    found = assign_sources(lon=lon, lat=lat, ids=list(ids), geometries=list(geoms)) if len(ids) else \
        np.full(len(lon), -1, dtype=np.int64)
    return pd.arrays.IntegerArray(found.astype(np.int64), found < 0)


def _attributes_json(extras: pd.DataFrame) -> np.ndarray:
    """One JSON object per row (None when the file has no extra columns), serialised by pandas in C."""
    n = len(extras)
    if extras.shape[1] == 0 or n == 0:
        return np.full(n, None, dtype=object)
    lines = extras.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    return np.asarray(lines.rstrip("\n").split("\n"), dtype=object)


def insert_hotspots(session: Session, frame: pd.DataFrame) -> int:
    """Insert the frame's rows, skipping detection keys already stored; returns how many were new."""
    if not len(frame):
        return 0
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _insert_postgres(conn, frame)
    return _insert_sqlite(conn, frame)


_STAGED = tuple(c for c in _COLUMNS if c not in ("acq_time", "ingested_at"))


def _insert_sqlite(conn: Any, frame: pd.DataFrame) -> int:
    """One executemany of plain tuples on the driver cursor."""
    f = frame[[*_STAGED, "lon", "lat"]].astype(object)
    f = f.where(frame[[*_STAGED, "lon", "lat"]].notna(), None)
    # SQLAlchemy's SQLite DateTime text form ('YYYY-MM-DD HH:MM:SS.ffffff', UTC) so ORM reads and range
    # comparisons see the same values; numpy formats ISO in C, SQLite swaps the 'T'.
    f["acq_time"] = np.datetime_as_string(_utc_naive(frame["acq_time"]), unit="us")
    f["ingested_at"] = np.datetime_as_string(_utc_naive(frame["ingested_at"]), unit="us")
    cols = ", ".join(_STAGED)
    marks = ", ".join("?" for _ in _STAGED)
    sql = (
        f"INSERT INTO hotspot ({cols}, geom, acq_time, ingested_at) "
        f"VALUES ({marks}, MakePoint(?, ?, 4326), replace(?, 'T', ' '), replace(?, 'T', ' ')) "
        "ON CONFLICT (detection_key) DO NOTHING"
    )
    # The write lock is held since BEGIN IMMEDIATE and skipped rows take no id, so the id range grows by
    # exactly the number of new rows (total_changes would also count the spatial-index trigger rows).
    top = "SELECT coalesce(max(id), 0) FROM hotspot"
    before = conn.exec_driver_sql(top).scalar_one()
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.executemany(sql, f.itertuples(index=False, name=None))
    finally:
        cur.close()
    return int(conn.exec_driver_sql(top).scalar_one() - before)


def _utc_naive(values: pd.Series) -> np.ndarray:
    """datetime64[us] UTC wall times from an aware column."""
    return pd.DatetimeIndex(values).tz_convert(UTC).tz_localize(None).as_unit("us").to_numpy()


def _insert_postgres(conn: Any, frame: pd.DataFrame) -> int:
    """COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING."""
    raw = conn.connection.driver_connection
    cols = ", ".join(_STAGED)
    with raw.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS hotspot_stage ON COMMIT DELETE ROWS AS "
            f"SELECT {cols}, NULL::float8 AS lon, NULL::float8 AS lat, NULL::int8 AS acq_us, "
            "NULL::int8 AS ingested_us FROM hotspot WITH NO DATA"
        )
        cur.execute("TRUNCATE hotspot_stage")
        staged = frame[[*_STAGED, "lon", "lat"]].copy()
        # Integer microseconds since the epoch: formatting timestamps as text per row is the slow part of COPY.
        staged["acq_us"] = _utc_naive(frame["acq_time"]).astype(np.int64)
        staged["ingested_us"] = _utc_naive(frame["ingested_at"]).astype(np.int64)
        buf = io.StringIO()
        staged.to_csv(buf, index=False, header=False)
        with cur.copy(f"COPY hotspot_stage ({cols}, lon, lat, acq_us, ingested_us) FROM STDIN WITH (FORMAT csv)") as cp:
            cp.write(buf.getvalue())
        epoch = "timestamptz '1970-01-01 00:00:00+00' + {} * interval '1 microsecond'"
        cur.execute(
            f"INSERT INTO hotspot ({cols}, geom, acq_time, ingested_at) "
            f"SELECT DISTINCT ON (detection_key) {cols}, ST_SetSRID(ST_MakePoint(lon, lat), 4326), "
            f"{epoch.format('acq_us')}, {epoch.format('ingested_us')} FROM hotspot_stage "
            "ON CONFLICT (detection_key) DO NOTHING"
        )
        return max(cur.rowcount, 0)


def ingest_detections(
    sessions: sessionmaker[Session],
    source_file: str | Path | IO[Any],
    *,
    locator: Any,
    fmt: Format = "auto",
    columns: GenericColumns | Mapping[str, str] | None = None,
    source: str | None = None,
    actor: str | None = None,
    hub: Any = None,
    chunk_rows: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
    alert_near_km: float = 5.0,
) -> IngestReport:
    """Stream a FIRMS/generic CSV into `hotspot`: tag, keep the area, insert new keys; one commit per chunk.

    Missing required columns raise FirmsFormatError before anything is written. `progress(rows, bytes)`
    is called after each chunk. An audit record (and a `hotspots.ingested` event when `hub` is given)
    closes the ingest. New nominal/high detections in a kecamatan (or within `alert_near_km` of a desa centre)
    raise area alerts (store.ground_checks.evaluate_alerts) in the same closing transaction.
    """
    # Both modules read the Hotspot model of this one.
    from store.ground_checks import evaluate_alerts
    from store.heat_sources import source_lookup

    report = IngestReport()
    started = utcnow()
    stream = read_detections(source_file, fmt=fmt, columns=columns, chunk_rows=chunk_rows)
    report.fmt = stream.fmt
    handle = getattr(stream, "_handle", None)
    with sessions() as session:
        static_sources = source_lookup(session)
    with stream:
        # A confidence column of unknown coding raises ConfidenceCodingError at the first block, before any
        # row is stored.
        for chunk in stream:
            report.confidence_coding = stream.confidence_coding
            report.read += len(chunk) + len(chunk.rejects)
            report.rejected += len(chunk.rejects)
            room = MAX_REPORTED_REJECTS - len(report.rejects)
            if room > 0:
                report.rejects.extend(chunk.rejects[:room])
            # The H3 cells of every resolution are computed in the H3 threads while the chunk is tagged.
            kept = select_area(chunk, locator=locator, h3_resolutions=H3_RESOLUTIONS)
            report.kept += len(kept)
            report.outside += len(chunk) - len(kept)
            if len(kept):
                for z, c in kept.frame["zone"].value_counts().items():
                    report.zones[str(z)] = report.zones.get(str(z), 0) + int(c)
                t = pd.DatetimeIndex(kept.frame["acq_time_utc"])
                lo, hi = t.min().to_pydatetime(), t.max().to_pydatetime()
                report.first_time = lo if report.first_time is None else min(report.first_time, lo)
                report.last_time = hi if report.last_time is None else max(report.last_time, hi)
                frame = hotspot_frame(kept, source=source, ingested_at=utcnow(), static_sources=static_sources)
                report.date_only += int(frame["date_only"].sum())
                report.static_source += int(frame["static_source_id"].notna().sum())
                with sessions() as session, session.begin():
                    report.inserted += insert_hotspots(session, frame)
            if progress is not None:
                progress(len(chunk) + len(chunk.rejects), _position(handle))
    report.duplicate = report.kept - report.inserted
    counts = report.counts()
    with sessions() as session, session.begin():
        if report.inserted:
            report.alerts = len(evaluate_alerts(session, ingested_since=started, near_km=alert_near_km, hub=hub))
            counts["alerts"] = report.alerts
        record_audit(session, actor=actor, action="hotspots.ingest", entity="hotspot", entity_id=None, after=counts)
        if hub is not None and report.inserted:
            hub.publish(
                session,
                "hotspots.ingested",
                {
                    "inserted": report.inserted,
                    "first_time": counts["first_time"],
                    "last_time": counts["last_time"],
                    "source": source or report.fmt,
                },
            )
    return report


def _position(handle: Any) -> int:
    """Bytes consumed so far from the underlying file (0 when it cannot tell)."""
    try:
        raw = getattr(handle, "buffer", handle)
        return int(raw.tell())
    except (AttributeError, OSError, ValueError):
        return 0


# ------------------------------------------------------------------------------------- reading


def record_job_start(session: Session, job: str) -> JobRun:
    """A job_run row for a run that starts now."""
    run = JobRun(job=job, started_at=utcnow())
    session.add(run)
    session.flush()
    return run


def recent_runs(session: Session, *, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest job runs, newest first, as JSON-able dicts."""
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return [
        {
            "id": r.id,
            "job": r.job,
            "started_at": iso_utc(r.started_at),
            "finished_at": iso_utc(r.finished_at),
            "ok": r.ok,
            "message": r.message,
            "counts": r.counts,
        }
        for r in session.scalars(stmt)
    ]

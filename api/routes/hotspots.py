"""Fire hotspots (FIRMS): GeoJSON points, H3 hexagons, per-desa/kecamatan tables, persistence, Gi* clusters."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from api.auth import PlannerDep, ReaderDep
from api.deps import ContextDep, SessionDep
from api.errors import InvalidInput
from api.responses import FastJSON
from api.routes.layers import parse_bbox
from geo.clusters import getis_ord
from geo.firms import CONFIDENCE_LEVELS, FirmsFormatError
from geo.hexagons import aggregate_cells, cells_from_str, cells_geojson, local_days, persistence
from store.accounts import utcnow
from store.hotspots import ZONES, Hotspot, as_utc, db_time, ingest_detections

router = APIRouter(prefix="/api/hotspots", tags=["hotspots"])

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
MAX_FEATURES = 50_000
WIB = "Asia/Jakarta"


@dataclass(frozen=True)
class HotspotFilter:
    """A resolved query: UTC time range, confidence levels, bbox, zones, kecamatan and desa codes."""

    since: datetime | None
    until: datetime
    confidence: tuple[str, ...]
    bbox: tuple[float, float, float, float] | None
    zones: tuple[str, ...]
    kecamatan: str | None
    desa: str | None

    def describe(self) -> dict[str, Any]:
        """The filter as JSON (echoed in every answer so a table says what it counts)."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat(),
            "confidence": list(self.confidence) or None,
            "bbox": list(self.bbox) if self.bbox else None,
            "zone": list(self.zones) or None,
            "kecamatan": self.kecamatan,
            "desa": self.desa,
        }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(p.strip().lower() for p in (raw or "").split(",") if p.strip())


def _known(text: str | None, *, allowed: tuple[str, ...], field: str, what_id: str, what_en: str) -> tuple[str, ...]:
    """The comma-separated values of a query parameter, or a 422 naming the unknown ones and the allowed."""
    values = _split(text)
    bad = [v for v in values if v not in allowed]
    if bad:
        choices = ", ".join(allowed)
        raise InvalidInput(
            f"{what_id} tidak dikenal: {', '.join(bad)} ({choices})",
            f"Unknown {what_en}: {', '.join(bad)} ({choices})",
            field=field,
        )
    return values


def hotspot_filter(
    window: Annotated[
        Literal["24h", "7d", "30d", "all", "custom"],
        Query(description="Jendela waktu / time window; custom memakai since/until"),
    ] = "7d",
    since: Annotated[datetime | None, Query(description="Mulai (ISO-8601, UTC bila tanpa zona) / start")] = None,
    until: Annotated[datetime | None, Query(description="Akhir (bawaan sekarang) / end (default now)")] = None,
    confidence: Annotated[str | None, Query(description="low,nominal,high (koma / comma separated)")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    zone: Annotated[str | None, Query(description="inside,border,kalteng")] = None,
    kecamatan: Annotated[str | None, Query(description="Kode kecamatan / kecamatan code")] = None,
    desa: Annotated[str | None, Query(description="Kode desa / desa code")] = None,
) -> HotspotFilter:
    """The hotspot filter from the query string, checked, with bilingual errors naming the field."""
    end = _aware(until) or utcnow()
    start = _aware(since)
    if window == "custom":
        if start is None:
            raise InvalidInput("Jendela 'custom' memerlukan 'since'", "window 'custom' needs 'since'", field="since")
    elif window == "all":
        start = None
    else:
        if since is not None:
            raise InvalidInput(
                "'since' hanya untuk window=custom", "'since' is only used with window=custom", field="since"
            )
        start = end - WINDOWS[window]
    if start is not None and start >= end:
        raise InvalidInput("'since' harus sebelum 'until'", "'since' must be before 'until'", field="since")
    levels = _known(confidence, allowed=CONFIDENCE_LEVELS, field="confidence",
                    what_id="Tingkat kepercayaan", what_en="confidence level(s)")
    zones = _known(zone, allowed=ZONES, field="zone", what_id="Zona", what_en="zone(s)")
    return HotspotFilter(start, end, levels, parse_bbox(bbox), zones, kecamatan, desa)


FilterDep = Annotated[HotspotFilter, Depends(hotspot_filter)]


def apply_filter(stmt: Select, flt: HotspotFilter, dialect: str) -> Select:
    """Add the filter's WHERE clauses to a select over `hotspot`."""
    stmt = stmt.where(Hotspot.acq_time <= db_time(flt.until, dialect))
    if flt.since is not None:
        stmt = stmt.where(Hotspot.acq_time >= db_time(flt.since, dialect))
    if flt.confidence:
        stmt = stmt.where(Hotspot.confidence.in_(flt.confidence))
    if flt.zones:
        stmt = stmt.where(Hotspot.zone.in_(flt.zones))
    if flt.kecamatan:
        stmt = stmt.where(Hotspot.kecamatan_code == flt.kecamatan)
    if flt.desa:
        stmt = stmt.where(Hotspot.desa_code == flt.desa)
    if flt.bbox:
        x0, y0, x1, y1 = flt.bbox
        stmt = stmt.where(func.ST_X(Hotspot.geom).between(x0, x1), func.ST_Y(Hotspot.geom).between(y0, y1))
    return stmt


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _frame(session: Session, flt: HotspotFilter, columns: list[Any], names: list[str]) -> pd.DataFrame:
    stmt = apply_filter(select(*columns), flt, _dialect(session))
    rows = session.execute(stmt).all()
    return pd.DataFrame.from_records(rows, columns=names)


def _times(values: pd.Series) -> pd.DatetimeIndex:
    t = pd.to_datetime(values, utc=True) if len(values) else pd.DatetimeIndex([], tz=UTC)
    return pd.DatetimeIndex(t)


def _wib(t: datetime | None) -> str | None:
    return pd.Timestamp(t).tz_convert(WIB).strftime("%d-%m-%Y %H:%M WIB") if t is not None else None


def _check_res(res: int) -> int:
    if not 5 <= res <= 9:
        raise InvalidInput("Resolusi H3 harus 5..9", "H3 resolution must be 5..9", field="res")
    return res


@router.get("", summary="Titik panas GeoJSON / hotspots as GeoJSON")
def hotspots(
    session: SessionDep,
    _: ReaderDep,
    flt: FilterDep,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES)] = 10_000,
) -> FastJSON:
    """Detections in the window as a GeoJSON FeatureCollection (newest first, at most `limit`)."""
    cols = [
        Hotspot.id,
        func.ST_X(Hotspot.geom),
        func.ST_Y(Hotspot.geom),
        Hotspot.acq_time,
        Hotspot.confidence,
        Hotspot.frp,
        Hotspot.brightness,
        Hotspot.satellite,
        Hotspot.instrument,
        Hotspot.daynight,
        Hotspot.source,
        Hotspot.zone,
        Hotspot.desa_code,
        Hotspot.kecamatan_code,
        Hotspot.kabupaten_code,
        Hotspot.border_distance_m,
    ]
    stmt = apply_filter(select(*cols), flt, _dialect(session))
    stmt = stmt.order_by(Hotspot.acq_time.desc(), Hotspot.id.desc()).limit(limit + 1)
    rows = session.execute(stmt).all()
    truncated = len(rows) > limit
    rows = rows[:limit]
    # Whole columns at once (the times in WIB above all): a page holds up to MAX_FEATURES detections.
    frame = pd.DataFrame.from_records(rows, columns=[f"c{i}" for i in range(len(cols))])
    at = _times(frame["c3"])
    iso = [t.isoformat() for t in at.to_pydatetime()]
    wib = at.tz_convert(WIB).strftime("%d-%m-%Y %H:%M WIB").tolist()
    lon = np.round(frame["c1"].to_numpy(dtype=float), 6).tolist()
    lat = np.round(frame["c2"].to_numpy(dtype=float), 6).tolist()
    border = [None if r[15] is None else round(r[15], 1) for r in rows]
    features = [
        {
            "type": "Feature",
            "id": r[0],
            "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {
                "id": r[0],
                "acq_time": t_iso,
                "acq_time_wib": t_wib,
                "confidence": r[4],
                "frp": r[5],
                "brightness": r[6],
                "satellite": r[7],
                "instrument": r[8],
                "daynight": r[9],
                "source": r[10],
                "zone": r[11],
                "desa_code": r[12],
                "kecamatan_code": r[13],
                "kabupaten_code": r[14],
                "border_distance_m": b,
            },
        }
        for r, x, y, t_iso, t_wib, b in zip(rows, lon, lat, iso, wib, border, strict=True)
    ]
    return FastJSON(
        {
            "type": "FeatureCollection",
            "features": features,
            "count": len(features),
            "truncated": truncated,
            "filter": flt.describe(),
        }
    )


@router.get("/h3", summary="Agregat heksagon H3 / H3 hexagon aggregates")
def hexagons(
    session: SessionDep,
    _: ReaderDep,
    flt: FilterDep,
    res: Annotated[int, Query(description="Resolusi H3 / H3 resolution 5..9")] = 7,
) -> FastJSON:
    """Per H3 cell: detection count, summed FRP, highest confidence, first/last seen; GeoJSON hexagons."""
    res = _check_res(res)
    col = getattr(Hotspot, f"h3_{res}")
    df = _frame(session, flt, [col, Hotspot.frp, Hotspot.confidence, Hotspot.acq_time], ["h3", "frp", "conf", "t"])
    agg = aggregate_cells(
        cells=cells_from_str(df["h3"].to_numpy()),
        frp=df["frp"].to_numpy(dtype=np.float64),
        confidence=df["conf"].to_numpy(dtype=object),
        acq_time_utc=_times(df["t"]),
    ).drop(columns=["max_confidence_rank"])
    agg["frp_sum"] = agg["frp_sum"].round(2)
    out = cells_geojson(agg)
    out.update({"resolution": res, "cells": len(agg), "detections": int(len(df)), "filter": flt.describe()})
    return FastJSON(out)


def _table(session: SessionDep, flt: HotspotFilter, key: Any) -> dict[str, dict[str, Any]]:
    high = func.sum(case((Hotspot.confidence == "high", 1), else_=0))
    stmt = (
        select(
            key,
            func.count(Hotspot.id),
            func.sum(Hotspot.frp),
            high,
            func.min(Hotspot.acq_time),
            func.max(Hotspot.acq_time),
        )
        .where(key.is_not(None))
        .group_by(key)
    )
    stmt = apply_filter(stmt, flt, _dialect(session))
    out = {}
    for code, count, frp, hi, first, last in session.execute(stmt).all():
        first, last = as_utc(_dt(first)), as_utc(_dt(last))
        out[code] = {
            "count": int(count),
            "frp_sum": round(float(frp or 0.0), 2),
            "high_confidence": int(hi or 0),
            "first_seen": first.isoformat() if first else None,
            "last_seen": last.isoformat() if last else None,
            "last_seen_wib": _wib(last),
        }
    return out


def _dt(value: Any) -> datetime | None:
    """SQLite aggregates hand back text, PostgreSQL datetimes."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


_EMPTY = {
    "count": 0,
    "frp_sum": 0.0,
    "high_confidence": 0,
    "first_seen": None,
    "last_seen": None,
    "last_seen_wib": None,
}


@router.get("/by-desa", summary="Tabel per desa / per-desa table")
def by_desa(ctx: ContextDep, session: SessionDep, _: ReaderDep, flt: FilterDep) -> FastJSON:
    """Every desa of Barito Selatan with its detections in the window (zeros included), most first."""
    stats = _table(session, flt, Hotspot.desa_code)
    desa = ctx.spatial.layers.desa
    rows = [
        {"desa_code": c, "desa_name": n, "kecamatan_code": k, "kecamatan": kn, **stats.get(c, _EMPTY)}
        for c, n, k, kn in zip(
            desa.code.tolist(),
            desa.name.tolist(),
            desa.attrs["kecamatan_kode"].tolist(),
            desa.attrs["kecamatan"].tolist(),
            strict=True,
        )
    ]
    rows.sort(key=lambda r: (-r["count"], -r["frp_sum"], r["desa_code"]))
    return FastJSON({"rows": rows, "total": sum(r["count"] for r in rows), "filter": flt.describe()})


@router.get("/by-kecamatan", summary="Tabel per kecamatan / per-kecamatan table")
def by_kecamatan(ctx: ContextDep, session: SessionDep, _: ReaderDep, flt: FilterDep) -> FastJSON:
    """The six kecamatan with their detections in the window (zeros included), most first."""
    stats = _table(session, flt, Hotspot.kecamatan_code)
    kec = ctx.spatial.layers.kecamatan
    rows = [
        {"kecamatan_code": c, "kecamatan": n, **stats.get(c, _EMPTY)}
        for c, n in zip(kec.code.tolist(), kec.name.tolist(), strict=True)
    ]
    rows.sort(key=lambda r: (-r["count"], -r["frp_sum"], r["kecamatan_code"]))
    return FastJSON({"rows": rows, "total": sum(r["count"] for r in rows), "filter": flt.describe()})


@router.get("/persistence", summary="Persistensi per sel H3 / consecutive burning days per H3 cell")
def burning_days(
    session: SessionDep,
    _: ReaderDep,
    flt: FilterDep,
    res: Annotated[int, Query(description="Resolusi H3 / H3 resolution 5..9")] = 7,
    min_days: Annotated[int, Query(ge=1, le=366)] = 1,
) -> FastJSON:
    """Per H3 cell: days burned, longest and current run of consecutive WIB days (current = ending on `until`)."""
    res = _check_res(res)
    col = getattr(Hotspot, f"h3_{res}")
    df = _frame(session, flt, [col, Hotspot.acq_time], ["h3", "t"])
    as_of = pd.Timestamp(flt.until).tz_convert(WIB).date()
    per = persistence(cells_from_str(df["h3"].to_numpy()), local_days(_times(df["t"])), as_of=as_of)
    if len(per):
        per = per[per["longest_run"] >= min_days].sort_values(["longest_run", "days_burned"], ascending=False)
        per["first_day"] = per["first_day"].astype(str)
        per["last_day"] = per["last_day"].astype(str)
    out = cells_geojson(per.reset_index(drop=True)) if len(per) else {"type": "FeatureCollection", "features": []}
    out.update({"resolution": res, "as_of": str(as_of), "cells": len(per), "filter": flt.describe()})
    return FastJSON(out)


@router.get("/clusters", summary="Klaster Getis-Ord Gi* / Gi* hot-spot clusters")
def clusters(
    session: SessionDep,
    _: ReaderDep,
    flt: FilterDep,
    res: Annotated[int, Query(description="Resolusi H3 / H3 resolution 5..9")] = 7,
    value: Annotated[Literal["count", "frp"], Query(description="Nilai yang diuji / tested value")] = "count",
    significant_only: bool = True,
) -> FastJSON:
    """Getis-Ord Gi* over H3 cells (k=1 ring, zero-padded study area): hot99/hot95/cold95/cold99/ns."""
    res = _check_res(res)
    col = getattr(Hotspot, f"h3_{res}")
    df = _frame(session, flt, [col, Hotspot.frp], ["h3", "frp"])
    agg = aggregate_cells(cells=cells_from_str(df["h3"].to_numpy()), frp=df["frp"].to_numpy(dtype=np.float64))
    values = agg["count"].to_numpy(dtype=np.float64) if value == "count" else agg["frp_sum"].to_numpy()
    gi = getis_ord(cells=agg["cell"].to_numpy(), values=values)
    counts = {c: int((gi["cls"] == c).sum()) for c in ("hot99", "hot95", "cold95", "cold99")}
    if significant_only:
        gi = gi[gi["cls"] != "ns"]
    gi = gi.rename(columns={"cls": "class"}).reset_index(drop=True)
    gi["z"] = gi["z"].round(3)
    gi["p"] = gi["p"].round(5)
    out = cells_geojson(gi) if len(gi) else {"type": "FeatureCollection", "features": []}
    out.update(
        {
            "resolution": res,
            "value": value,
            "observed_cells": len(agg),
            "classes": counts,
            "method": "Getis-Ord Gi* (esda), z two-sided: 95 % |z|>=1.96, 99 % |z|>=2.576",
            "filter": flt.describe(),
        }
    )
    return FastJSON(out)


@router.post("/upload", status_code=201, summary="Unggah CSV FIRMS / upload a FIRMS or generic CSV")
async def upload(
    ctx: ContextDep,
    user: PlannerDep,
    file: Annotated[UploadFile, File(description="CSV FIRMS MODIS/VIIRS atau generik / FIRMS or generic CSV")],
    format: Annotated[Literal["auto", "modis", "viirs", "generic"], Form()] = "auto",  # noqa: A002
    lat_column: Annotated[str | None, Form()] = None,
    lon_column: Annotated[str | None, Form()] = None,
    date_column: Annotated[str | None, Form()] = None,
    time_column: Annotated[str | None, Form()] = None,
    source: Annotated[str | None, Form(max_length=32)] = None,
) -> FastJSON:
    """Ingest an uploaded CSV in a worker thread; counts and the first rejected lines come back."""
    columns = {
        k: v
        for k, v in {"latitude": lat_column, "longitude": lon_column, "date": date_column, "time": time_column}.items()
        if v
    } or None
    state = ctx
    with tempfile.TemporaryDirectory(prefix="sigap-upload-") as tmp:
        path = Path(tmp) / "upload.csv"
        with path.open("wb") as out:
            await asyncio.to_thread(shutil.copyfileobj, file.file, out, 1 << 20)
        try:
            report = await asyncio.to_thread(
                ingest_detections,
                state.sessions,
                path,
                locator=state.spatial.locator,
                fmt=format,
                columns=columns,
                source=source,
                actor=user.username,
                hub=state.events,
            )
        except FirmsFormatError as exc:
            msg = str(exc)
            mid, _, men = msg.partition(" / ")
            raise InvalidInput(mid, men or mid, field="file") from exc
    return FastJSON({"filename": file.filename, **report.counts()}, status_code=201)

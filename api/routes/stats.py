"""Figures for the leader view: open incidents, response times, hotspots and flooded desa, at a glance.

Each source table belongs to another concern (incidents, hotspots, floods); a table that does not exist
yet counts as zero rather than failing the whole summary, and `sources` says which ones were read.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from fastapi import APIRouter
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, and_, case, func, inspect, select
from sqlalchemy.orm import Session

from api.auth import ReaderDep
from api.deps import ContextDep, SessionDep
from api.responses import FastJSON
from geo.layers import Layers
from store.accounts import utcnow
from store.lifecycle import LABELS, OPEN_STATES, IncidentState

router = APIRouter(prefix="/api/stats", tags=["stats"])
WIB = ZoneInfo("Asia/Jakarta")

# Only the columns read here, on a private MetaData so table creation and test cleaning never see them.
_meta = MetaData()
incident_t = Table(
    "incident",
    _meta,
    Column("id", Integer),
    Column("status", String),
    Column("kecamatan_code", String),
    Column("created_at", DateTime(timezone=True)),
    Column("merged_into_id", Integer),
)
transition_t = Table(
    "incident_transition",
    _meta,
    Column("incident_id", Integer),
    Column("status", String),
    Column("at", DateTime(timezone=True)),
)
hotspot_t = Table("hotspot", _meta, Column("id", Integer), Column("acq_time", DateTime(timezone=True)))
OPEN_CODES = [s.value for s in IncidentState if s in OPEN_STATES]


def _tables(session: Session) -> set[str]:
    return set(inspect(session.connection()).get_table_names())


def _utc(values: list[datetime | None]) -> np.ndarray:
    """datetime64[s] UTC array; SQLite hands back naive values, which are stored UTC."""
    out = [None if v is None else (v if v.tzinfo is None else v.astimezone(UTC).replace(tzinfo=None)) for v in values]
    return np.array(out, dtype="datetime64[s]")


def percentiles(seconds: np.ndarray) -> dict[str, Any]:
    """Count, median and 90th percentile (seconds) of the finite, non-negative values."""
    s = seconds[np.isfinite(seconds) & (seconds >= 0)]
    if not len(s):
        return {"n": 0, "median_s": None, "p90_s": None}
    med, p90 = np.percentile(s, [50, 90])
    return {"n": int(len(s)), "median_s": round(float(med), 1), "p90_s": round(float(p90), 1)}


def start_of_wib_day(now: datetime) -> datetime:
    """Midnight of today in WIB, as a UTC datetime."""
    local = now.astimezone(WIB)
    return datetime.combine(local.date(), time(0), tzinfo=WIB).astimezone(UTC)


def incident_figures(session: Session, *, now: datetime, layers: Layers) -> dict[str, Any]:
    """Open incidents by status and kecamatan, calls today, response times today and over 30 days."""
    names = dict(zip(layers.kecamatan.code, layers.kecamatan.name, strict=True))
    by_status = dict(
        session.execute(
            select(incident_t.c.status, func.count())
            .where(incident_t.c.status.in_(OPEN_CODES), incident_t.c.merged_into_id.is_(None))
            .group_by(incident_t.c.status)
        ).all()
    )
    by_kec = session.execute(
        select(incident_t.c.kecamatan_code, func.count())
        .where(incident_t.c.status.in_(OPEN_CODES), incident_t.c.merged_into_id.is_(None))
        .group_by(incident_t.c.kecamatan_code)
    ).all()
    today = start_of_wib_day(now)
    since = now - timedelta(days=30)
    calls_today = (
        session.scalar(select(func.count()).select_from(incident_t).where(incident_t.c.created_at >= today)) or 0
    )
    first = lambda state: func.min(case((transition_t.c.status == state, transition_t.c.at)))  # noqa: E731
    rows = session.execute(
        select(incident_t.c.created_at, first("dikirim"), first("tiba"))
        .select_from(incident_t.outerjoin(transition_t, transition_t.c.incident_id == incident_t.c.id))
        .where(and_(incident_t.c.created_at >= since, incident_t.c.merged_into_id.is_(None)))
        .group_by(incident_t.c.id, incident_t.c.created_at)
    ).all()
    cols = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    created, dispatched, on_scene = (_utc(list(col)) for col in cols)
    to_dispatch = (dispatched - created).astype("float64")
    to_scene = (on_scene - created).astype("float64")
    is_today = created >= np.datetime64(today.replace(tzinfo=None), "s")
    daily_median = []
    if len(created):
        day = (created + np.timedelta64(7, "h")).astype("datetime64[D]")
        for d in np.unique(day):
            sel = (day == d) & np.isfinite(to_scene)
            daily_median.append({"date": str(d), "calls": int((day == d).sum()), **percentiles(to_scene[sel])})
    return {
        "open_total": int(sum(by_status.values())),
        "open_by_status": [
            {
                "status": s.value,
                "label_id": LABELS[s].id,
                "label_en": LABELS[s].en,
                "count": int(by_status.get(s.value, 0)),
            }
            for s in IncidentState
            if s in OPEN_STATES
        ],
        "open_by_kecamatan": sorted(
            (
                {
                    "code": code,
                    "name": names.get(code, "Di luar / outside") if code else "Tanpa lokasi / unlocated",
                    "count": int(n),
                }
                for code, n in by_kec
            ),
            key=lambda r: (-r["count"], r["name"]),
        ),
        "calls_today": int(calls_today),
        "response": {
            "call_to_scene": {
                "today": percentiles(to_scene[is_today]),
                "last_30d": percentiles(to_scene),
            },
            "call_to_dispatch": {
                "today": percentiles(to_dispatch[is_today]),
                "last_30d": percentiles(to_dispatch),
            },
            "daily": daily_median,
        },
    }


def empty_incident_figures() -> dict[str, Any]:
    """The incident figures when the incident table does not exist yet."""
    none = {"n": 0, "median_s": None, "p90_s": None}
    return {
        "open_total": 0,
        "open_by_status": [
            {"status": s.value, "label_id": LABELS[s].id, "label_en": LABELS[s].en, "count": 0}
            for s in IncidentState
            if s in OPEN_STATES
        ],
        "open_by_kecamatan": [],
        "calls_today": 0,
        "response": {
            "call_to_scene": {"today": none, "last_30d": none},
            "call_to_dispatch": {"today": none, "last_30d": none},
            "daily": [],
        },
    }


def flooded_desa(session: Session, layers: Layers) -> list[dict[str, Any]]:
    """Desa that intersect an active flood zone, with the flooded share of their area."""
    floods = importlib.import_module("store.floods")
    zones = floods.active_flood_geometries(session)
    if not zones:
        return []
    water = shapely.union_all(zones)
    desa = layers.desa
    hit = np.flatnonzero(shapely.intersects(desa.geometry, water))
    if not len(hit):
        return []
    # Shares are ratios of areas in the same degrees, fine for ranking near the equator.
    share = shapely.area(shapely.intersection(desa.geometry[hit], water)) / shapely.area(desa.geometry[hit])
    kec = desa.attrs.get("kecamatan")
    rows = [
        {
            "code": str(desa.code[i]),
            "name": str(desa.name[i]),
            "kecamatan": None if kec is None else str(kec[i]),
            "share": round(float(s), 3),
        }
        for i, s in zip(hit, share, strict=True)
    ]
    return sorted(rows, key=lambda r: -r["share"])


@router.get("/summary", summary="Ringkasan situasi / situation summary")
def summary(ctx: ContextDep, session: SessionDep, _: ReaderDep) -> FastJSON:
    """Open incidents by status and kecamatan, response median/p90 (today, 30 d), hotspots 24 h, flooded desa."""
    now = utcnow()
    layers: Layers = ctx.spatial.layers
    tables = _tables(session)
    sources = {
        "incidents": {"incident", "incident_transition"} <= tables,
        "hotspots": "hotspot" in tables,
        "floods": "flood_zone" in tables,
    }
    figures = incident_figures(session, now=now, layers=layers) if sources["incidents"] else empty_incident_figures()
    hotspots_24h = 0
    if sources["hotspots"]:
        hotspots_24h = session.scalar(
            select(func.count()).select_from(hotspot_t).where(hotspot_t.c.acq_time >= now - timedelta(hours=24))
        )
    flooded = flooded_desa(session, layers) if sources["floods"] else []
    local = now.astimezone(WIB)
    return FastJSON(
        {
            "generated_at": now.isoformat(),
            "generated_at_wib": local.strftime("%d-%m-%Y %H:%M WIB"),
            **figures,
            "hotspots_24h": int(hotspots_24h or 0),
            "flooded_desa": flooded,
            "flooded_desa_count": len(flooded),
            "sources": sources,
        }
    )

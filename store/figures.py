"""The leader's figures: open incidents, response times, hotspots of the last day and flooded desa."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from geo.layers import Layers
from geo.times import format_wib, iso_utc, utc_index, wib_day_start, wib_days
from store.floods import active_flood_geometries
from store.hotspot_stats import count_since
from store.incidents import Incident, IncidentTransition
from store.lifecycle import LABELS, OPEN_STATES, IncidentState

__all__ = ["flooded_desa", "incident_figures", "percentiles", "situation_summary"]

OPEN_CODES = [s.value for s in IncidentState if s in OPEN_STATES]


def _seconds(values: list[datetime | None]) -> np.ndarray:
    """datetime64[s] UTC wall times (NaT where None)."""
    return utc_index(values).tz_localize(None).to_numpy().astype("datetime64[s]")


def percentiles(seconds: np.ndarray) -> dict[str, Any]:
    """Count, median and 90th percentile (seconds) of the finite, non-negative values."""
    s = seconds[np.isfinite(seconds) & (seconds >= 0)]
    if not len(s):
        return {"n": 0, "median_s": None, "p90_s": None}
    med, p90 = np.percentile(s, [50, 90])
    return {"n": int(len(s)), "median_s": round(float(med), 1), "p90_s": round(float(p90), 1)}


def incident_figures(session: Session, *, now: datetime, layers: Layers) -> dict[str, Any]:
    """Open incidents by status and kecamatan, calls today, response times today and over 30 days."""
    names = dict(zip(layers.kecamatan.code, layers.kecamatan.name, strict=True))
    is_open = (Incident.status.in_(OPEN_CODES), Incident.merged_into_id.is_(None))
    by_status = dict(
        session.execute(select(Incident.status, func.count()).where(*is_open).group_by(Incident.status)).all()
    )
    by_kec = session.execute(
        select(Incident.kecamatan_code, func.count()).where(*is_open).group_by(Incident.kecamatan_code)
    ).all()
    today = wib_day_start(now)
    calls_today = session.scalar(select(func.count(Incident.id)).where(Incident.created_at >= today)) or 0

    def first(state: str) -> Any:
        return func.min(case((IncidentTransition.status == state, IncidentTransition.at)))

    rows = session.execute(
        select(Incident.created_at, first("dikirim"), first("tiba"))
        .select_from(Incident)
        .outerjoin(IncidentTransition, IncidentTransition.incident_id == Incident.id)
        .where(and_(Incident.created_at >= now - timedelta(days=30), Incident.merged_into_id.is_(None)))
        .group_by(Incident.id, Incident.created_at)
    ).all()
    cols = list(zip(*rows, strict=True)) if rows else [(), (), ()]
    created, dispatched, on_scene = (_seconds(list(col)) for col in cols)
    to_dispatch = (dispatched - created).astype("float64")
    to_scene = (on_scene - created).astype("float64")
    is_today = created >= np.datetime64(today.replace(tzinfo=None), "s")
    daily = []
    if len(created):
        day = wib_days(created)
        for d in np.unique(day):
            sel = (day == d) & np.isfinite(to_scene)
            daily.append({"date": str(d), "calls": int((day == d).sum()), **percentiles(to_scene[sel])})
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
            "call_to_scene": {"today": percentiles(to_scene[is_today]), "last_30d": percentiles(to_scene)},
            "call_to_dispatch": {"today": percentiles(to_dispatch[is_today]), "last_30d": percentiles(to_dispatch)},
            "daily": daily,
        },
    }


def flooded_desa(session: Session, layers: Layers) -> list[dict[str, Any]]:
    """Desa that intersect an active flood zone, with the flooded share of their area."""
    zones = active_flood_geometries(session)
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


def situation_summary(session: Session, *, now: datetime, layers: Layers) -> dict[str, Any]:
    """Everything the leader's page shows: incident figures, hotspots of the last 24 h, flooded desa."""
    flooded = flooded_desa(session, layers)
    return {
        "generated_at": iso_utc(now),
        "generated_at_wib": format_wib(now),
        **incident_figures(session, now=now, layers=layers),
        "hotspots_24h": count_since(session, now - timedelta(hours=24)),
        "flooded_desa": flooded,
        "flooded_desa_count": len(flooded),
        # Every source is read on every call (kept for clients that check it).
        "sources": {"incidents": True, "hotspots": True, "floods": True},
    }

"""The leader's figures: open incidents, response times, hotspots of the last day and flooded desa."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from geo.floods import affected_desa
from geo.layers import Layers
from geo.times import format_wib, iso_utc, utc_index, wib_day_start, wib_days
from store.floods import active_flood_geometries
from store.hotspot_stats import count_since
from store.incidents import Incident, IncidentTransition
from store.lifecycle import LABELS, OPEN_STATES, IncidentState

__all__ = ["flooded_desa", "incident_figures", "percentiles", "situation_summary"]

OPEN_CODES = [s.value for s in IncidentState if s in OPEN_STATES]
# The defaults of the settings SIGAP_FLOODED_SHARE, SIGAP_TARGET_DISPATCH_MINUTES and SIGAP_TARGET_SCENE_MINUTES.
DEFAULT_FLOODED_SHARE = 0.05
DEFAULT_DISPATCH_TARGET_S = 120.0
DEFAULT_SCENE_TARGET_S = 1800.0


def _seconds(values: list[datetime | None]) -> np.ndarray:
    """datetime64[s] UTC wall times (NaT where None)."""
    return utc_index(values).tz_localize(None).to_numpy().astype("datetime64[s]")


def percentiles(seconds: np.ndarray, *, target_s: float | None = None) -> dict[str, Any]:
    """Count, median and 90th percentile (seconds) of the finite, non-negative values.

    With a target: also how many of them were within it (``within_target``), for "17 dari 20 dalam 2 menit".
    """
    s = seconds[np.isfinite(seconds) & (seconds >= 0)]
    within = {} if target_s is None else {"within_target": int((s <= target_s).sum())}
    if not len(s):
        return {"n": 0, "median_s": None, "p90_s": None, **within}
    med, p90 = np.percentile(s, [50, 90])
    return {"n": int(len(s)), "median_s": round(float(med), 1), "p90_s": round(float(p90), 1), **within}


def incident_figures(
    session: Session,
    *,
    now: datetime,
    layers: Layers,
    dispatch_target_s: float = DEFAULT_DISPATCH_TARGET_S,
    scene_target_s: float = DEFAULT_SCENE_TARGET_S,
) -> dict[str, Any]:
    """Open incidents by status and kecamatan, calls today, response times today and over 30 days (vs targets)."""
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
            "call_to_scene": {
                "today": percentiles(to_scene[is_today], target_s=scene_target_s),
                "last_30d": percentiles(to_scene, target_s=scene_target_s),
            },
            "call_to_dispatch": {
                "today": percentiles(to_dispatch[is_today], target_s=dispatch_target_s),
                "last_30d": percentiles(to_dispatch, target_s=dispatch_target_s),
            },
            "daily": daily,
            "targets": {"dispatch_s": float(dispatch_target_s), "scene_s": float(scene_target_s)},
        },
    }


def flooded_desa(
    session: Session, layers: Layers, *, min_share: float = DEFAULT_FLOODED_SHARE
) -> list[dict[str, Any]]:
    """Desa with at least `min_share` of their area (UTM 50S) under the active flood zones, most flooded first.

    A zone that only touches a desa's edge, or covers a sliver of it, does not make it "tergenang".
    """
    zones = active_flood_geometries(session)
    if not zones:
        return []
    desa = layers.desa
    table = affected_desa(
        shapely.union_all(zones), desa_geometry=desa.geometry, desa_code=desa.code, desa_name=desa.name
    )
    table = table[table["share"] >= min_share]
    kec = dict(zip(desa.code.tolist(), desa.attrs["kecamatan"].tolist(), strict=True))
    return [
        {"code": str(code), "name": str(name), "kecamatan": kec.get(code), "share": round(min(float(share), 1.0), 3)}
        for code, name, share in zip(table["desa_code"], table["desa_name"], table["share"], strict=True)
    ]


def situation_summary(
    session: Session,
    *,
    now: datetime,
    layers: Layers,
    flooded_share: float = DEFAULT_FLOODED_SHARE,
    dispatch_target_s: float = DEFAULT_DISPATCH_TARGET_S,
    scene_target_s: float = DEFAULT_SCENE_TARGET_S,
) -> dict[str, Any]:
    """Everything the leader's page shows: incident figures, hotspots of the last 24 h, flooded desa."""
    flooded = flooded_desa(session, layers, min_share=flooded_share)
    return {
        "generated_at": iso_utc(now),
        "generated_at_wib": format_wib(now),
        **incident_figures(
            session, now=now, layers=layers, dispatch_target_s=dispatch_target_s, scene_target_s=scene_target_s
        ),
        "hotspots_24h": count_since(session, now - timedelta(hours=24)),
        "flooded_desa": flooded,
        "flooded_desa_count": len(flooded),
        "flooded_share": float(flooded_share),
        # Every source is read on every call (kept for clients that check it).
        "sources": {"incidents": True, "hotspots": True, "floods": True},
    }

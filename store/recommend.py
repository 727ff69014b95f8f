"""Which units to send: per unit type the fastest available by travel time, and why the others are left out.

The ranking itself is ``geo.routing`` on the process's travel network (``store.travel``); this module picks
the unit types (the call's category, boats when it is on the water), reads every unit once per change
(cached), ranks and explains. The answer is the Recommendations document the API serves as it is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from geo.locate import Locator
from geo.routing import RankedUnit, leg_lines, rank_placed
from geo.water import boat_walk_m, circle_points, circle_touches_water
from store.catalog import Catalog
from store.floods import active_flood_geometries
from store.incidents import Incident, NeedsLocationError
from store.travel import NetworkView, TravelService
from store.units import ON_CALL_STATUSES

__all__ = ["BOAT_WALK_MAX_M", "LEFT_OUT_MESSAGES", "ON_WATER_M", "RANGE_ABOVE_M", "recommend",
           "recommend_for_incident", "unit_types_for"]

LEFT_OUT_MESSAGES: dict[str, tuple[str, str]] = {
    "bertugas": ("Sedang bertugas di kejadian lain", "Busy on another incident"),
    "offline": ("Unit offline", "Unit is offline"),
    "tidak_tersedia": ("Unit tidak tersedia (di luar dinas)", "Unit is out of service"),
    "stale": ("Posisi terakhir sudah terlalu lama", "Last known position is too old"),
    "unreachable": ("Tidak bisa mencapai lokasi kejadian", "Cannot reach the incident"),
}
# Within this distance of the river centre line an incident counts as on the water: boats are proposed.
ON_WATER_M = 100.0
# A boat crew's walk from its landing is capped (SIGAP_BOAT_WALK_MAX_M); a call known to more than this only
# (a village centre) gets its ETAs as a range over its circle.
BOAT_WALK_MAX_M = 1000.0
RANGE_ABOVE_M = 1000.0


def on_water(incident: Incident, locator: Locator, floods: list[Any] | None = None) -> bool:
    """True when the call's circle (its point and accuracy) comes within ON_WATER_M of the river or touches an
    active flood zone: a call placed by a village name by the river is near water, not only a point on it."""
    river = ((incident.location or {}).get("river") or {}).get("distance_m")
    if river is None and incident.lon is not None and incident.lat is not None:
        river = ((locator.locate(lon=incident.lon, lat=incident.lat) or {}).get("river") or {}).get("distance_m")
    if incident.lon is None or incident.lat is None:
        return False
    return circle_touches_water(lon=float(incident.lon), lat=float(incident.lat), radius_m=incident.accuracy_m or 0.0,
                                river_distance_m=river, near_m=ON_WATER_M, floods=floods or [])


def unit_types_for(
    catalog: Catalog, category: str, *, wanted: Sequence[str] | None, water: bool, plan: dict[str, Any] | None = None
) -> list[str]:
    """The unit types to rank: those asked for (each must exist), else the response plan's (possibly none:
    a category answered by agencies without units is told to inform them, not offered every unit).

    A category removed from the catalog since the call was recorded gets every type.
    """
    known = {u.code for u in catalog.unit_types}
    if wanted is None:
        if plan is not None:
            wanted = [u["type"] for u in plan["units"]]
        else:
            try:
                wanted = list(catalog.default_unit_types(category, on_water=water))
            except LookupError:
                wanted = sorted(known)
    bad = [t for t in wanted if t not in known]
    if bad:
        raise InvalidInput(
            f"Jenis unit tidak dikenal: {bad}; pilih dari {sorted(known)}",
            f"Unknown unit types: {bad}; choose from {sorted(known)}",
            field="types",
        )
    return list(wanted)


def recommend_for_incident(
    session: Session,
    service: TravelService,
    incident: Incident,
    *,
    catalog: Catalog,
    locator: Locator,
    types: Sequence[str] | None,
    k: int,
    now: datetime,
    stale_minutes: int,
    include_stale: bool = True,
    boat_walk_max_m: float = BOAT_WALK_MAX_M,
) -> dict[str, Any]:
    """The Recommendations document for an incident: the incident, the types ranked, per type the k best units.

    An incident without a location has nothing to rank from (NeedsLocationError). Known to more than
    RANGE_ABOVE_M only, its ETAs come with the range over its circle.
    """
    if incident.geom is None or incident.lon is None or incident.lat is None:
        raise NeedsLocationError(incident)
    view = service.view(session)
    water = on_water(incident, locator, active_flood_geometries(session) if view.flood_zones else [])
    priority = getattr(incident, "priority", None)  # the call's priority, once calls carry one
    try:
        plan = catalog.response_plan(incident.category, priority=priority, on_water=water)
    except LookupError:  # a category removed from the catalog since the call was recorded
        plan = None
    wanted = unit_types_for(catalog, incident.category, wanted=types, water=water, plan=plan)
    counts = {u["type"]: u["count"] for u in (plan or {}).get("units", [])}
    answer = recommend(
        session,
        service,
        lon=float(incident.lon),
        lat=float(incident.lat),
        types=wanted,
        k=max([k, *(counts.get(t, 0) for t in wanted)]),
        now=now,
        stale_minutes=stale_minutes,
        include_stale=include_stale,
        view=view,
        boat_walk_max_m=boat_walk_max_m,
        spread_m=incident.accuracy_m if (incident.accuracy_m or 0) > RANGE_ABOVE_M else None,
    )
    # The plan pre-selected: per type the `count` nearest ranked units (fewer when fewer can go).
    selected = [u["id"] for t in wanted for u in answer["recommendations"].get(t, [])[: counts.get(t, 0)]]
    short = [{"type": t, "count": n, "found": len(answer["recommendations"].get(t, []))}
             for t, n in counts.items() if t in wanted and len(answer["recommendations"].get(t, [])) < n]
    return {
        "incident_id": incident.id,
        "incident_number": incident.number,
        "category": incident.category,
        "status": incident.status,
        "lon": incident.lon,
        "lat": incident.lat,
        "on_water": water,
        "stale_after_minutes": stale_minutes,
        "plan": {
            "units": (plan or {}).get("units", []),
            "notify": (plan or {}).get("notify", []),
            "priority": priority,
            "selected": selected,
            "short": short,
        },
        **answer,
    }


def recommend(
    session: Session,
    service: TravelService,
    *,
    lon: float,
    lat: float,
    types: list[str],
    k: int,
    now: datetime,
    stale_minutes: int,
    include_stale: bool = True,
    view: NetworkView | None = None,
    boat_walk_max_m: float | None = None,
    spread_m: float | None = None,
) -> dict[str, Any]:
    """Per type the k best available units by ETA, and the units left out with their reason.

    ``view``: a ``service.view(session)`` the caller already took in this session (saves one probe round trip).
    ``boat_walk_max_m``: a boat whose crew would walk farther from its landing is left out ("tidak terjangkau
    lewat sungai"), never proposed with an ETA made of kilometres on foot. ``spread_m``: the radius of the
    call's uncertainty; each ranked unit gets ``eta_range_s`` [fastest, slowest] over points of that circle.
    """
    t0 = time.perf_counter()
    view = service.view(session) if view is None else view
    cache, placement = service.units(session, view)
    every = cache.rows
    sel = np.flatnonzero(np.isin(every.type, list(types))) if len(every) else np.zeros(0, dtype=np.int64)
    units = every.take(sel)
    age = units.age_s(now)
    stale = np.isfinite(age) & (age > stale_minutes * 60)
    reason = np.full(len(units), "", dtype=object)
    reason[np.isin(units.status, ON_CALL_STATUSES)] = "bertugas"
    reason[units.status == "offline"] = "offline"
    reason[units.status == "tidak_tersedia"] = "tidak_tersedia"
    if not include_stale:
        reason[(reason == "") & stale] = "stale"
    ok = np.flatnonzero(reason == "")
    placed = placement.take(sel[ok])
    # A few more than k per type, so boats left out for their walk still leave k to propose.
    ranking = rank_placed(placed, incident_lon=lon, incident_lat=lat, k=k + (2 if boat_walk_max_m else 0),
                          types=types)
    walked: list[tuple[Any, float]] = []
    if boat_walk_max_m is not None:
        by_type = {}
        for t, ranked in ranking.by_type.items():
            keep = []
            for r in ranked:
                walk = boat_walk_m(travel_mode=r.travel_mode, legs=[(leg.mode, leg.distance_m) for leg in r.legs])
                if walk > boat_walk_max_m:
                    walked.append((r, walk))
                else:
                    keep.append(r)
            by_type[t] = keep[:k]
        ranking = replace(ranking, by_type=by_type)
    ranges = _eta_ranges(placed, ranking, lon=lon, lat=lat, radius_m=spread_m, types=types) if spread_m else {}
    # Unit ids in the ranking are row numbers of ``every``; ``pos`` maps them to rows of ``units``.
    pos = np.empty(len(every), dtype=np.int64)
    pos[sel] = np.arange(len(sel))
    briefs = cache.briefs

    def brief(i: int) -> dict[str, Any]:
        """Row i of ``units``: its fields (UnitFields), the age of its position and the stale flag."""
        a = float(age[i])
        return {
            **briefs[int(sel[i])],
            "position_age_s": None if not np.isfinite(a) else round(a, 1),
            "stale": bool(stale[i]),
        }

    recommendations: dict[str, list[dict[str, Any]]] = {}
    for t, ranked in ranking.by_type.items():
        recommendations[t] = [
            {
                **brief(int(pos[r.unit_id])),
                "rank": r.rank,
                "travel_mode": r.travel_mode,
                "eta_s": round(r.eta_s, 1),
                "eta_min": round(r.eta_s / 60.0, 1),
                "distance_m": round(r.distance_m, 1),
                "straight_line_m": round(r.straight_line_m, 1),
                "unit_snap_m": round(r.unit_snap_m, 1),
                "incident_snap_m": round(r.incident_snap_m, 1),
                "legs": legs_fields(r),
                "route": route_feature(r, unit_id=briefs[r.unit_id]["id"]),
                "sources": r.sources,
                "eta_range_s": ranges.get(r.unit_id),
            }
            for r in ranked
        ]
    left_out = []
    for i in np.flatnonzero(reason != "").tolist():
        mid, men = LEFT_OUT_MESSAGES[str(reason[i])]
        left_out.append({**brief(i), "reason": str(reason[i]), "message_id": mid, "message_en": men})
    for r, walk in walked:
        left_out.append(
            {
                **brief(int(pos[r.unit_id])),
                "reason": "unreachable",
                "detail": "boat_walk",
                "walk_m": round(walk, 1),
                "message_id": f"Tidak terjangkau lewat sungai (jalan kaki {walk / 1000:.1f} km dari dermaga)",
                "message_en": f"Not reachable by river ({walk / 1000:.1f} km on foot from the landing)",
            }
        )
    for u in ranking.unreachable:
        mid, men = u.message.split(" / ", 1)
        left_out.append(
            {
                **brief(int(pos[u.unit_id])),
                "reason": "unreachable",
                "detail": u.reason,
                "snap_m": None if u.snap_m is None else round(u.snap_m, 1),
                "message_id": mid,
                "message_en": men,
            }
        )
    return {
        "types": list(types),
        "k": k,
        "network_source": view.source,
        "network": view.describe(),
        "recommendations": recommendations,
        "left_out": left_out,
        "incident_snap_m": ranking.incident_snap_m,
        "searches": ranking.searches,
        "computed_ms": round((time.perf_counter() - t0) * 1e3, 2),
        "boat_walk_max_m": boat_walk_max_m,
        "eta_range_radius_m": spread_m,
    }


def legs_fields(r: RankedUnit, *, with_lines: bool = False) -> list[dict[str, Any]]:
    """A ranked unit's legs as the API shows them (LegOut); with each leg's own line when asked (the crew map)."""
    out = [{"mode": leg.mode, "distance_m": round(leg.distance_m, 1), "time_s": round(leg.time_s, 1)}
           for leg in r.legs]
    if with_lines:
        lines = leg_lines(coordinates=r.route["coordinates"], legs=r.legs)
        for leg, line in zip(out, lines, strict=True):
            leg["geometry"] = line
    return out


def route_feature(r: RankedUnit, *, unit_id: int) -> dict[str, Any]:
    """A ranked unit's route as a GeoJSON Feature (RouteFeature)."""
    return {"type": "Feature", "geometry": r.route,
            "properties": {"unit_id": unit_id, "sources": r.sources, "eta_s": round(r.eta_s, 1)}}


def route_unit(session: Session, service: TravelService, *, unit_id: int, lon: float, lat: float) -> dict[str, Any]:
    """One unit's route to a point over the same network and ranking the recommendations use, whatever the unit's
    status (a crew on its way): ETA, distance, legs each with its line, the route; or why there is none."""
    view = service.view(session)
    cache, placement = service.units(session, view)
    rows = np.flatnonzero(cache.rows.id == unit_id)
    if not len(rows):
        return {"unit_id": unit_id, "reachable": False, "reason": "no_unit"}
    utype = str(cache.rows.type[rows[0]])
    ranking = rank_placed(placement.take(rows[:1]), incident_lon=lon, incident_lat=lat, k=1, types=[utype])
    ranked = ranking.by_type.get(utype) or []
    if not ranked:
        why = ranking.unreachable[0].reason if ranking.unreachable else "unreachable"
        return {"unit_id": unit_id, "reachable": False, "reason": why}
    r = ranked[0]
    return {"unit_id": unit_id, "reachable": True, "reason": None, "travel_mode": r.travel_mode,
            "eta_s": round(r.eta_s, 1), "eta_min": round(r.eta_s / 60.0, 1), "distance_m": round(r.distance_m, 1),
            "straight_line_m": round(r.straight_line_m, 1), "legs": legs_fields(r, with_lines=True),
            "route": route_feature(r, unit_id=unit_id), "sources": r.sources}


def _eta_ranges(
    placed: Any, ranking: Any, *, lon: float, lat: float, radius_m: float, types: list[str]
) -> dict[Any, list[float]]:
    """Per ranked unit, [fastest, slowest] ETA (s) over the centre and 8 points of the circle it may be in."""
    wanted = {r.unit_id for ranked in ranking.by_type.values() for r in ranked}
    if not wanted:
        return {}
    etas: dict[Any, list[float]] = {u: [r.eta_s] for ranked in ranking.by_type.values() for r in ranked
                                    for u in [r.unit_id]}
    for plon, plat in circle_points(lon=lon, lat=lat, radius_m=radius_m, n=8):
        try:
            around = rank_placed(placed, incident_lon=plon, incident_lat=plat, k=len(placed.ids) or 1, types=types)
        except ValueError:
            continue
        for ranked in around.by_type.values():
            for r in ranked:
                if r.unit_id in wanted:
                    etas[r.unit_id].append(r.eta_s)
    return {u: [round(min(v), 1), round(max(v), 1)] for u, v in etas.items()}

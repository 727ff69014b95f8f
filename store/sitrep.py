"""Everything a situation report shows for one period, read from the database in a handful of queries.

What leaves this module is meant for leaders and may be forwarded: incident numbers, categories, places,
states, times and the callsigns of the units sent. Never a caller's name or number, nor any free text typed by
an operator (descriptions, transition notes, flood-zone notes): those columns are not even selected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from geo.crs import project_geometries
from geo.floods import affected_desa
from geo.layers import Layers
from geo.times import utc_index
from store.catalog import Catalog
from store.dispatch import DispatchAssignment
from store.figures import percentiles
from store.floods import FloodZone
from store.hotspot_stats import HotspotFilter, apply_filter, desa_table, hotspot_points
from store.hotspots import Hotspot
from store.incidents import Incident, IncidentTransition
from store.lifecycle import LABELS, OPEN_STATES, IncidentState
from store.reports import Period
from store.units import STATUS_GROUP, STATUS_GROUPS, Unit, read_units

__all__ = ["FloodSummary", "NotableIncident", "Sitrep", "SitrepIncidents", "gather_sitrep"]

# Hotspot points drawn on a report's maps; the tables count every detection of the period.
MAX_HOTSPOT_POINTS = 20_000
NOTABLE_LIMIT = 15


@dataclass(frozen=True)
class SitrepIncidents:
    """The period's incidents (merged duplicates left out) as parallel arrays; times are datetime64[s] UTC."""

    id: np.ndarray
    number: np.ndarray
    category: np.ndarray
    status: np.ndarray
    lon: np.ndarray  # NaN when the call has no location
    lat: np.ndarray
    desa_code: np.ndarray
    kecamatan_code: np.ndarray
    created: np.ndarray
    dispatched: np.ndarray  # NaT when never reached
    on_scene: np.ndarray
    resolved: np.ndarray
    priority: np.ndarray | None  # None while incidents have no priority column
    units: list[list[str]]  # callsigns sent to each incident

    def __len__(self) -> int:
        return len(self.id)


@dataclass(frozen=True)
class NotableIncident:
    """One incident the report names: where, what, its units and the times of its steps (UTC)."""

    number: str
    category: str
    status: str
    desa: str | None
    kecamatan: str | None
    priority: str | None
    created: datetime
    dispatched: datetime | None
    on_scene: datetime | None
    resolved: datetime | None
    units: list[str]


@dataclass(frozen=True)
class FloodSummary:
    """An active flood zone and the desa with at least the flooded share of their area under it."""

    id: int
    name: str
    severity: str
    observed_at: datetime | None
    source: str
    is_proxy: bool
    area_km2: float
    geometry: shapely.Geometry
    desa: list[dict[str, Any]]


@dataclass(frozen=True)
class Sitrep:
    """The figures, tables and map layers of one report period."""

    period: Period
    generated_at: datetime
    layers: Layers
    catalog: Catalog
    incidents: SitrepIncidents
    by_category: list[dict[str, Any]]
    by_kecamatan: list[dict[str, Any]]
    by_status: list[dict[str, Any]]
    by_priority: list[dict[str, Any]]  # empty when no incident has a priority
    response: dict[str, Any]
    targets: dict[str, float]
    notable: list[NotableIncident]
    hotspot_count: int
    hotspots_by_desa: list[dict[str, Any]]
    hotspot_points: dict[str, np.ndarray]
    hotspots_truncated: bool
    floods: list[FloodSummary]
    flooded_share: float
    units_by_status: dict[str, int]
    units_by_type: list[dict[str, Any]]
    unit_points: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when nothing happened in the period: no incident and no hotspot."""
        return len(self.incidents) == 0 and self.hotspot_count == 0

    @property
    def flooded_desa(self) -> list[dict[str, Any]]:
        """Every desa flooded above the share, once (its largest share over the zones), most flooded first."""
        best: dict[str, dict[str, Any]] = {}
        for zone in self.floods:
            for d in zone.desa:
                if d["code"] not in best or d["share"] > best[d["code"]]["share"]:
                    best[d["code"]] = {**d, "zone": zone.name}
        return sorted(best.values(), key=lambda d: (-d["share"], d["name"]))

    def figures(self) -> dict[str, Any]:
        """The headline numbers kept with a stored report (its list entry)."""
        return {
            "incidents": len(self.incidents),
            "open": int(np.isin(self.incidents.status, [s.value for s in OPEN_STATES]).sum()),
            "hotspots": self.hotspot_count,
            "flood_zones": len(self.floods),
            "flooded_desa": len(self.flooded_desa),
            "units_available": self.units_by_status.get("tersedia", 0),
            "units_out_of_service": self.units_by_status.get("offline", 0),
        }


def _times(values: list[Any]) -> np.ndarray:
    return utc_index(values).tz_localize(None).to_numpy().astype("datetime64[s]")


def _aware(value: np.datetime64) -> datetime | None:
    if np.isnat(value):
        return None
    return utc_index([str(value)])[0].to_pydatetime()


def _first(state: IncidentState) -> Any:
    return func.min(case((IncidentTransition.status == state.value, IncidentTransition.at)))


def _incidents(session: Session, period: Period) -> SitrepIncidents:
    """The period's incidents with the first time each reached dispatch, the scene and resolution."""
    priority_col = getattr(Incident, "priority", None)
    cols = [
        Incident.id,
        Incident.number,
        Incident.category,
        Incident.status,
        Incident.lon,
        Incident.lat,
        Incident.desa_code,
        Incident.kecamatan_code,
        Incident.created_at,
    ]
    if priority_col is not None:
        cols.append(priority_col)
    steps = (
        select(
            IncidentTransition.incident_id.label("incident_id"),
            _first(IncidentState.DIKIRIM).label("dispatched"),
            _first(IncidentState.TIBA).label("on_scene"),
            _first(IncidentState.SELESAI).label("resolved"),
        )
        .join(Incident, Incident.id == IncidentTransition.incident_id)
        .where(Incident.created_at >= period.start, Incident.created_at < period.end)
        .group_by(IncidentTransition.incident_id)
        .subquery()
    )
    rows = session.execute(
        select(*cols, steps.c.dispatched, steps.c.on_scene, steps.c.resolved)
        .outerjoin(steps, steps.c.incident_id == Incident.id)
        .where(
            Incident.created_at >= period.start,
            Incident.created_at < period.end,
            Incident.merged_into_id.is_(None),
        )
        .order_by(Incident.created_at, Incident.id)
    ).all()
    n_cols = len(cols) + 3
    c = list(zip(*rows, strict=True)) if rows else [()] * n_cols
    ids = np.array(c[0], dtype=np.int64)
    units = _units_sent(session, ids.tolist())

    def obj(i: int) -> np.ndarray:
        return np.array(c[i], dtype=object)

    def num(i: int) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in c[i]], dtype=float)

    has_priority = priority_col is not None
    return SitrepIncidents(
        id=ids,
        number=obj(1),
        category=obj(2),
        status=obj(3),
        lon=num(4),
        lat=num(5),
        desa_code=obj(6),
        kecamatan_code=obj(7),
        created=_times(list(c[8])),
        priority=obj(9) if has_priority else None,
        dispatched=_times(list(c[-3])),
        on_scene=_times(list(c[-2])),
        resolved=_times(list(c[-1])),
        units=[units.get(i, []) for i in ids.tolist()],
    )


def _units_sent(session: Session, incident_ids: list[int]) -> dict[int, list[str]]:
    """Callsigns of the units sent to each incident, in the order they were sent."""
    out: dict[int, list[str]] = {}
    for start in range(0, len(incident_ids), 5000):
        chunk = incident_ids[start : start + 5000]
        rows = session.execute(
            select(DispatchAssignment.incident_id, Unit.callsign)
            .join(Unit, Unit.id == DispatchAssignment.unit_id)
            .where(DispatchAssignment.incident_id.in_(chunk))
            .order_by(DispatchAssignment.at, DispatchAssignment.id)
        ).all()
        for incident_id, callsign in rows:
            names = out.setdefault(incident_id, [])
            if callsign not in names:
                names.append(callsign)
    return out


def _count(values: np.ndarray) -> dict[Any, int]:
    keys, counts = np.unique(np.array(["" if v is None else str(v) for v in values], dtype=object), return_counts=True)
    return {(None if k == "" else k): int(n) for k, n in zip(keys.tolist(), counts.tolist(), strict=True)}


def _tables(inc: SitrepIncidents, *, layers: Layers, catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    by_cat = _count(inc.category)
    cats: list[dict[str, Any]] = [
        {
            "code": c.code,
            "label_id": c.label_id,
            "label_en": c.label_en,
            "colour": c.colour,
            "count": by_cat.get(c.code, 0),
        }
        for c in catalog.categories
        if by_cat.get(c.code)
    ]
    known = {c.code for c in catalog.categories}
    cats += [
        {"code": code, "label_id": code, "label_en": code, "colour": "#424242", "count": n}
        for code, n in by_cat.items()
        if code not in known
    ]
    cats.sort(key=lambda r: (-r["count"], r["label_id"]))
    kec_names = dict(zip(layers.kecamatan.code.tolist(), layers.kecamatan.name.tolist(), strict=True))
    by_kec = _count(inc.kecamatan_code)
    kec = [
        {
            "code": code,
            "name": kec_names.get(code, code) if code else "Tanpa kecamatan / no kecamatan",
            "count": n,
        }
        for code, n in by_kec.items()
    ]
    kec.sort(key=lambda r: (-r["count"], r["name"]))
    by_status = _count(inc.status)
    status = [
        {"code": s.value, "label_id": LABELS[s].id, "label_en": LABELS[s].en, "count": by_status.get(s.value, 0)}
        for s in IncidentState
        if by_status.get(s.value)
    ]
    priority: list[dict[str, Any]] = []
    if inc.priority is not None and any(p is not None for p in inc.priority):
        by_p = _count(inc.priority)
        priority = [
            {"priority": p or "–", "count": n} for p, n in sorted(by_p.items(), key=lambda kv: str(kv[0] or "~"))
        ]
    return {"by_category": cats, "by_kecamatan": kec, "by_status": status, "by_priority": priority}


def _response(inc: SitrepIncidents, *, dispatch_target_s: float, scene_target_s: float) -> dict[str, Any]:
    to_dispatch = (inc.dispatched - inc.created).astype("float64")
    to_scene = (inc.on_scene - inc.created).astype("float64")
    return {
        "call_to_dispatch": percentiles(to_dispatch, target_s=dispatch_target_s),
        "call_to_scene": percentiles(to_scene, target_s=scene_target_s),
    }


def _notable(inc: SitrepIncidents, *, layers: Layers, limit: int) -> list[NotableIncident]:
    """Incidents that called for units or still need them: highest priority first, then the longest to reach."""
    desa_names = dict(zip(layers.desa.code.tolist(), layers.desa.name.tolist(), strict=True))
    kec_names = dict(zip(layers.kecamatan.code.tolist(), layers.kecamatan.name.tolist(), strict=True))
    open_codes = [s.value for s in OPEN_STATES]
    sent = np.array([bool(u) for u in inc.units], dtype=bool)
    still_open = np.isin(inc.status, open_codes)
    pick = np.flatnonzero(sent | still_open)
    if not len(pick):
        return []
    # Longest call -> on scene first (never reached counts as longest), then the oldest.
    wait = (inc.on_scene - inc.created).astype("float64")[pick]
    wait = np.where(np.isfinite(wait), wait, np.inf)
    prio = (
        np.array([str(p) if p is not None else "~" for p in inc.priority[pick]], dtype=object)
        if inc.priority is not None
        else np.full(len(pick), "~", dtype=object)
    )
    order = np.lexsort((inc.created[pick].astype("int64"), -np.nan_to_num(wait, posinf=1e18), prio))
    out = []
    for i in pick[order][:limit].tolist():
        out.append(
            NotableIncident(
                number=str(inc.number[i]),
                category=str(inc.category[i]),
                status=str(inc.status[i]),
                desa=desa_names.get(inc.desa_code[i]),
                kecamatan=kec_names.get(inc.kecamatan_code[i]),
                priority=None if inc.priority is None or inc.priority[i] is None else str(inc.priority[i]),
                created=cast(datetime, _aware(inc.created[i])),  # every incident has its creation time
                dispatched=_aware(inc.dispatched[i]),
                on_scene=_aware(inc.on_scene[i]),
                resolved=_aware(inc.resolved[i]),
                units=list(inc.units[i]),
            )
        )
    return out


def _floods(session: Session, *, layers: Layers, min_share: float) -> list[FloodSummary]:
    """Active flood zones (at report time) and the desa each floods above the share."""
    rows = session.execute(
        select(
            FloodZone.id,
            FloodZone.name,
            FloodZone.severity,
            FloodZone.observed_at,
            FloodZone.source,
            FloodZone.is_proxy,
            FloodZone.geom,
        )
        .where(FloodZone.status == "active")
        .order_by(FloodZone.id)
    ).all()
    desa = layers.desa
    kec = dict(zip(desa.code.tolist(), desa.attrs["kecamatan"].tolist(), strict=True))
    out = []
    for zone_id, name, severity, observed, source, is_proxy, geom in rows:
        shape = to_shape(geom)
        table = affected_desa(shape, desa_geometry=desa.geometry, desa_code=desa.code, desa_name=desa.name)
        table = table[table["share"] >= min_share]
        area = float(shapely.area(project_geometries(np.array([shape])))[0]) / 1e6
        out.append(
            FloodSummary(
                id=zone_id,
                name=name,
                severity=severity,
                observed_at=observed,
                source=source,
                is_proxy=bool(is_proxy),
                area_km2=round(area, 2),
                geometry=shape,
                desa=[
                    {"code": c, "name": n, "kecamatan": kec.get(c), "share": round(min(float(s), 1.0), 3)}
                    for c, n, s in zip(table["desa_code"], table["desa_name"], table["share"], strict=True)
                ],
            )
        )
    return out


def _units(session: Session, *, catalog: Catalog) -> tuple[dict[str, int], list[dict[str, Any]], dict[str, np.ndarray]]:
    rows = read_units(session)
    # Counted in three groups (tersedia, bertugas, offline): kembali is free, dikirim to tiba are on a call.
    group = np.array([STATUS_GROUP.get(str(s), "offline") for s in rows.status.tolist()], dtype=object)
    by_status = {s: int((group == s).sum()) for s in STATUS_GROUPS}
    labels = {u.code: (u.label_id, u.label_en) for u in catalog.unit_types}
    by_type = []
    for t in sorted(set(rows.type.tolist())):
        sel = rows.type == t
        by_type.append(
            {
                "type": t,
                "label_id": labels.get(t, (t, t))[0],
                "label_en": labels.get(t, (t, t))[1],
                **{s: int((group[sel] == s).sum()) for s in STATUS_GROUPS},
            }
        )
    points = {
        "lon": rows.lon.astype(float),
        "lat": rows.lat.astype(float),
        "callsign": rows.callsign,
        "type": rows.type,
        "status": group,
    }
    return by_status, by_type, points


def gather_sitrep(
    session: Session,
    *,
    period: Period,
    now: datetime,
    layers: Layers,
    catalog: Catalog,
    flooded_share: float,
    dispatch_target_s: float,
    scene_target_s: float,
    notable_limit: int = NOTABLE_LIMIT,
) -> Sitrep:
    """Everything the report of `period` shows; flood zones and units as they stand at `now`."""
    inc = _incidents(session, period)
    # The filter's end is inclusive, the period's is not: a detection at the boundary belongs to the next period.
    flt = HotspotFilter(since=period.start, until=period.end - timedelta(microseconds=1))
    hot_desa = [r for r in desa_table(session, flt, layers=layers) if r["count"]]
    pts = hotspot_points(session, flt, limit=MAX_HOTSPOT_POINTS)
    hot_count = int(session.scalar(apply_filter(select(func.count(Hotspot.id)), flt)) or 0)
    units_by_status, units_by_type, unit_points = _units(session, catalog=catalog)
    return Sitrep(
        period=period,
        generated_at=now,
        layers=layers,
        catalog=catalog,
        incidents=inc,
        **_tables(inc, layers=layers, catalog=catalog),
        response=_response(inc, dispatch_target_s=dispatch_target_s, scene_target_s=scene_target_s),
        targets={"dispatch_s": float(dispatch_target_s), "scene_s": float(scene_target_s)},
        notable=_notable(inc, layers=layers, limit=notable_limit),
        hotspot_count=hot_count,
        hotspots_by_desa=hot_desa,
        hotspot_points={
            "lon": np.array(pts.columns["lon"], dtype=float),
            "lat": np.array(pts.columns["lat"], dtype=float),
            "confidence": np.array(pts.columns["confidence"], dtype=object),
            "desa_name": np.array(pts.columns["desa_name"], dtype=object),
            "acq_time": pts.acq_time.tz_localize(None).to_numpy().astype("datetime64[s]"),
        },
        hotspots_truncated=pts.truncated,
        floods=_floods(session, layers=layers, min_share=flooded_share),
        flooded_share=float(flooded_share),
        units_by_status=units_by_status,
        units_by_type=units_by_type,
        unit_points=unit_points,
    )

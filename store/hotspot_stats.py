"""Reading stored hotspots: the filter every view shares, the points, and the statistics over them.

Every read goes column-wise: the rows come back from one SELECT, become a pandas frame, and the work
(times, H3 aggregates, consecutive days, Gi*) is done on whole columns by `geo/`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from geo.clusters import getis_ord
from geo.errors import InvalidInput
from geo.hexagons import aggregate_cells, cells_from_str, persistence
from geo.layers import Layers
from geo.times import as_utc, format_wib, iso_utc, utc_index, wib_date, wib_days
from store.hotspots import Hotspot
from store.models import Desa
from store.types import db_time

__all__ = [
    "WINDOWS",
    "Clusters",
    "HotspotFilter",
    "HotspotPoints",
    "apply_filter",
    "attribute_clauses",
    "burning_days",
    "clusters",
    "count_since",
    "desa_table",
    "hexagons",
    "hotspot_points",
    "kecamatan_table",
]

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
Window = Literal["24h", "7d", "30d", "all", "custom"]
Bbox = tuple[float, float, float, float]


@dataclass(frozen=True)
class HotspotFilter:
    """A resolved query: UTC time range, confidence levels, bbox, zones, kecamatan and desa codes."""

    since: datetime | None
    until: datetime
    confidence: tuple[str, ...] = ()
    bbox: Bbox | None = None
    zones: tuple[str, ...] = ()
    kecamatan: str | None = None
    desa: str | None = None
    # False leaves out detections inside a known static heat source ("sumber tetap"); None: the view's default
    # (points, tables and hexagons show them, clusters and alerts leave them out).
    include_static: bool | None = None
    satellites: tuple[str, ...] = ()

    @classmethod
    def for_window(
        cls,
        window: Window,
        *,
        since: datetime | None,
        until: datetime | None,
        now: datetime,
        **rest: Any,
    ) -> HotspotFilter:
        """The filter of a time window ending at `until` (default `now`); 'custom' takes `since`, 'all' has no start.

        Naive times are UTC. Raises InvalidInput naming `since` when the window and the times disagree.
        """
        end = as_utc(until) or now
        start = as_utc(since)
        if window == "custom":
            if start is None:
                raise InvalidInput(
                    "Jendela 'custom' memerlukan 'since'", "window 'custom' needs 'since'", field="since"
                )
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
        return cls(start, end, **rest)

    def describe(self) -> dict[str, Any]:
        """The filter as JSON (echoed in every answer so a table says what it counts)."""
        return {
            "since": iso_utc(self.since),
            "until": iso_utc(self.until),
            "confidence": list(self.confidence) or None,
            "bbox": list(self.bbox) if self.bbox else None,
            "zone": list(self.zones) or None,
            "kecamatan": self.kecamatan,
            "desa": self.desa,
            "include_static": self.include_static,
            "satellite": list(self.satellites) or None,
        }


def attribute_clauses(
    *,
    confidence: Sequence[str] = (),
    satellites: Sequence[str] = (),
    include_static: bool | None = None,
    zones: Sequence[str] = (),
    kecamatan: str | None = None,
    desa: str | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a hotspot filter's attributes (not its time or bbox), shared with the exports."""
    out: list[ColumnElement[bool]] = []
    if confidence:
        out.append(Hotspot.confidence.in_(confidence))
    if zones:
        out.append(Hotspot.zone.in_(zones))
    if kecamatan:
        out.append(Hotspot.kecamatan_code == kecamatan)
    if desa:
        out.append(Hotspot.desa_code == desa)
    if satellites:
        out.append(Hotspot.satellite.in_(satellites))
    if include_static is False:
        out.append(Hotspot.static_source_id.is_(None))
    return out


def apply_filter(stmt: Select, flt: HotspotFilter) -> Select:
    """Add the filter's WHERE clauses to a select over `hotspot`."""
    stmt = stmt.where(Hotspot.acq_time <= db_time(flt.until))
    if flt.since is not None:
        stmt = stmt.where(Hotspot.acq_time >= db_time(flt.since))
    stmt = stmt.where(
        *attribute_clauses(
            confidence=flt.confidence,
            satellites=flt.satellites,
            include_static=flt.include_static,
            zones=flt.zones,
            kecamatan=flt.kecamatan,
            desa=flt.desa,
        )
    )
    if flt.bbox:
        x0, y0, x1, y1 = flt.bbox
        stmt = stmt.where(func.ST_X(Hotspot.geom).between(x0, x1), func.ST_Y(Hotspot.geom).between(y0, y1))
    return stmt


def _frame(session: Session, flt: HotspotFilter, columns: dict[str, Any]) -> pd.DataFrame:
    # Core execution (plain rows, no ORM loading step): the columns are plain expressions.
    rows = session.connection().execute(apply_filter(select(*columns.values()), flt)).all()
    # Transposed in C, one column at a time: from_records inspects every Row object (several times slower).
    values = list(zip(*rows, strict=True)) or [()] * len(columns)
    return pd.DataFrame({name: pd.Series(v, dtype=object).infer_objects() if len(v) else pd.Series([], dtype=object)
                         for name, v in zip(columns, values, strict=True)})


def count_since(session: Session, since: datetime) -> int:
    """Detections acquired at or after `since`."""
    return int(session.scalar(select(func.count(Hotspot.id)).where(Hotspot.acq_time >= db_time(since))) or 0)


# ------------------------------------------------------------------------------------- points

# The columns of a point answer, in the order the map and the schema list them.
POINT_COLUMNS = {
    "id": Hotspot.id,
    "lon": func.ST_X(Hotspot.geom),
    "lat": func.ST_Y(Hotspot.geom),
    "acq_time": Hotspot.acq_time,
    "confidence": Hotspot.confidence,
    "frp": Hotspot.frp,
    "brightness": Hotspot.brightness,
    "satellite": Hotspot.satellite,
    "instrument": Hotspot.instrument,
    "daynight": Hotspot.daynight,
    "source": Hotspot.source,
    "zone": Hotspot.zone,
    "desa_code": Hotspot.desa_code,
    "desa_name": Desa.nama,
    "kecamatan_code": Hotspot.kecamatan_code,
    "kabupaten_code": Hotspot.kabupaten_code,
    "border_distance_m": Hotspot.border_distance_m,
    "date_only": Hotspot.date_only,
    "static_source_id": Hotspot.static_source_id,
}


@dataclass(frozen=True)
class HotspotPoints:
    """Detections as columns of driver values (newest first), their times as one index, and whether `limit` cut."""

    columns: Mapping[str, Sequence[Any]]
    acq_time: pd.DatetimeIndex
    truncated: bool

    def __len__(self) -> int:
        return len(self.acq_time)


def hotspot_points(session: Session, flt: HotspotFilter, *, limit: int) -> HotspotPoints:
    """The newest `limit` detections matching the filter, with the name of their desa, as columns."""
    stmt = select(*POINT_COLUMNS.values()).outerjoin(Desa, Desa.kode == Hotspot.desa_code)
    stmt = apply_filter(stmt, flt).order_by(Hotspot.acq_time.desc(), Hotspot.id.desc()).limit(limit + 1)
    rows = session.connection().execute(stmt).all()
    truncated = len(rows) > limit
    # Transposed in C; the values stay what the driver gave (None stays None, no per-column dtype guessing).
    values = list(zip(*rows[:limit], strict=True)) or [()] * len(POINT_COLUMNS)
    columns = dict(zip(POINT_COLUMNS, values, strict=True))
    return HotspotPoints(columns=columns, acq_time=utc_index(columns["acq_time"]), truncated=truncated)


# ----------------------------------------------------------------------------------- H3 cells


def _cells(df: pd.DataFrame) -> np.ndarray:
    return cells_from_str(df["h3"].to_numpy())


def hexagons(session: Session, flt: HotspotFilter, *, res: int) -> tuple[pd.DataFrame, int]:
    """Per H3 cell: count, summed FRP (2 decimals), highest confidence, first/last seen; and the detections."""
    df = _frame(
        session,
        flt,
        {"h3": getattr(Hotspot, f"h3_{res}"), "frp": Hotspot.frp, "conf": Hotspot.confidence, "t": Hotspot.acq_time,
         "desa": Hotspot.desa_code},
    )
    cells = _cells(df)
    agg = aggregate_cells(
        cells=cells,
        frp=df["frp"].to_numpy(dtype=np.float64),
        confidence=df["conf"].to_numpy(dtype=object),
        acq_time_utc=utc_index(df["t"]),
    ).drop(columns=["max_confidence_rank"])
    agg["frp_sum"] = agg["frp_sum"].round(2)
    agg["desa_name"], agg["desa_count"] = _cell_desa(session, cells, df["desa"], agg["cell"].to_numpy())
    return agg, len(df)


def _cell_desa(session: Session, cells: np.ndarray, desa: pd.Series, order: np.ndarray) -> tuple[list, list]:
    """Per aggregated cell (in `order`): the desa with most detections (its name) and how many desa there are."""
    names = dict(session.execute(select(Desa.kode, Desa.nama)).all())
    n = len(order)
    codes = desa.to_numpy(dtype=object)
    d_idx, d_uniq = pd.factorize(pd.Series(codes, dtype=object))
    if not len(d_uniq):
        return [None] * n, [0] * n
    c_idx, c_uniq = pd.factorize(pd.Series(np.asarray(cells, dtype=np.uint64)))
    ok = d_idx >= 0
    # Detections per (cell, desa), counted in one bincount over a cells x desa table (~2,000 x 93 at most).
    table = np.bincount(c_idx[ok] * len(d_uniq) + d_idx[ok], minlength=len(c_uniq) * len(d_uniq))
    table = table.reshape(len(c_uniq), len(d_uniq))
    pos = pd.Index(c_uniq).get_indexer(np.asarray(order, dtype=np.uint64))
    top = table.argmax(axis=1)
    has = table.max(axis=1) > 0
    distinct = (table > 0).sum(axis=1)
    out_names = [names.get(d_uniq[top[p]]) if p >= 0 and has[p] else None for p in pos.tolist()]
    out_counts = [int(distinct[p]) if p >= 0 else 0 for p in pos.tolist()]
    return out_names, out_counts


def burning_days(session: Session, flt: HotspotFilter, *, res: int, min_days: int = 1) -> tuple[pd.DataFrame, Any]:
    """Per H3 cell: days burned, longest and current run of consecutive WIB days (current = ending on `until`).

    Cells whose longest run is shorter than `min_days` are left out; the longest runs come first. Returns
    the frame (days as 'YYYY-MM-DD' text) and the WIB day the current runs end on.
    """
    df = _frame(session, flt, {"h3": getattr(Hotspot, f"h3_{res}"), "t": Hotspot.acq_time})
    as_of = wib_date(flt.until)
    per = persistence(_cells(df), wib_days(df["t"]), as_of=as_of)
    if len(per):
        per = per[per["longest_run"] >= min_days].sort_values(["longest_run", "days_burned"], ascending=False)
        per["first_day"] = per["first_day"].astype(str)
        per["last_day"] = per["last_day"].astype(str)
    return per.reset_index(drop=True), as_of


GI_CLASSES = ("hot99", "hot95", "cold95", "cold99")


@dataclass(frozen=True)
class Clusters:
    """Gi* per cell (cell, value, observed, z, p, class), the cells with detections, and the count per class."""

    cells: pd.DataFrame
    observed_cells: int
    classes: dict[str, int]


def clusters(
    session: Session,
    flt: HotspotFilter,
    *,
    res: int,
    value: Literal["count", "frp"] = "count",
    significant_only: bool = True,
) -> Clusters:
    """Getis-Ord Gi* over H3 cells (k=1 ring, zero-padded study area): hot99/hot95/cold95/cold99/ns."""
    df = _frame(session, flt, {"h3": getattr(Hotspot, f"h3_{res}"), "frp": Hotspot.frp})
    agg = aggregate_cells(cells=_cells(df), frp=df["frp"].to_numpy(dtype=np.float64))
    values = agg["count"].to_numpy(dtype=np.float64) if value == "count" else agg["frp_sum"].to_numpy()
    gi = getis_ord(cells=agg["cell"].to_numpy(), values=values)
    counts = {c: int((gi["cls"] == c).sum()) for c in GI_CLASSES}
    if significant_only:
        gi = gi[gi["cls"] != "ns"]
    gi = gi.rename(columns={"cls": "class"}).reset_index(drop=True)
    gi["z"] = gi["z"].round(3)
    gi["p"] = gi["p"].round(5)
    return Clusters(cells=gi, observed_cells=len(agg), classes=counts)


# ------------------------------------------------------------------------------ area tables

EMPTY_AREA = {
    "count": 0,
    "frp_sum": 0.0,
    "high_confidence": 0,
    "first_seen": None,
    "last_seen": None,
    "last_seen_wib": None,
}


def _area_stats(session: Session, flt: HotspotFilter, key: Any) -> dict[str, dict[str, Any]]:
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
    return {
        code: {
            "count": int(count),
            "frp_sum": round(float(frp or 0.0), 2),
            "high_confidence": int(hi or 0),
            "first_seen": iso_utc(first),
            "last_seen": iso_utc(last),
            "last_seen_wib": format_wib(last),
        }
        for code, count, frp, hi, first, last in session.execute(apply_filter(stmt, flt)).all()
    }


def _ranked(rows: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: (-r["count"], -r["frp_sum"], r[code]))
    return rows


def desa_table(session: Session, flt: HotspotFilter, *, layers: Layers) -> list[dict[str, Any]]:
    """Every desa of Barito Selatan with its detections (zeros included), most first."""
    stats = _area_stats(session, flt, Hotspot.desa_code)
    desa = layers.desa
    rows = [
        {"desa_code": c, "desa_name": n, "kecamatan_code": k, "kecamatan": kn, **stats.get(c, EMPTY_AREA)}
        for c, n, k, kn in zip(
            desa.code.tolist(),
            desa.name.tolist(),
            desa.attrs["kecamatan_kode"].tolist(),
            desa.attrs["kecamatan"].tolist(),
            strict=True,
        )
    ]
    return _ranked(rows, "desa_code")


def kecamatan_table(session: Session, flt: HotspotFilter, *, layers: Layers) -> list[dict[str, Any]]:
    """The six kecamatan with their detections (zeros included), most first."""
    stats = _area_stats(session, flt, Hotspot.kecamatan_code)
    kec = layers.kecamatan
    rows = [
        {"kecamatan_code": c, "kecamatan": n, **stats.get(c, EMPTY_AREA)}
        for c, n in zip(kec.code.tolist(), kec.name.tolist(), strict=True)
    ]
    return _ranked(rows, "kecamatan_code")

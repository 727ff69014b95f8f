"""Reading stored hotspots: the filter every view shares, the points, and the statistics over them.

Every read goes column-wise: the rows come back from one SELECT, become a pandas frame, and the work
(times, H3 aggregates, consecutive days, Gi*) is done on whole columns by `geo/`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Float, Select, String, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from geo.clusters import getis_ord
from geo.errors import InvalidInput
from geo.hexagons import aggregate_cells, cells_from_lonlat, persistence
from geo.layers import Layers
from geo.times import as_utc, format_wib_many, iso_many, iso_utc, utc_index, utcnow, wib_date, wib_days
from store.data_version import data_version
from store.hotspots import Hotspot
from store.models import Desa
from store.types import db_time

__all__ = [
    "WINDOWS",
    "Clusters",
    "HotspotCache",
    "HotspotFilter",
    "HotspotFrame",
    "HotspotPoints",
    "apply_filter",
    "attribute_clauses",
    "burning_days",
    "clusters",
    "count_since",
    "desa_table",
    "hexagons",
    "hexagons_of",
    "hotspot_points",
    "kecamatan_table",
    "load_frame",
    "window_frame",
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


# ------------------------------------------------------------------------- the window's rows

# What one read of the window fetches for every view (points, hexagons, tables, persistence, clusters).
FRAME_COLUMNS = (
    "id", "lon", "lat", "acq_time", "confidence", "frp", "brightness", "satellite", "instrument", "daynight", "source",
    "zone", "desa_code", "kecamatan_code", "kabupaten_code", "border_distance_m", "date_only", "static_source_id",
)
_TEXT = ("confidence", "satellite", "instrument", "daynight", "source", "zone", "desa_code", "kecamatan_code",
         "kabupaten_code")
_FLOATS = ("lon", "lat", "frp", "brightness", "border_distance_m")
# The cache holds windows of up to about a month (the planner's longest button) of at most this many rows.
CACHE_SPAN = timedelta(days=32)
# Memory: a frame of 200,000 rows is about 40 MB; a point answer for 20,000 detections about 5 MB.
CACHE_MAX_ROWS = 200_000
CACHE_ENTRIES = 4
MAX_ANSWERS = 8  # per frame: the views (points, cells, tables) of the rows it last served
T = TypeVar("T")
_HOUR_US = 3_600_000_000


def _select_columns(dialect: str) -> list[Any]:
    # Times as plain values, without SQLAlchemy's per-row conversion: SQLite's stored text (parsed a whole
    # column at once by pandas) and PostgreSQL's epoch seconds.
    t = cast(func.extract("epoch", Hotspot.acq_time), Float) if dialect == "postgresql" else \
        type_coerce(Hotspot.acq_time, String)
    return [Hotspot.id, func.ST_X(Hotspot.geom), func.ST_Y(Hotspot.geom), t, Hotspot.confidence, Hotspot.frp,
            Hotspot.brightness, Hotspot.satellite, Hotspot.instrument, Hotspot.daynight, Hotspot.source, Hotspot.zone,
            Hotspot.desa_code, Hotspot.kecamatan_code, Hotspot.kabupaten_code, Hotspot.border_distance_m,
            Hotspot.date_only, Hotspot.static_source_id]


@dataclass
class HotspotFrame:
    """The detections of a time range as columns (numpy), newest first; the views select and reduce them.

    `acq_us` holds the UTC times as integer microseconds since the epoch. H3 cells are computed from the
    stored points (as the ingest computed the h3_<res> columns) once per resolution and kept.
    """

    columns: dict[str, np.ndarray]
    acq_us: np.ndarray
    desa_names: dict[str, str]
    truncated: bool = False
    _cells: dict[int, np.ndarray] = field(default_factory=dict)
    _answers: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.acq_us)

    def cells(self, res: int) -> np.ndarray:
        """The rows' H3 cells (uint64) at `res`."""
        got = self._cells.get(res)
        if got is None:
            got = cells_from_lonlat(lon=self.columns["lon"], lat=self.columns["lat"], res=res)
            self._cells[res] = got
        return got

    def answer(self, key: tuple[Any, ...], rows: np.ndarray, make: Callable[[], T]) -> T:
        """`make()` for these rows, kept with the frame: the same rows asked again are answered from memory.

        The rows themselves (their positions) are part of the key, so a window that has slid past a detection,
        or another bbox, is a new answer. A frame read for one request only is dropped with it.
        """
        full = (*key, rows.tobytes())
        with self._lock:
            if full in self._answers:
                return self._answers[full]
        made = make()
        with self._lock:
            if len(self._answers) >= MAX_ANSWERS:
                self._answers.pop(next(iter(self._answers)))
            self._answers[full] = made
        return made

    def rows(self, flt: HotspotFilter) -> np.ndarray:
        """Positions (newest first) of the rows inside the filter's time range and bbox."""
        t = self.acq_us
        keep = t <= _us(flt.until)
        if flt.since is not None:
            keep &= t >= _us(flt.since)
        if flt.bbox:
            x0, y0, x1, y1 = flt.bbox
            lon, lat = self.columns["lon"], self.columns["lat"]
            keep &= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        return np.flatnonzero(keep)

    def times(self, rows: np.ndarray) -> pd.DatetimeIndex:
        """The rows' times as an aware UTC index."""
        return pd.DatetimeIndex(self.acq_us[rows].astype("datetime64[us]")).tz_localize(UTC)

    def desa_name(self, rows: np.ndarray) -> np.ndarray:
        """The rows' desa names (None outside a desa)."""
        codes = self.columns["desa_code"][rows]
        return np.array([self.desa_names.get(c) for c in codes.tolist()], dtype=object) if len(codes) else codes


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(t: datetime) -> int:
    """An aware time as integer microseconds since the epoch (the frame's time unit)."""
    return (t - _EPOCH) // timedelta(microseconds=1)


def load_frame(session: Session, flt: HotspotFilter, *, limit: int | None = None) -> HotspotFrame:
    """One SELECT of the filter's rows (time range and attributes; the bbox is applied by `rows`), newest first.

    With `limit`, only the newest `limit` rows inside the bbox are read (filtered, ordered and cut by the
    database).
    """
    conn = session.connection()
    dialect = conn.dialect.name
    stmt = apply_filter(select(*_select_columns(dialect)), flt if limit is not None else replace(flt, bbox=None))
    if limit is not None:
        stmt = stmt.order_by(Hotspot.acq_time.desc(), Hotspot.id.desc()).limit(limit + 1)
    result = conn.execute(stmt)
    try:
        # The driver's plain tuples: transposing SQLAlchemy's Row objects cost several times the query itself.
        # No column here needs SQLAlchemy's result conversion (times are selected as text or epoch numbers).
        rows = result.cursor.fetchall()
    finally:
        result.close()
    truncated = limit is not None and len(rows) > limit
    if truncated:
        rows = rows[:limit]
    # Transposed in C, one column at a time.
    values = list(zip(*rows, strict=True)) or [()] * len(FRAME_COLUMNS)
    raw = dict(zip(FRAME_COLUMNS, values, strict=True))
    n = len(rows)
    if dialect == "postgresql":
        acq = np.rint(np.asarray(raw["acq_time"], dtype=np.float64) * 1e6).astype(np.int64)
    else:
        acq = utc_index(raw["acq_time"]).as_unit("us").asi8 if n else np.empty(0, dtype=np.int64)
    cols: dict[str, np.ndarray] = {"id": np.asarray(raw["id"], dtype=np.int64)}
    for name in _FLOATS:  # None becomes NaN
        cols[name] = np.asarray(raw[name], dtype=np.float64)
    for name in _TEXT:
        cols[name] = np.asarray(raw[name], dtype=object) if n else np.empty(0, dtype=object)
    cols["date_only"] = np.asarray(raw["date_only"], dtype=bool) if n else np.empty(0, dtype=bool)
    cols["static_source_id"] = np.asarray(raw["static_source_id"], dtype=object) if n else np.empty(0, dtype=object)
    if limit is None:
        # Newest first, as the points are listed (the database need not sort a whole window for the caches).
        order = np.lexsort((-cols["id"], -acq))
        cols = {k: v[order] for k, v in cols.items()}
        acq = acq[order]
    names = {str(k): str(n) for k, n in session.execute(select(Desa.kode, Desa.nama)).all()}
    return HotspotFrame(columns=cols, acq_us=acq, desa_names=names, truncated=truncated)


class _Loading:
    """A frame being read by one thread; others asking for the same window wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.frame: HotspotFrame | None = None


class HotspotCache:
    """Per process: the frames of recent windows, keyed by the hotspot data version (never stale).

    The key is the token of `data_version` (a trigger sets a new one on every write to `hotspot`), the
    filter's attributes and its time range widened to whole hours; a request then selects its exact range
    and bbox from the frame in numpy. A window longer than CACHE_SPAN, or a database without a token, is
    read for the request alone. A window being read is read once: requests for it meanwhile wait for that read.

    `refresh` (a background job of each worker, every `hotspot_refresh_s`) reads the recently asked windows
    again as soon as the data version changes, so the first planner to look after an ingest (and every open
    page that reloads on its live event) finds the new frame ready instead of each reading it.
    """

    def __init__(self, *, entries: int = CACHE_ENTRIES, max_rows: int = CACHE_MAX_ROWS) -> None:
        self._entries: OrderedDict[tuple[Any, ...], HotspotFrame] = OrderedDict()
        self._loading: dict[tuple[Any, ...], _Loading] = {}
        # The windows asked for lately (newest last): their attributes -> (the hour-wide filter, whether it ended now).
        self._recent: OrderedDict[tuple[Any, ...], tuple[HotspotFilter, bool]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = entries
        self._max_rows = max_rows
        self._refreshed_token: int | None = None
        self.hits = 0
        self.misses = 0
        self.refreshed = 0
        self.shared = 0  # requests that waited for another's read of the same window

    @staticmethod
    def holds(flt: HotspotFilter) -> bool:
        """Whether windows like this one are cached (bounded, at most CACHE_SPAN long)."""
        return flt.since is not None and flt.until - flt.since <= CACHE_SPAN

    def frame(self, session: Session, flt: HotspotFilter) -> HotspotFrame:
        """The frame holding the filter's rows, from the cache when the data has not changed since."""
        if flt.since is None or not self.holds(flt):
            return load_frame(session, flt)
        # Read before the rows: a write committed in between leaves a newer frame under the old token, which no
        # read after that commit asks for.
        token = data_version(session, "hotspot")
        if token is None:
            return load_frame(session, flt)
        lo = _us(flt.since) // _HOUR_US * _HOUR_US
        hi = -(-_us(flt.until) // _HOUR_US) * _HOUR_US
        wide = replace(flt, since=_from_us(lo), until=_from_us(hi), bbox=None)
        attrs = _window_attributes(wide)
        # A window ending now (7d, 30d, 24h...) slides: a refresh reads it up to the hour of its own time.
        trailing = abs(_us(flt.until) - _us(utcnow())) < _HOUR_US
        with self._lock:
            self._recent[attrs] = (wide, trailing)
            self._recent.move_to_end(attrs)
            while len(self._recent) > self._size:
                self._recent.popitem(last=False)
        return self._get((token, lo, hi, *attrs), lambda: load_frame(session, wide), counted=True)

    def _get(self, key: tuple[Any, ...], load: Callable[[], HotspotFrame], *, counted: bool) -> HotspotFrame:
        with self._lock:
            got = self._entries.get(key)
            if got is not None:
                self._entries.move_to_end(key)
                if counted:
                    self.hits += 1
                return got
            loading = self._loading.get(key)
            owner = loading is None
            if loading is None:
                loading = self._loading[key] = _Loading()
                if counted:
                    self.misses += 1
            else:
                self.shared += 1
        if not owner:
            loading.done.wait()
            # The reader failed (its own session's error): this request reads for itself.
            return loading.frame if loading.frame is not None else load()
        try:
            got = load()
            loading.frame = got
        finally:
            with self._lock:
                del self._loading[key]
                if loading.frame is not None and len(loading.frame) <= self._max_rows:
                    self._entries[key] = loading.frame
                    while len(self._entries) > self._size:
                        self._entries.popitem(last=False)
            loading.done.set()
        return got

    def refresh(self, session: Session, *, now: datetime) -> int:
        """Read the recently asked windows anew when the hotspot data changed since the last refresh; how many."""
        token = data_version(session, "hotspot")
        if token is None or token == self._refreshed_token:
            return 0
        with self._lock:
            recent = list(self._recent.items())
        hour_now = -(-_us(now) // _HOUR_US) * _HOUR_US
        for attrs, (wide, trailing) in reversed(recent):  # the most recently asked first
            assert wide.since is not None  # only bounded windows are cached
            lo, hi = _us(wide.since), _us(wide.until)
            if trailing:
                lo, hi = hour_now - (hi - lo), hour_now
                wide = replace(wide, since=_from_us(lo), until=_from_us(hi))
            self._get((token, lo, hi, *attrs), partial(load_frame, session, wide), counted=False)
        self._refreshed_token = token
        with self._lock:
            self.refreshed += len(recent)
        return len(recent)


def _window_attributes(flt: HotspotFilter) -> tuple[Any, ...]:
    """What, besides its time range, tells one cached window from another."""
    return (flt.confidence, flt.satellites, flt.include_static, flt.zones, flt.kecamatan, flt.desa)


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def window_frame(session: Session, flt: HotspotFilter, cache: HotspotCache | None) -> HotspotFrame:
    """The frame of the filter's window: from the cache when given, else read for this call."""
    return cache.frame(session, flt) if cache is not None else load_frame(session, flt)


def _frame(session: Session, flt: HotspotFilter, columns: dict[str, str], *, res: int | None = None,
           cache: HotspotCache | None = None) -> pd.DataFrame:
    """A data frame of the filter's rows: `columns` maps output names to frame columns ('h3' = cells at `res`)."""
    frame = window_frame(session, flt, cache)
    rows = frame.rows(flt)
    out: dict[str, Any] = {}
    for name, source in columns.items():
        if source == "h3":
            assert res is not None
            out[name] = frame.cells(res)[rows]
        elif source == "acq_time":
            out[name] = frame.times(rows)
        else:
            out[name] = frame.columns[source][rows]
    return pd.DataFrame(out)


def count_since(session: Session, since: datetime) -> int:
    """Detections acquired at or after `since`."""
    return int(session.scalar(select(func.count(Hotspot.id)).where(Hotspot.acq_time >= db_time(since))) or 0)


# ------------------------------------------------------------------------------------- points

# The columns of a point answer, in the order the map and the schema list them.
POINT_COLUMNS = (
    "id", "lon", "lat", "acq_time", "confidence", "frp", "brightness", "satellite", "instrument", "daynight", "source",
    "zone", "desa_code", "desa_name", "kecamatan_code", "kabupaten_code", "border_distance_m", "date_only",
    "static_source_id",
)


@dataclass(frozen=True)
class HotspotPoints:
    """Detections as columns of driver values (newest first), their times as one index, and whether `limit` cut."""

    columns: Mapping[str, Sequence[Any]]
    acq_time: pd.DatetimeIndex
    truncated: bool
    frame: HotspotFrame | None = None
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.acq_time)

    def answer(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """`make()`, kept with the frame the points came from (the same points asked again: from memory)."""
        if self.frame is None or self.rows is None:
            return make()
        return self.frame.answer(("points", *key), self.rows, make)


def hotspot_points(session: Session, flt: HotspotFilter, *, limit: int,
                   cache: HotspotCache | None = None) -> HotspotPoints:
    """The newest `limit` detections matching the filter, with the name of their desa, as columns.

    With a cache, the rows come from the window's cached frame; without, only the newest `limit` are read.
    """
    if cache is not None and cache.holds(flt):
        frame = cache.frame(session, flt)
    else:  # a long window ('all'): only the newest `limit` rows are read
        frame = load_frame(session, flt, limit=limit)
    rows = frame.rows(flt)
    truncated = len(rows) > limit or frame.truncated
    rows = rows[:limit]
    columns: dict[str, Any] = {}
    for name in POINT_COLUMNS:
        columns[name] = frame.desa_name(rows) if name == "desa_name" else \
            frame.times(rows) if name == "acq_time" else frame.columns[name][rows]
    return HotspotPoints(columns=columns, acq_time=columns["acq_time"], truncated=truncated, frame=frame, rows=rows)


# ----------------------------------------------------------------------------------- H3 cells


def hexagons(session: Session, flt: HotspotFilter, *, res: int,
             cache: HotspotCache | None = None) -> tuple[pd.DataFrame, int]:
    """Per H3 cell: count, summed FRP (2 decimals), highest confidence, first/last seen; and the detections."""
    frame = window_frame(session, flt, cache)
    return hexagons_of(frame, frame.rows(flt), res=res)


def hexagons_of(frame: HotspotFrame, rows: np.ndarray, *, res: int) -> tuple[pd.DataFrame, int]:
    """`hexagons` over rows of a frame already read."""
    cells = frame.cells(res)[rows]
    desa = frame.columns["desa_code"][rows]
    agg = aggregate_cells(
        cells=cells,
        frp=frame.columns["frp"][rows],
        confidence=frame.columns["confidence"][rows],
        acq_time_utc=frame.times(rows),
    ).drop(columns=["max_confidence_rank"])
    agg["frp_sum"] = agg["frp_sum"].round(2)
    agg["desa_name"], agg["desa_count"] = _cell_desa(frame.desa_names, cells, pd.Series(desa, dtype=object),
                                                     agg["cell"].to_numpy())
    return agg, len(rows)


def _cell_desa(names: Mapping[str, str], cells: np.ndarray, desa: pd.Series, order: np.ndarray) -> tuple[list, list]:
    """Per aggregated cell (in `order`): the desa with most detections (its name) and how many desa there are."""
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


def burning_days(session: Session, flt: HotspotFilter, *, res: int, min_days: int = 1,
                 cache: HotspotCache | None = None) -> tuple[pd.DataFrame, Any]:
    """Per H3 cell: days burned, longest and current run of consecutive WIB days (current = ending on `until`).

    Cells whose longest run is shorter than `min_days` are left out; the longest runs come first. Returns
    the frame (days as 'YYYY-MM-DD' text) and the WIB day the current runs end on.
    """
    df = _frame(session, flt, {"h3": "h3", "t": "acq_time"}, res=res, cache=cache)
    as_of = wib_date(flt.until)
    per = persistence(df["h3"].to_numpy(dtype=np.uint64), wib_days(df["t"]), as_of=as_of)
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
    cache: HotspotCache | None = None,
) -> Clusters:
    """Getis-Ord Gi* over H3 cells (k=1 ring, zero-padded study area): hot99/hot95/cold95/cold99/ns."""
    df = _frame(session, flt, {"h3": "h3", "frp": "frp"}, res=res, cache=cache)
    agg = aggregate_cells(cells=df["h3"].to_numpy(dtype=np.uint64), frp=df["frp"].to_numpy(dtype=np.float64))
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


def _area_stats(session: Session, flt: HotspotFilter, key: str,
                cache: HotspotCache | None = None) -> dict[str, dict[str, Any]]:
    """Per code of `key` (desa_code, kecamatan_code): count, summed FRP, high-confidence count, first/last seen."""
    frame = window_frame(session, flt, cache)
    rows = frame.rows(flt)
    return frame.answer(("area", key), rows, lambda: _area_of(frame, rows, key))


def _area_of(frame: HotspotFrame, rows: np.ndarray, key: str) -> dict[str, dict[str, Any]]:
    df = pd.DataFrame({"code": frame.columns[key][rows], "frp": frame.columns["frp"][rows],
                       "conf": frame.columns["confidence"][rows], "t": frame.times(rows)})
    df = df[df["code"].notna()]
    if not len(df):
        return {}
    df = df.assign(high=(df["conf"] == "high").astype(np.int64), frp=df["frp"].astype(np.float64))
    g = df.groupby("code", sort=True).agg(count=("high", "size"), frp=("frp", "sum"), high=("high", "sum"),
                                          first=("t", "min"), last=("t", "max"))
    first, last = iso_many(g["first"]), iso_many(g["last"])
    last_wib = format_wib_many(g["last"])
    return {
        code: {
            "count": int(count),
            "frp_sum": round(float(frp), 2),
            "high_confidence": int(hi),
            "first_seen": f,
            "last_seen": lt,
            "last_seen_wib": lw,
        }
        for code, count, frp, hi, f, lt, lw in zip(g.index.tolist(), g["count"].tolist(), g["frp"].tolist(),
                                                  g["high"].tolist(), first, last, last_wib, strict=True)
    }


def _ranked(rows: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    rows.sort(key=lambda r: (-r["count"], -r["frp_sum"], r[code]))
    return rows


def desa_table(session: Session, flt: HotspotFilter, *, layers: Layers,
               cache: HotspotCache | None = None) -> list[dict[str, Any]]:
    """Every desa of Barito Selatan with its detections (zeros included), most first."""
    stats = _area_stats(session, flt, "desa_code", cache)
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


def kecamatan_table(session: Session, flt: HotspotFilter, *, layers: Layers,
                    cache: HotspotCache | None = None) -> list[dict[str, Any]]:
    """The six kecamatan with their detections (zeros included), most first."""
    stats = _area_stats(session, flt, "kecamatan_code", cache)
    kec = layers.kecamatan
    rows = [
        {"kecamatan_code": c, "kecamatan": n, **stats.get(c, EMPTY_AREA)}
        for c, n in zip(kec.code.tolist(), kec.name.tolist(), strict=True)
    ]
    return _ranked(rows, "kecamatan_code")

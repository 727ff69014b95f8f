"""H3 hexagons for fire detections: vectorised cell ids, per-cell aggregates, GeoJSON and persistence.

Cells are uint64 H3 indexes inside the hot paths and hex strings at the edges (GeoJSON, database,
HTTP). h3ronpy computes lat/lng -> cell in compiled code over whole arrays, about twice the speed of
a loop over h3.latlng_to_cell (bench/hotspots.py prints both); the h3 loop is kept as a fallback.
h3ronpy releases the GIL, so large arrays are split between two threads, and `start_cells` computes
cells in those threads while the caller goes on (tagging computes them beside its own work).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import h3
import h3.api.numpy_int as h3_int
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import shapely

from geo.times import iso_many

try:
    from h3ronpy import cells_parse as _rs_cells_parse
    from h3ronpy import cells_to_string as _rs_cells_to_string
    from h3ronpy import grid_disk as _rs_grid_disk
    from h3ronpy.vector import cells_to_wkb_polygons as _rs_cells_to_wkb_polygons
    from h3ronpy.vector import coordinates_to_cells as _rs_coordinates_to_cells
    HAVE_H3RONPY = True
except ImportError:  # pragma: no cover - the h3 fallback is exercised by the benchmark only
    HAVE_H3RONPY = False

MIN_RESOLUTION = 5
MAX_RESOLUTION = 9
CONFIDENCE_RANK = {"low": 1, "nominal": 2, "high": 3}
_RANK_LEVELS = pa.array([None, "low", "nominal", "high"], pa.string())


def _check_res(res: int) -> None:
    if not MIN_RESOLUTION <= res <= MAX_RESOLUTION:
        raise ValueError(
            f"Resolusi H3 harus {MIN_RESOLUTION}..{MAX_RESOLUTION}, bukan {res} / "
            f"H3 resolution must be {MIN_RESOLUTION}..{MAX_RESOLUTION}, got {res}",
        )


def cells_from_lonlat(*, lon: np.ndarray, lat: np.ndarray, res: int) -> np.ndarray:
    """H3 cells (uint64) for WGS84 lon/lat arrays at resolution 5..9; vectorised via h3ronpy."""
    lon, lat = _lonlat(lon, lat)
    _check_res(res)
    if len(lon) == 0:
        return np.empty(0, dtype=np.uint64)
    if not HAVE_H3RONPY:
        return cells_from_lonlat_h3(lon=lon, lat=lat, res=res)
    parts = _halves(len(lon))
    if len(parts) == 1:
        return _rs_cells(lat, lon, res)
    # h3ronpy releases the GIL: the second half runs in an H3 worker thread while this one does the first.
    (a, b), (c, d) = parts
    rest = _h3_pool().submit(_rs_cells, lat[c:d], lon[c:d], res)
    out = np.empty(len(lon), dtype=np.uint64)
    try:
        out[a:b] = _rs_cells(lat[a:b], lon[a:b], res)
    finally:
        tail = rest.result()
    out[c:d] = tail
    return out


class CellJob:
    """H3 cells at several resolutions being computed in the H3 worker threads; `result()` waits for them."""

    def __init__(self, n: int, parts: dict[int, list[tuple[int, int, Future[np.ndarray]]]]) -> None:
        self._n = n
        self._parts = parts

    def result(self) -> dict[int, np.ndarray]:
        """uint64 cells per resolution, in the order of the points (raises what a worker raised)."""
        out: dict[int, np.ndarray] = {}
        for res, parts in self._parts.items():
            cells = np.empty(self._n, dtype=np.uint64)
            for start, stop, future in parts:
                cells[start:stop] = future.result()
            out[res] = cells
        return out

    def cancel(self) -> None:
        """Drop the parts not started yet and wait for the running ones (their results are discarded)."""
        futures = [f for parts in self._parts.values() for _, _, f in parts]
        for f in futures:
            f.cancel()
        for f in futures:
            with contextlib.suppress(Exception):
                f.result()


def start_cells(*, lon: np.ndarray, lat: np.ndarray, resolutions: Sequence[int]) -> CellJob:
    """Start H3 cells of lon/lat at each resolution (5..9) in the H3 worker threads and return at once.

    h3ronpy releases the GIL, so the caller can do other work (tagging, say) meanwhile; the cells equal
    cells_from_lonlat at each resolution (each from lon/lat, never parents of a finer cell).
    """
    lon, lat = _lonlat(lon, lat)
    for res in resolutions:
        _check_res(res)
    n = len(lon)
    parts: dict[int, list[tuple[int, int, Future[np.ndarray]]]] = {}
    for res in dict.fromkeys(resolutions):
        if n == 0 or not HAVE_H3RONPY:
            done: Future[np.ndarray] = Future()
            done.set_result(cells_from_lonlat(lon=lon, lat=lat, res=res))
            parts[res] = [(0, n, done)]
            continue
        parts[res] = [(a, b, _h3_pool().submit(_rs_cells, lat[a:b], lon[a:b], res)) for a, b in _halves(n)]
    return CellJob(n, parts)


# Below this many points one thread is faster than handing half to another (the hand-off costs ~50 us).
_SPLIT_MIN_POINTS = 8_192
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _lonlat(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous float64 copies-if-needed of lon/lat, checked to have the same shape."""
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    if lon.shape != lat.shape:
        raise ValueError("lon and lat must have the same shape")
    return lon, lat


def _halves(n: int) -> list[tuple[int, int]]:
    """[start, stop) ranges splitting n points between two threads (one range when that does not pay)."""
    if n < _SPLIT_MIN_POINTS or _CPUS < 2:
        return [(0, n)]
    return [(0, n // 2), (n // 2, n)]


def _h3_pool() -> ThreadPoolExecutor:
    """The H3 worker threads (started on first use, shared by every call, living with the process)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(1, min(2, _CPUS)), thread_name_prefix="h3-cells")
        return _POOL


def _forget_pool_after_fork() -> None:
    """A forked child has none of the parent's threads: it starts its own pool on first use."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _rs_cells(lat: np.ndarray, lon: np.ndarray, res: int) -> np.ndarray:
    """h3ronpy lat/lng -> cell over contiguous float64 arrays, as uint64."""
    return np.asarray(_rs_coordinates_to_cells(lat, lon, res), dtype=np.uint64)


def cells_from_lonlat_h3(*, lon: np.ndarray, lat: np.ndarray, res: int) -> np.ndarray:
    """Same as cells_from_lonlat with the h3 package (one call per point); fallback and benchmark peer."""
    to_cell = h3_int.latlng_to_cell
    return np.fromiter((to_cell(y, x, res) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)),
                       dtype=np.uint64, count=len(lon))


# H3 index layout (h3geo.org/docs/core-library/h3Indexing): resolution in bits 52-55, then one 3-bit
# digit per resolution 1..15 with digit r at bits 3*(15-r); digits finer than the cell's resolution are 7.
_RES_SHIFT = np.uint64(52)
_RES_MASK = np.uint64(0xF) << _RES_SHIFT


def cell_parents(cells: np.ndarray, *, res: int) -> np.ndarray:
    """Parent cells (uint64) at resolution `res` of cells at `res` or finer: bit operations, no per-cell call.

    Equal to h3.cell_to_parent (tests/test_hexagons.py checks many cells). H3 is not strictly nested: for
    about 6 % of points the parent of their res-9 cell is not the res-r cell containing the point, so
    per-detection cells at each resolution come from cells_from_lonlat, not from this.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    if not 0 <= res <= 15:
        raise ValueError(f"Resolusi H3 harus 0..15, bukan {res} / H3 resolution must be 0..15, got {res}")
    if len(cells) and int(((cells & _RES_MASK) >> _RES_SHIFT).min()) < res:
        raise ValueError(f"Sel lebih kasar dari resolusi {res} / Cells coarser than resolution {res}")
    unused = np.uint64((1 << (3 * (15 - res))) - 1)
    return (cells & ~_RES_MASK) | (np.uint64(res) << _RES_SHIFT) | unused


def cells_to_str(cells: np.ndarray) -> np.ndarray:
    """uint64 H3 cells -> hex strings (object array)."""
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return np.empty(0, dtype=object)
    if HAVE_H3RONPY:
        return np.asarray(_rs_cells_to_string(cells).to_pylist(), dtype=object)
    return np.array([h3.int_to_str(int(c)) for c in cells], dtype=object)


def cells_from_str(cells: np.ndarray | list[str]) -> np.ndarray:
    """Hex-string H3 cells -> uint64 (vectorised hex parse; validity is not checked)."""
    arr = np.asarray(cells, dtype=object)
    if len(arr) == 0:
        return np.empty(0, dtype=np.uint64)
    if HAVE_H3RONPY:
        return np.asarray(_rs_cells_parse(arr.astype(str).tolist()), dtype=np.uint64)
    return np.array([h3.str_to_int(c) for c in arr], dtype=np.uint64)


def aggregate_cells(*, cells: np.ndarray, frp: np.ndarray | None = None,
                    confidence: np.ndarray | pd.Series | None = None, acq_time_utc: Any = None) -> pd.DataFrame:
    """Per-cell count, summed FRP, max confidence (and first/last seen when times are given).

    Returns a frame indexed 0..n-1 with columns cell (uint64), count, frp_sum, max_confidence
    ('low'|'nominal'|'high' or None), max_confidence_rank (0..3)[, first_seen, last_seen], sorted by cell.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    n = len(cells)
    frp_v = np.zeros(n) if frp is None else np.nan_to_num(np.asarray(frp, dtype=np.float64))
    rank = np.zeros(n, dtype=np.int8) if confidence is None else confidence_rank(confidence)
    times = None if acq_time_utc is None else pd.DatetimeIndex(acq_time_utc)
    return _reduce(cells, count=np.ones(n, dtype=np.int64), frp_sum=frp_v, rank=rank, first=times, last=times)


def _reduce(cells: np.ndarray, *, count: np.ndarray, frp_sum: np.ndarray, rank: np.ndarray,
            first: pd.DatetimeIndex | None, last: pd.DatetimeIndex | None) -> pd.DataFrame:
    """Group equal cells and reduce each group (sum, max, min), output sorted by cell.

    Already sorted cells (one part, or parents of sorted cells) are reduced run by run with ufunc.reduceat;
    otherwise the cells are hashed (pandas.factorize), only the distinct cells are sorted and every column
    is reduced by group number (bincount, ufunc.at): for a chunk of detections, with far fewer distinct
    cells than rows, that is several times cheaper than sorting all rows.
    """
    count = np.asarray(count, dtype=np.int64)
    frp_sum = np.asarray(frp_sum, dtype=np.float64)
    rank = np.asarray(rank, dtype=np.int8)
    f = lt = None
    if first is not None and last is not None:
        # NaT is int64 min: it would win every minimum, so it is lifted above every time first.
        last = last.as_unit(first.unit)
        f, lt = np.where(first.asi8 == _NAT, _TOP, first.asi8), last.asi8
    data: dict[str, Any] = {}
    if len(cells) < 2 or bool(np.all(cells[1:] >= cells[:-1])):
        starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]]) if len(cells) else np.empty(0, np.int64)

        def red(ufunc: Any, values: np.ndarray) -> np.ndarray:
            return ufunc.reduceat(values, starts) if len(starts) else values[:0]

        data["cell"] = cells[starts]
        data["count"], data["frp_sum"] = red(np.add, count), red(np.add, frp_sum)
        ranks = red(np.maximum, rank)
        lo, hi = (red(np.minimum, f), red(np.maximum, lt)) if f is not None and lt is not None else (None, None)
    else:
        codes, uniq = pd.factorize(cells)
        m = len(uniq)
        order = np.argsort(uniq)
        group = np.empty(m, dtype=np.int64)
        group[order] = np.arange(m)
        g = group[codes]
        data["cell"] = np.asarray(uniq, dtype=np.uint64)[order]
        data["count"] = np.bincount(g, weights=count, minlength=m).astype(np.int64)
        data["frp_sum"] = np.bincount(g, weights=frp_sum, minlength=m)
        ranks = np.zeros(m, dtype=np.int8)
        np.maximum.at(ranks, g, rank)
        lo = hi = None
        if f is not None and lt is not None:
            lo, hi = np.full(m, _TOP, dtype=np.int64), np.full(m, _NAT, dtype=np.int64)
            np.minimum.at(lo, g, f)
            np.maximum.at(hi, g, lt)
    data["max_confidence_rank"] = ranks
    if lo is not None and hi is not None and first is not None:
        lo = np.where(lo == _TOP, _NAT, lo)
        for name, values in (("first_seen", lo), ("last_seen", hi)):
            t = pd.DatetimeIndex(values.view(f"datetime64[{first.unit}]"))
            data[name] = t if first.tz is None else t.tz_localize("UTC").tz_convert(first.tz)
    # pandas' default text dtype is Arrow-backed: take from the Arrow level names, no Python objects per row.
    # (A column of only missing values stays object/None, as pandas itself would infer it.)
    data["max_confidence"] = (pd.array(_RANK_LEVELS.take(pa.array(ranks.astype(np.int32))),
                                       dtype=pd.StringDtype("pyarrow", na_value=np.nan))
                              if ranks.any() else np.full(len(ranks), None, dtype=object))
    return pd.DataFrame(data, copy=False)


_NAT = np.iinfo(np.int64).min
_TOP = np.iinfo(np.int64).max


def merge_aggregates(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Combine aggregate_cells results of several chunks into one (so a huge file is aggregated streaming)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return aggregate_cells(cells=np.empty(0, dtype=np.uint64))
    both = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    timed = "first_seen" in both.columns
    return _reduce(both["cell"].to_numpy(dtype=np.uint64), count=both["count"].to_numpy(),
                   frp_sum=both["frp_sum"].to_numpy(), rank=both["max_confidence_rank"].to_numpy(),
                   first=pd.DatetimeIndex(both["first_seen"]) if timed else None,
                   last=pd.DatetimeIndex(both["last_seen"]) if timed else None)


def confidence_rank(confidence: np.ndarray | pd.Series) -> np.ndarray:
    """'low'|'nominal'|'high' -> 1|2|3, anything else -> 0 (int8), vectorised."""
    values = confidence.array if isinstance(confidence, pd.Series) else confidence
    if isinstance(values, pd.Categorical) and list(values.categories) == list(CONFIDENCE_RANK):
        return (values.codes + 1).astype(np.int8)  # the reader's categorical: codes are the rank - 1
    return (pd.Index(list(CONFIDENCE_RANK)).get_indexer(np.asarray(values, dtype=object)) + 1).astype(np.int8)


def cell_polygons(cells: np.ndarray) -> np.ndarray:
    """Shapely polygons (WGS84 lon/lat) of uint64 H3 cells."""
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return np.empty(0, dtype=object)
    if HAVE_H3RONPY:
        return shapely.from_wkb(np.asarray(_rs_cells_to_wkb_polygons(cells).to_pylist(), dtype=object))
    return np.array([shapely.Polygon([(x, y) for y, x in h3.cell_to_boundary(h3.int_to_str(int(c)))])
                     for c in cells], dtype=object)


def cells_geojson(frame: pd.DataFrame, *, cell_column: str = "cell", precision: int = 6) -> dict[str, Any]:
    """FeatureCollection (EPSG:4326, [lon, lat]) of the frame's H3 cells; other columns become properties."""
    cells = frame[cell_column].to_numpy()
    ints = cells if np.asarray(cells).dtype == np.uint64 else cells_from_str(cells)
    polys = cell_polygons(ints)
    # Rounding the vertices (one vectorised pass) is what the answer needs; set_precision's snapping to a grid
    # with validity repair cost about half of the whole conversion.
    polys = shapely.transform(polys, lambda xy: np.round(xy, precision)) if len(polys) else polys
    geoms = shapely.to_geojson(polys) if len(polys) else np.empty(0, dtype=object)
    props = frame.drop(columns=[cell_column]).copy()
    times = [c for c in props.columns if isinstance(props[c].dtype, pd.DatetimeTZDtype)]
    naive = [c for c in props.columns if pd.api.types.is_datetime64_any_dtype(props[c]) and c not in times]
    for c in naive:
        props[c] = props[c].map(lambda t: None if pd.isna(t) else t.isoformat())
    props = props.astype(object).where(props.notna(), None)
    for c in times:  # aware times (first/last seen) as UTC ISO text, the whole column at once
        props[c] = iso_many(frame[c])
    records = props.to_dict(orient="records")
    hexes = cells_to_str(ints)
    features = [
        {"type": "Feature", "id": h, "geometry": orjson.loads(g), "properties": {"h3": h, **_plain(r)}}
        for h, g, r in zip(hexes, geoms, records, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> Python scalars so json.dumps accepts the record."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in record.items()}


def disk_cells(cells: np.ndarray, *, k: int = 1) -> np.ndarray:
    """Sorted unique uint64 cells within k grid steps of any of the given cells (the cells included)."""
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    if k <= 0 or len(cells) == 0:
        return cells
    if HAVE_H3RONPY:
        disk = np.asarray(_rs_grid_disk(cells, k, flatten=True), dtype=np.uint64)
    else:
        disk = np.concatenate([np.asarray(h3_int.grid_disk(int(c), k), dtype=np.uint64) for c in cells])
    return np.unique(np.concatenate([cells, disk]))


def cell_of(*, lon: float, lat: float, res: int) -> str:
    """The H3 cell (hex string) holding one WGS84 point."""
    return h3.latlng_to_cell(lat, lon, res)


def cells_around(*, lon: float, lat: float, radius_m: float, res: int) -> list[str]:
    """H3 cells (hex strings) that together hold every point within `radius_m` metres of a WGS84 point.

    Of the grid disk wide enough for the radius, only the cells that can reach back within it: a cell whose
    centre is farther than the radius plus the cell's own reach (centre to farthest vertex) holds no point
    near enough. That leaves about a third of the disk, and a third of the rows a search by cell reads.
    """
    disk = _cell_disk(h3.latlng_to_cell(lat, lon, res), radius_m)
    far = _haversine_m(lat, lon, disk.lat, disk.lng) > (radius_m + disk.reach_m) * (1 + _DISTANCE_SLACK)
    return [cell for cell, skip in zip(disk.cells, far.tolist(), strict=True) if not skip]


# Haversine on the mean sphere against distances measured on the ellipsoid (UTM): 1 % covers the gap.
_DISTANCE_SLACK = 0.01
_EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class _Disk:
    cells: tuple[str, ...]
    lat: np.ndarray  # cell centres, degrees
    lng: np.ndarray
    reach_m: np.ndarray  # centre to farthest boundary vertex


@functools.lru_cache(maxsize=4096)
def _cell_disk(cell: str, radius_m: float) -> _Disk:
    # To leave the k-ring a point crosses k rings of cells, each at least an edge wide where two cells meet;
    # the 10 % margin covers the size change from one cell to its neighbours.
    shortest = min(h3.edge_length(e, "m") for e in h3.origin_to_directed_edges(cell))
    k = math.ceil(radius_m / (0.9 * shortest)) if radius_m > 0 else 0
    cells = tuple(h3.grid_disk(cell, k))
    centres = np.array([h3.cell_to_latlng(c) for c in cells], dtype=float)
    # H3 edges are great-circle arcs (straight in the face's gnomonic projection): no point of a cell is
    # farther from its centre than its farthest vertex. Cells have 5 to 10 vertices: one flat array.
    boundaries = [h3.cell_to_boundary(c) for c in cells]
    counts = np.array([len(b) for b in boundaries])
    vertices = np.array([v for b in boundaries for v in b], dtype=float)
    owner = np.repeat(np.arange(len(cells)), counts)
    to_vertex = _haversine_m(centres[owner, 0], centres[owner, 1], vertices[:, 0], vertices[:, 1])
    reach = np.maximum.reduceat(to_vertex, np.r_[0, np.cumsum(counts)[:-1]])
    return _Disk(cells, centres[:, 0], centres[:, 1], reach)


def _haversine_m(
    lat: float | np.ndarray, lng: float | np.ndarray, lats: np.ndarray, lngs: np.ndarray
) -> np.ndarray:
    """Great-circle distances in metres between points (degrees; either side may be one point)."""
    phi, dphi = np.radians(lat), np.radians(lats - lat)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi) * np.cos(np.radians(lats)) * np.sin(np.radians(lngs - lng) / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def neighbour_pairs(cells: np.ndarray, *, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), i != j, of cells within k grid steps of each other, among the given unique cells.

    One grid_disk call over the whole array, then a sorted-array lookup: no loop over pairs.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    n = len(cells)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    if HAVE_H3RONPY:
        disks = pa.array(_rs_grid_disk(cells, k, flatten=False))
        flat = np.asarray(disks.flatten(), dtype=np.uint64)
        offsets = np.asarray(disks.offsets, dtype=np.int64)
        src = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    else:
        lists = [h3_int.grid_disk(int(c), k) for c in cells]
        flat = np.concatenate([np.asarray(x, dtype=np.uint64) for x in lists])
        src = np.repeat(np.arange(n, dtype=np.int64), [len(x) for x in lists])
    order = np.argsort(cells)
    pos = np.searchsorted(cells, flat, sorter=order)
    pos = np.minimum(pos, n - 1)
    hit = cells[order[pos]] == flat
    dst = order[pos[hit]]
    src = src[hit]
    keep = src != dst
    return src[keep], dst[keep]


def persistence(cells: np.ndarray, days: np.ndarray, *,
                as_of: dt.date | np.datetime64 | None = None) -> pd.DataFrame:
    """Consecutive days each cell burned: longest run, current run (ending on `as_of`), days burned.

    `cells` and `days` are parallel (one entry per detection or per cell-day; duplicates are fine).
    `as_of` defaults to the latest day in the input; a cell whose last burning day is before
    `as_of` has current_run 0. Columns: cell, days_burned, longest_run, current_run, first_day, last_day.
    """
    cells = np.asarray(cells)
    d = np.asarray(days).astype("datetime64[D]")
    cols = ["cell", "days_burned", "longest_run", "current_run", "first_day", "last_day"]
    if len(cells) == 0:
        return pd.DataFrame({c: [] for c in cols})
    ref = d.max() if as_of is None else np.datetime64(as_of, "D")  # type: ignore[call-overload]
    pairs = pd.DataFrame({"cell": cells, "day": d.astype(np.int64)}).drop_duplicates()
    pairs = pairs.sort_values(["cell", "day"], kind="mergesort").reset_index(drop=True)
    cell = pairs["cell"].to_numpy()
    day = pairs["day"].to_numpy()
    new_cell = np.ones(len(pairs), dtype=bool)
    new_cell[1:] = cell[1:] != cell[:-1]
    new_run = new_cell.copy()
    new_run[1:] |= np.diff(day) != 1
    run_id = np.cumsum(new_run) - 1
    run_len = np.bincount(run_id)
    pairs["run_len"] = run_len[run_id]
    g = pairs.groupby("cell", sort=True)
    out = g.agg(days_burned=("day", "size"), longest_run=("run_len", "max"),
                first_day=("day", "min"), last_day=("day", "max")).reset_index()
    # The last row of each cell closes its latest run; that run is current only if it reaches as_of.
    last_rows = np.flatnonzero(np.r_[new_cell[1:], True])
    last_run = run_len[run_id[last_rows]]
    ends = day[last_rows]
    out["current_run"] = np.where(ends == ref.astype(np.int64), last_run, 0).astype(np.int64)
    out["first_day"] = out["first_day"].to_numpy().astype("datetime64[D]")
    out["last_day"] = out["last_day"].to_numpy().astype("datetime64[D]")
    out["longest_run"] = out["longest_run"].astype(np.int64)
    out["days_burned"] = out["days_burned"].astype(np.int64)
    return out[cols]


__all__ = [
    "MAX_RESOLUTION", "MIN_RESOLUTION", "CellJob", "aggregate_cells", "cell_parents", "cell_polygons",
    "cells_from_lonlat", "cells_from_lonlat_h3", "cells_from_str", "cells_geojson", "cells_to_str", "confidence_rank",
    "disk_cells", "merge_aggregates", "neighbour_pairs", "persistence", "start_cells",
]

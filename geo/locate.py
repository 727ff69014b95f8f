"""Locating points in Barito Selatan: desa, kecamatan, kabupaten, distances to river and road, H3, UTM."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import h3
import numpy as np
import shapely
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely import STRtree

from geo.coords import CoordinateError
from geo.crs import UTM50S, WGS84, project_geometries, to_utm, transformer
from geo.hexagons import cells_from_lonlat, cells_to_str
from geo.layers import Layers

REGENCY_CODE = "62.04"
H3_RESOLUTION = 9
# Closing radius that turns the simplified desa mosaic into one outline: the bundled polygons leave
# slivers of tens of metres between neighbours, and a call from a sliver is still inside the regency.
GAP_TOLERANCE_M = 75.0
DESA_CELL_DEG = 0.0005  # about 55 m: 4.7 M cells over the regency, about 2 % of them on an edge
KABUPATEN_CELL_DEG = 0.005

MATCH_NAMES = np.array(["outside", "inside", "overlap", "gap"], dtype=object)
MATCH_OUTSIDE, MATCH_INSIDE, MATCH_OVERLAP, MATCH_GAP = range(4)


class PolygonGrid:
    """Point-in-polygon by one array read for most points; cells crossed by an edge get an exact test."""

    OUTSIDE = -1
    EXACT = -2
    UNRESOLVED = -3  # on an edge cell but in no polygon: maybe a gap, maybe outside

    def __init__(
        self,
        polygons: np.ndarray,
        *,
        cell_deg: float,
        extra_edges: np.ndarray | None = None,
        inside_unknown: shapely.Geometry | None = None,
    ) -> None:
        self.polygons = polygons
        shapely.prepare(polygons)
        self.bounds = shapely.bounds(polygons)
        self.boundaries = shapely.boundary(polygons)
        xmin, ymin, xmax, ymax = shapely.total_bounds(polygons)
        self.x0, self.y0 = xmin - 2 * cell_deg, ymin - 2 * cell_deg
        self.cell = cell_deg
        self.nx = int(np.ceil((xmax - self.x0) / cell_deg)) + 2
        self.ny = int(np.ceil((ymax - self.y0) / cell_deg)) + 2
        self.grid = self._classify(extra_edges, inside_unknown)

    def _edge_cells(self, edges: np.ndarray) -> np.ndarray:
        # Sample every edge at a quarter cell and mark the cells around each sample within one step: a
        # segment that clips a cell corner between two samples still passes within one step of a sample.
        step = self.cell / 4
        pts = shapely.get_coordinates(shapely.segmentize(edges, step))
        # Positions in cell units, computed once; a sample shifted by a quarter step changes cell only where
        # it lies within a quarter cell of a cell side, so each axis has three candidate indices per sample.
        fx = (pts[:, 0] - self.x0) / self.cell
        fy = (pts[:, 1] - self.y0) / self.cell
        xs = [np.floor(fx + d).astype(np.int64) for d in (-0.25, 0.0, 0.25)]
        ys = [np.floor(fy + d).astype(np.int64) for d in (-0.25, 0.0, 0.25)]
        marked = np.zeros(self.ny * self.nx, dtype=bool)
        for iy in ys:
            y_ok = (iy >= 0) & (iy < self.ny)
            row = iy * self.nx
            for ix in xs:
                ok = y_ok & (ix >= 0) & (ix < self.nx)
                marked[(row + ix)[ok]] = True
        return marked.reshape(self.ny, self.nx)

    def _classify(self, extra_edges: np.ndarray | None, inside_unknown: shapely.Geometry | None) -> np.ndarray:
        edges = self.boundaries if extra_edges is None else np.concatenate([self.boundaries, extra_edges])
        on_edge = self._edge_cells(edges)
        # Cells joined without crossing an edge cell lie in the same polygon (or all outside), so one
        # representative centre per connected region classifies millions of cells.
        regions, count = ndimage.label(~on_edge)
        flat = regions.ravel()
        # Any cell of a region represents it, so one scattered write (the last cell of each label wins)
        # picks them in linear time, where a sort of millions of cells took seconds.
        cell_of = np.empty(count + 1, dtype=np.int64)
        cell_of[flat] = np.arange(flat.size, dtype=np.int64)
        first = cell_of[1:]  # label 0 is the edge cells; ndimage numbers its regions 1..count, none empty
        iy, ix = np.divmod(first, self.nx)
        cx = self.x0 + (ix + 0.5) * self.cell
        cy = self.y0 + (iy + 0.5) * self.cell
        value = np.full(count + 1, self.EXACT, dtype=np.int32)
        found, overlap = self.exact(cx, cy, order_key=np.arange(len(self.polygons)))
        found = np.where(found == self.UNRESOLVED, self.OUTSIDE, found)
        # A region in two polygons at once lies wholly in their overlap, where the polygon a point is deepest in
        # changes from point to point: its cells get the exact test, not the representative's answer.
        found[overlap] = self.EXACT
        if inside_unknown is not None:
            # A region in the outline but in no polygon is a gap wide enough to hold a cell.
            gap = (found == self.OUTSIDE) & shapely.contains_xy(inside_unknown, cx, cy)
            found[gap] = self.EXACT
        value[1:] = found
        return value[regions].astype(np.int16)

    def lookup(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Polygon index per point, OUTSIDE, or EXACT where the cell needs an exact test."""
        ix = np.floor((lon - self.x0) / self.cell).astype(np.int64)
        iy = np.floor((lat - self.y0) / self.cell).astype(np.int64)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        out = np.full(lon.shape, self.OUTSIDE, dtype=np.int32)
        out[ok] = self.grid[iy[ok], ix[ok]]
        return out

    def cell_value(self, lon: float, lat: float) -> int:
        """The grid value for one point: a polygon index, OUTSIDE or EXACT."""
        ix = int((lon - self.x0) // self.cell)
        iy = int((lat - self.y0) // self.cell)
        if 0 <= ix < self.nx and 0 <= iy < self.ny:
            return int(self.grid[iy, ix])
        return self.OUTSIDE

    def exact(self, lon: np.ndarray, lat: np.ndarray, *, order_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact polygon per point (UNRESOLVED in none); in an overlap the deepest wins, ties by key."""
        pts = shapely.points(lon, lat)
        # Querying the polygons against a tree of the points lets GEOS prepare each polygon once.
        poly, pt = STRtree(pts).query(self.polygons, predicate="contains")
        result = np.full(len(pts), self.UNRESOLVED, dtype=np.int32)
        overlap = np.zeros(len(pts), dtype=bool)
        if len(pt) == 0:
            return result, overlap
        counts = np.bincount(pt, minlength=len(pts))
        single = counts[pt] == 1
        result[pt[single]] = poly[single]
        multi = ~single
        if multi.any():
            mpt, mpoly = pt[multi], poly[multi]
            depth = shapely.distance(pts[mpt], self.boundaries[mpoly])
            order = np.lexsort((order_key[mpoly], -depth, mpt))
            mpt, mpoly = mpt[order], mpoly[order]
            first = np.unique(mpt, return_index=True)[1]
            result[mpt[first]] = mpoly[first]
            overlap[mpt[first]] = True
        return result, overlap

    def exact_one(self, lon: float, lat: float, *, order_key: np.ndarray) -> tuple[int, bool]:
        """Scalar twin of `exact` for the single-point path: bounds check, then prepared point-in-polygon."""
        b = self.bounds
        cand = np.flatnonzero((b[:, 0] <= lon) & (lon <= b[:, 2]) & (b[:, 1] <= lat) & (lat <= b[:, 3]))
        hits = [int(i) for i in cand if shapely.contains_xy(self.polygons[i], lon, lat)]
        if not hits:
            return self.UNRESOLVED, False
        if len(hits) == 1:
            return hits[0], False
        point = shapely.Point(lon, lat)
        best = max(hits, key=lambda i: (shapely.distance(point, self.boundaries[i]), -order_key[i]))
        return best, True

    def locate(self, lon: np.ndarray, lat: np.ndarray, *, order_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Polygon index per point (OUTSIDE or UNRESOLVED when in none) and whether it fell in an overlap."""
        idx = self.lookup(lon, lat)
        overlap = np.zeros(lon.shape, dtype=bool)
        need = np.flatnonzero(idx == self.EXACT)
        if len(need):
            idx[need], overlap[need] = self.exact(lon[need], lat[need], order_key=order_key)
        return idx, overlap


class NearestEdge:
    """Nearest distance in metres from UTM points to lines or polygon edges.

    One point: an STRtree of the raw segments answers exactly. Many points: a KD-tree over the edges
    densified every 10 m finds the nearest stretch and the distance is measured exactly to the segments
    beside that vertex; within EXACT_WITHIN_M that is exact, farther out the search may settle for a
    vertex up to EPSILON farther than the nearest (2 %: 200 m at 10 km), which keeps far points fast;
    with a `max_distance` the far points that may lie within it are measured exactly to the segments.
    """

    SPACING_M = 10.0
    EXACT_WITHIN_M = 5_000.0
    EPSILON = 0.02

    def __init__(self, geometries: np.ndarray) -> None:
        utm = project_geometries(geometries)
        if shapely.get_dimensions(utm).max() == 2:
            utm = shapely.boundary(utm)
        # One line per part (each ring of a polygon, each line of a multi-line): the last point of one part and the
        # first of the next are no segment, so parts are told apart by part, and each part knows its geometry.
        parts, part_owner = shapely.get_parts(utm, return_index=True)
        raw, raw_part = shapely.get_coordinates(parts, return_index=True)
        same = raw_part[:-1] == raw_part[1:]
        self.segment_tree = STRtree(shapely.linestrings(np.stack([raw[:-1][same], raw[1:][same]], axis=1)))
        self.segment_owner = part_owner[raw_part[:-1][same]]
        self._brute = None
        if len(self.segment_owner) <= self.BRUTE_FORCE_SEGMENTS:
            a, b = raw[:-1][same], raw[1:][same]
            ab = b - a
            denom = np.maximum((ab * ab).sum(axis=1), 1e-12)
            self._brute = (a[:, 0].copy(), a[:, 1].copy(), ab[:, 0].copy(), ab[:, 1].copy(), denom)
        coords, part = shapely.get_coordinates(shapely.segmentize(parts, self.SPACING_M), return_index=True)
        self.coords = coords
        self.owner = part_owner[part]
        at = np.arange(len(coords))
        prev = np.maximum(at - 1, 0)
        nxt = np.minimum(at + 1, len(coords) - 1)
        # Neighbours across a part boundary are not segments: fall back to the vertex itself.
        self.prev = np.where(part[prev] == part, prev, at)
        self.next = np.where(part[nxt] == part, nxt, at)
        # Densified edges are long runs of collinear points; the unbalanced sliding-midpoint tree searches
        # them several times faster than the median-split one.
        self.tree = cKDTree(coords, balanced_tree=False, compact_nodes=False)
        self.coords_bounds = (
            np.array([coords[:, 0].min(), coords[:, 1].min()]),
            np.array([coords[:, 0].max(), coords[:, 1].max()]),
        )
        self.bounds_origin, self.bounds_cell, self.bounds_grid = self._bound_grid()

    # A KD-tree search on every core pays off from about this many points of one search; below it the
    # thread start-up (about 0.1-0.25 ms for two threads) costs more than the split saves.
    PARALLEL_MIN_POINTS = 4_096
    # Cell of the coarse grid of lower bounds on the distance to the nearest vertex.
    BOUND_CELL_M = 500.0

    def _workers(self, n: int, workers: int | None) -> int:
        """The `workers` of one KD-tree search of n points: as asked, or every core for large searches only."""
        if workers is not None:
            return workers
        return -1 if n >= self.PARALLEL_MIN_POINTS else 1

    def _bound_grid(self) -> tuple[np.ndarray, float, np.ndarray]:
        """Origin, cell size and grid of lower bounds (m) on the distance from a cell to the nearest vertex."""
        lo, hi = self.coords_bounds
        # Coarser cells for layers wider than about 750 km keep the grid under about 2.3 M cells.
        cell = max(self.BOUND_CELL_M, float((hi - lo).max()) / 1_500)
        # The margin keeps every point off the grid well beyond EXACT_WITHIN_M of every vertex.
        origin = lo - (self.EXACT_WITHIN_M + 2 * cell)
        nx, ny = (((hi + self.EXACT_WITHIN_M + 2 * cell) - origin) // cell).astype(np.int64) + 1
        empty = np.ones((ny, nx), dtype=bool)
        ix = ((self.coords[:, 0] - origin[0]) // cell).astype(np.int64)
        iy = ((self.coords[:, 1] - origin[1]) // cell).astype(np.int64)
        empty[iy, ix] = False
        # Centre-to-centre distance to the nearest cell holding a vertex, less half a diagonal at each end
        # (the point and the vertex anywhere in their cells), less a metre for rounding.
        lower = ndimage.distance_transform_edt(empty) * cell - cell * math.sqrt(2.0) - 1.0
        return origin, cell, np.maximum(lower, 0.0).astype(np.float32)

    def vertex_lower_bound(self, p: np.ndarray) -> np.ndarray:
        """A lower bound in metres on the distance from each UTM point (rows of p) to the nearest vertex."""
        (x0, y0), cell, grid = self.bounds_origin, self.bounds_cell, self.bounds_grid
        ix = np.floor((p[:, 0] - x0) / cell).astype(np.int64)
        iy = np.floor((p[:, 1] - y0) / cell).astype(np.int64)
        ok = (ix >= 0) & (ix < grid.shape[1]) & (iy >= 0) & (iy < grid.shape[0])
        # Off the grid a point is at least EXACT_WITHIN_M from every vertex; the distance to the box of the
        # vertices (less a metre for rounding) may say more.
        lo, hi = self.coords_bounds
        box = np.hypot(*np.maximum(np.maximum(lo - p, p - hi), 0.0).T) - 1.0
        bound = np.where(ok, 0.0, np.maximum(box, self.EXACT_WITHIN_M))
        bound[ok] = grid[iy[ok], ix[ok]]
        return bound

    def nearest(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        max_distance: float | None = None,
        workers: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest geometry and edge distance (m) per UTM point; beyond `max_distance`: -1 and inf."""
        # Within `max_distance` every point gets exactly the answer of the search without it. `workers`
        # sets the KD-tree threads (None: every core for searches of PARALLEL_MIN_POINTS or more, else one).
        p = np.column_stack([np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)])
        n = len(p)
        v = np.full(n, len(self.coords), dtype=np.intp)
        lower = self.vertex_lower_bound(p)
        if max_distance is None:
            todo = np.arange(n)
        else:
            # The nearest vertex is within half a spacing (+1 m) of the nearest edge point, and the answer
            # is never nearer than the edge: a point whose vertex bound exceeds the cap by that is beyond it.
            todo = np.flatnonzero(lower <= float(max_distance) + self.SPACING_M / 2 + 1.0)
        # A point whose bound reaches EXACT_WITHIN_M has no vertex within it: the bounded search would say inf.
        near = todo[lower[todo] < self.EXACT_WITHIN_M]
        if len(near):
            dv, v[near] = self.tree.query(
                p[near], distance_upper_bound=self.EXACT_WITHIN_M, workers=self._workers(len(near), workers)
            )
            far = np.union1d(todo[lower[todo] >= self.EXACT_WITHIN_M], near[~np.isfinite(dv)])
        else:
            far = todo
        if len(far):
            v[far] = self.tree.query(p[far], eps=self.EPSILON, workers=self._workers(len(far), workers))[1]
        owner = np.full(n, -1, dtype=np.int64)
        d = np.full(n, np.inf)
        if len(todo):
            pt, vt = p[todo], v[todo]
            a = self.coords[vt]
            d[todo] = np.minimum(
                _point_segment_distance(pt, a, self.coords[self.prev[vt]]),
                _point_segment_distance(pt, a, self.coords[self.next[vt]]),
            )
            owner[todo] = self.owner[vt]
        if max_distance is not None and len(far):
            # The eps search may settle for a vertex up to EPSILON farther: a far point it puts anywhere up to
            # that much past the cap is measured exactly, so the cap is a sharp line (9.9 km is inside 10 km).
            shell = far[d[far] <= (float(max_distance) + self.SPACING_M) * (1.0 + self.EPSILON)]
            if len(shell):
                (which, seg), exact = self.segment_tree.query_nearest(
                    shapely.points(p[shell]), return_distance=True, all_matches=False
                )
                d[shell[which]], owner[shell[which]] = exact, self.segment_owner[seg]
        if max_distance is not None:
            beyond = d > max_distance
            owner[beyond], d[beyond] = -1, np.inf
        return owner, d

    # Up to this many segments, measuring every one with numpy beats walking the tree (whose cost grows for
    # points far away); the Natural Earth river has about 150.
    BRUTE_FORCE_SEGMENTS = 1_000

    def nearest_one(self, x: float, y: float) -> tuple[int, float]:
        """Index of the nearest geometry and the exact distance in metres for one UTM point."""
        if self._brute is not None:
            ax, ay, abx, aby, denom = self._brute
            t = ((x - ax) * abx + (y - ay) * aby) / denom
            np.clip(t, 0.0, 1.0, out=t)
            dx, dy = x - ax - t * abx, y - ay - t * aby
            d2 = dx * dx + dy * dy
            i = int(d2.argmin())
            return int(self.segment_owner[i]), math.sqrt(float(d2[i]))
        point = shapely.Point(x, y)
        seg, dist = self.segment_tree.query_nearest(point, return_distance=True, all_matches=False)
        return int(self.segment_owner[seg[0]]), float(dist[0])


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise distance from points p to segments a-b (all (n, 2) arrays)."""
    ab = b - a
    denom = np.einsum("ij,ij->i", ab, ab)
    t = np.divide(np.einsum("ij,ij->i", p - a, ab), denom, out=np.zeros(len(p)), where=denom > 0)
    closest = a + np.clip(t, 0.0, 1.0)[:, None] * ab
    return np.hypot(*(p - closest).T)


@dataclass(frozen=True)
class LocatedBatch:
    """The answer of `Locator.locate_many`: one array per field, one row per input point."""

    lon: np.ndarray
    lat: np.ndarray
    inside_regency: np.ndarray
    match: np.ndarray
    desa_code: np.ndarray
    desa_name: np.ndarray
    desa_jenis: np.ndarray
    kecamatan_code: np.ndarray
    kecamatan_name: np.ndarray
    kabupaten_code: np.ndarray
    kabupaten_name: np.ndarray
    boundary_disagreement: np.ndarray
    nearest_desa_code: np.ndarray
    nearest_desa_name: np.ndarray
    nearest_desa_m: np.ndarray
    river_name: np.ndarray
    river_m: np.ndarray
    road_m: np.ndarray
    road_source: np.ndarray
    h3: np.ndarray
    utm_x: np.ndarray
    utm_y: np.ndarray

    def __len__(self) -> int:
        return len(self.lon)

    def record(self, i: int) -> dict[str, Any]:
        """The full answer for point i as plain JSON-able values."""
        return answer({f.name: getattr(self, f.name)[i] for f in fields(self)})


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def answer(row: dict[str, Any], *, plain: bool = False) -> dict[str, Any]:
    """Shape one located row (flat field names of LocatedBatch) into the public nested answer.

    `plain=True` says the values are already Python scalars (the single-point path) and skips converting them.
    """
    r = row if plain else {k: _plain(v) for k, v in row.items()}
    inside = bool(r["inside_regency"])
    return {
        "lon": r["lon"],
        "lat": r["lat"],
        "inside_regency": inside,
        "match": r["match"] if isinstance(r["match"], str) else MATCH_NAMES[r["match"]],
        "desa": None
        if r["desa_code"] is None
        else {
            "code": r["desa_code"],
            "name": r["desa_name"],
            "jenis": r["desa_jenis"],
        },
        "kecamatan": None
        if r["kecamatan_code"] is None
        else {
            "code": r["kecamatan_code"],
            "name": r["kecamatan_name"],
        },
        "kabupaten": None
        if r["kabupaten_code"] is None
        else {
            "code": r["kabupaten_code"],
            "name": r["kabupaten_name"],
        },
        "boundary_disagreement": bool(r["boundary_disagreement"]),
        "nearest_desa": None
        if inside or r["nearest_desa_code"] is None
        else {
            "code": r["nearest_desa_code"],
            "name": r["nearest_desa_name"],
            "distance_m": round(r["nearest_desa_m"], 1),
        },
        "river": None if r["river_m"] is None else {"name": r["river_name"], "distance_m": round(r["river_m"], 1)},
        "road": None if r["road_m"] is None else {"distance_m": round(r["road_m"], 1), "source": r["road_source"]},
        "h3": {"resolution": H3_RESOLUTION, "cell": r["h3"]},
        "utm": {"crs": "EPSG:32750", "x": round(r["utm_x"], 2), "y": round(r["utm_y"], 2)},
    }


def h3_cells(lon: np.ndarray, lat: np.ndarray, *, resolution: int = H3_RESOLUTION) -> np.ndarray:
    """H3 cell ids (hex strings) for arrays of lon/lat, computed in compiled code."""
    return cells_to_str(cells_from_lonlat(lon=lon, lat=lat, res=resolution))


class Locator:
    """Answers "which desa, which kecamatan, how far from the river" for any coordinate; built once."""

    def __init__(self, layers: Layers) -> None:
        desa = layers.desa
        self.layers = layers
        self.desa = desa
        self.desa_jenis = desa.attrs.get("jenis", np.full(len(desa), None, dtype=object))
        self.desa_edges = NearestEdge(desa.geometry)
        union = shapely.union_all(project_geometries(desa.geometry))
        outline_utm = union.buffer(GAP_TOLERANCE_M).buffer(-GAP_TOLERANCE_M)
        self.outline = project_geometries(np.array([outline_utm]), src="EPSG:32750", dst="EPSG:4326")[0]
        shapely.prepare(self.outline)
        self.desa_grid = PolygonGrid(
            desa.geometry,
            cell_deg=DESA_CELL_DEG,
            extra_edges=np.array([shapely.boundary(self.outline)]),
            inside_unknown=self.outline,
        )
        self.desa_key = np.argsort(np.argsort(desa.code))
        kab = layers.kabupaten
        self.kabupaten = kab
        self.kabupaten_grid = PolygonGrid(kab.geometry, cell_deg=KABUPATEN_CELL_DEG)
        self.kabupaten_key = np.argsort(np.argsort(kab.code))
        self.regency_index = int(np.flatnonzero(kab.code == REGENCY_CODE)[0])
        self.neighbour_index = np.flatnonzero(kab.code != REGENCY_CODE)
        self.neighbour_tree = STRtree(kab.geometry[self.neighbour_index])
        kec_pos = {code: i for i, code in enumerate(layers.kecamatan.code)}
        self.desa_kecamatan = np.array([kec_pos.get(c, -1) for c in desa.attrs["kecamatan_kode"]], dtype=np.int64)
        self.rivers = NearestEdge(layers.rivers.geometry)
        self.roads = NearestEdge(layers.roads.geometry) if layers.roads is not None and len(layers.roads) else None

    @classmethod
    def from_layers(cls, layers: Layers) -> Locator:
        """Build the locator (grids, trees, outline) once from the layers."""
        return cls(layers)

    def assign_desa(self, *, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Desa index per point (-1 outside) and the match code (index into MATCH_NAMES), no distances."""
        idx, overlap = self.desa_grid.locate(lon, lat, order_key=self.desa_key)
        match = (idx >= 0).astype(np.int8) + overlap.astype(np.int8)
        unresolved = np.flatnonzero(idx == PolygonGrid.UNRESOLVED)
        idx[unresolved] = PolygonGrid.OUTSIDE
        if len(unresolved):
            gap = unresolved[shapely.contains_xy(self.outline, lon[unresolved], lat[unresolved])]
            if len(gap):
                x, y = to_utm(lon[gap], lat[gap])
                idx[gap] = self.desa_edges.nearest(x, y)[0]
                match[gap] = MATCH_GAP
        return idx, match

    def _kabupaten_outside(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Kabupaten index for points outside every desa, and whether the coarse polygons disagreed."""
        k, _ = self.kabupaten_grid.locate(lon, lat, order_key=self.kabupaten_key)
        k = np.where(k >= 0, k, -1).astype(np.int64)
        # The kabupaten polygons are coarser than the desa: a point outside every desa that the coarse polygon
        # still calls Barito Selatan belongs to the nearest neighbour within a few kilometres.
        claimed = np.flatnonzero(k == self.regency_index)
        if len(claimed):
            (pt, nb) = self.neighbour_tree.query_nearest(
                shapely.points(lon[claimed], lat[claimed]),
                all_matches=False,
                max_distance=0.05,
            )
            k[claimed] = -1
            k[claimed[pt]] = self.neighbour_index[nb]
        disagreement = np.zeros(len(k), dtype=bool)
        disagreement[claimed] = True
        return k, disagreement

    def _kabupaten_outside_one(self, lon: float, lat: float) -> tuple[int, bool]:
        """Scalar twin of `_kabupaten_outside` for the single-point path."""
        k = self.kabupaten_grid.cell_value(lon, lat)
        if k == PolygonGrid.EXACT:
            k = self.kabupaten_grid.exact_one(lon, lat, order_key=self.kabupaten_key)[0]
        if k == self.regency_index:
            nb = self.neighbour_tree.query_nearest(shapely.Point(lon, lat), all_matches=False, max_distance=0.05)
            return (int(self.neighbour_index[nb[0]]) if len(nb) else -1), True
        return max(k, -1), False

    def locate_many(self, *, lon: np.ndarray, lat: np.ndarray, h3_resolution: int = H3_RESOLUTION) -> LocatedBatch:
        """The full locate answer for arrays of WGS84 lon/lat, vectorised."""
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        if lon.shape != lat.shape or lon.ndim != 1:
            raise CoordinateError(
                "lon dan lat harus larik satu dimensi yang sama panjang",
                "lon and lat must be one-dimensional arrays of equal length",
                field="lon",
            )
        bad = ~(np.isfinite(lon) & np.isfinite(lat)) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
        if bad.any():
            raise CoordinateError(
                f"{int(bad.sum())} koordinat bukan lon/lat WGS84 yang terhingga",
                f"{int(bad.sum())} coordinate(s) are not finite WGS84 lon/lat",
                field="lon",
            )
        n = len(lon)
        none = np.full(n, None, dtype=object)
        desa_idx, match = self.assign_desa(lon=lon, lat=lat)
        inside = desa_idx >= 0
        x, y = to_utm(lon, lat)
        kab_idx = np.where(inside, self.regency_index, -1).astype(np.int64)
        disagreement = np.zeros(n, dtype=bool)
        nearest_desa = desa_idx.astype(np.int64)
        nearest_m = np.where(inside, 0.0, np.nan)
        out = np.flatnonzero(~inside)
        if len(out):
            kab_idx[out], disagreement[out] = self._kabupaten_outside(lon[out], lat[out])
            nearest_desa[out], nearest_m[out] = self.desa_edges.nearest(x[out], y[out])
        kec = np.where(inside, self.desa_kecamatan[np.maximum(desa_idx, 0)], -1)
        river_line, river_m = self.rivers.nearest(x, y)
        road_m, road_source = np.full(n, np.nan), none
        if self.roads is not None and self.layers.roads is not None:
            road_line, road_m = self.roads.nearest(x, y)
            road_source = _take(self.layers.roads.source, road_line)

        return LocatedBatch(
            lon=lon,
            lat=lat,
            inside_regency=inside,
            match=MATCH_NAMES[match],
            desa_code=_take(self.desa.code, desa_idx),
            desa_name=_take(self.desa.name, desa_idx),
            desa_jenis=_take(self.desa_jenis, desa_idx),
            kecamatan_code=_take(self.layers.kecamatan.code, kec),
            kecamatan_name=_take(self.layers.kecamatan.name, kec),
            kabupaten_code=_take(self.kabupaten.code, kab_idx),
            kabupaten_name=_take(self.kabupaten.name, kab_idx),
            boundary_disagreement=disagreement,
            nearest_desa_code=_take(self.desa.code, nearest_desa),
            nearest_desa_name=_take(self.desa.name, nearest_desa),
            nearest_desa_m=nearest_m,
            river_name=_take(self.layers.rivers.name, river_line),
            river_m=river_m,
            road_m=road_m,
            road_source=road_source,
            h3=h3_cells(lon, lat, resolution=h3_resolution),
            utm_x=np.asarray(x),
            utm_y=np.asarray(y),
        )

    def locate(self, *, lon: float, lat: float) -> dict[str, Any]:
        """The full locate answer for one point as a JSON-able dict; the scalar path for requests."""
        lon, lat = float(lon), float(lat)
        if not (np.isfinite(lon) and np.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
            raise CoordinateError(
                "Koordinat bukan lon/lat WGS84 yang terhingga", "Coordinate is not a finite WGS84 lon/lat", field="lon"
            )
        grid = self.desa_grid
        idx = grid.cell_value(lon, lat)
        match = MATCH_INSIDE if idx >= 0 else MATCH_OUTSIDE
        if idx == PolygonGrid.EXACT:
            idx, overlap = grid.exact_one(lon, lat, order_key=self.desa_key)
            match = MATCH_OVERLAP if overlap else MATCH_INSIDE
        x, y = transformer(src=WGS84, dst=UTM50S).transform(lon, lat)
        if idx == PolygonGrid.UNRESOLVED:
            idx = PolygonGrid.OUTSIDE
            if shapely.contains_xy(self.outline, lon, lat):
                idx, match = self.desa_edges.nearest_one(x, y)[0], MATCH_GAP
        if idx < 0:
            match = MATCH_OUTSIDE
        inside = idx >= 0
        kab, disagreement, nearest_desa, nearest_m = self.regency_index, False, idx, 0.0
        if not inside:
            kab, disagreement = self._kabupaten_outside_one(lon, lat)
            nearest_desa, nearest_m = self.desa_edges.nearest_one(x, y)
        kec = int(self.desa_kecamatan[idx]) if inside else -1
        river, river_m = self.rivers.nearest_one(x, y)
        road_m, road_source = None, None
        if self.roads is not None and self.layers.roads is not None:
            road, road_m = self.roads.nearest_one(x, y)
            road_source = self.layers.roads.source[road]

        def at(values: np.ndarray, i: int) -> Any:
            return values[i] if i >= 0 else None

        return answer(
            {
                "lon": lon,
                "lat": lat,
                "inside_regency": inside,
                "match": match,
                "desa_code": at(self.desa.code, idx),
                "desa_name": at(self.desa.name, idx),
                "desa_jenis": at(self.desa_jenis, idx),
                "kecamatan_code": at(self.layers.kecamatan.code, kec),
                "kecamatan_name": at(self.layers.kecamatan.name, kec),
                "kabupaten_code": at(self.kabupaten.code, kab),
                "kabupaten_name": at(self.kabupaten.name, kab),
                "boundary_disagreement": disagreement,
                "nearest_desa_code": at(self.desa.code, nearest_desa),
                "nearest_desa_name": at(self.desa.name, nearest_desa),
                "nearest_desa_m": nearest_m,
                "river_name": at(self.layers.rivers.name, river),
                "river_m": river_m,
                "road_m": road_m,
                "road_source": road_source,
                "h3": h3.latlng_to_cell(lat, lon, H3_RESOLUTION),
                "utm_x": x,
                "utm_y": y,
            },
            plain=True,
        )


def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[index] with None where index is negative."""
    out = np.full(len(index), None, dtype=object)
    ok = index >= 0
    if len(values):
        out[ok] = values[index[ok]]
    return out

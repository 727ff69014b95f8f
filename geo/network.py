"""Travel-time network: roads, rivers, landings and ferries as a directed graph weighted by seconds.

Model
-----
* Every input line is cut into *pieces* at its endpoints, at every vertex it shares (within ~1 m)
  with another line or with itself, and every ``max_edge_m`` along its length (so an off-network
  point is never far from a node it can snap to). A piece becomes one directed edge, or two when the
  line is not one-way. Edge weight is travel time in seconds.
* Edge modes: ``road`` (any road class, including the ``derived`` class), ``ferry``, ``river``
  (rivers and canals) and ``landing`` (walking/carrying between a village and the boat).
* Travel profiles (what a unit may use), each with its own CSR matrices, reversed CSR, node STRtree
  and weak components:

  - ``road``: road + ferry. Landings are excluded on purpose: a landing is a footpath to a jetty,
    and two landings meeting on the same river node would otherwise let a car cross the river.
  - ``river`` (speedboat, the default boat class) and ``river:klotok``: river + landing. Every
    river edge stores its time at speedboat speed; other boat classes scale river edges by
    ``speedboat / class`` speed (landings are walked, so they are not scaled). A ``speed_kmh``
    override on a river line is therefore a speedboat speed. Current is not modelled: rivers are
    two-way at the same speed.
* Flood closures close *road* edges only (``with_closed_edges``); boats are unaffected.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo.crs import UTM50S, WGS84, project_geometries, transformer

ROAD_SPEED_KMH: dict[str, float] = {
    "motorway": 80.0,
    "trunk": 60.0,
    "primary": 50.0,
    "secondary": 40.0,
    "tertiary": 30.0,
    "unclassified": 25.0,
    "road": 25.0,
    "residential": 20.0,
    "living_street": 10.0,
    "service": 15.0,
    "track": 12.0,
    "path": 5.0,
    # Straight links between villages: the detour factor lengthens them, this is the pace on
    # rural Kalimantan roads (mixed asphalt, laterite, wooden bridges).
    "derived": 30.0,
    # Includes loading and unloading averaged over a typical Barito crossing.
    "ferry": 8.0,
}
BOAT_SPEED_KMH: dict[str, float] = {"speedboat": 40.0, "klotok": 12.0}
DEFAULT_BOAT_CLASS = "speedboat"
WATERWAY_FACTOR: dict[str, float] = {"river": 1.0, "canal": 0.6}
LANDING_SPEED_KMH = 3.0
EDGE_MODES = ("road", "ferry", "river", "landing")
SOURCES = ("derived", "osm", "file")
MERGE_TOLERANCE_M = 1.0


@dataclass(frozen=True)
class Profile:
    """A travel profile: which edge modes a unit may use and how fast it goes on water and off-network."""

    name: str
    modes: tuple[str, ...]
    boat_class: str | None
    offnetwork_kmh: float


PROFILES: dict[str, Profile] = {
    # Off-network stretches: a vehicle crawling along village tracks / a crew walking from the boat.
    "road": Profile("road", ("road", "ferry"), None, 15.0),
    "river": Profile("river", ("river", "landing"), "speedboat", 4.0),
    "river:klotok": Profile("river:klotok", ("river", "landing"), "klotok", 4.0),
}
PROFILE_ALIASES: dict[str, str] = {"river:speedboat": "river"}


def resolve_profile(mode: str) -> str:
    """The canonical travel-profile name for a unit travel mode, or ValueError if unknown."""
    name = PROFILE_ALIASES.get(str(mode).strip().lower(), str(mode).strip().lower())
    if name not in PROFILES:
        raise ValueError(
            f"Moda perjalanan tidak dikenal / Unknown travel mode: {mode!r} "
            f"(pakai / use one of {sorted(PROFILES) + sorted(PROFILE_ALIASES)})"
        )
    return name


def _normalise_kind(kind: np.ndarray) -> np.ndarray:
    """Lower-case kinds and fold OSM ``*_link`` classes onto their parent class."""
    k = np.char.strip(np.char.lower(np.asarray(kind, dtype=str)))
    is_link = np.char.endswith(k, "_link")
    return np.where(is_link, np.char.replace(k, "_link", ""), k)


def _kind_mode_speed(kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge mode and base speed (km/h; speedboat for waterways) for each normalised kind."""
    table: dict[str, tuple[str, float]] = {
        k: ("ferry" if k == "ferry" else "road", v) for k, v in ROAD_SPEED_KMH.items()
    }
    for k, f in WATERWAY_FACTOR.items():
        table[k] = ("river", BOAT_SPEED_KMH[DEFAULT_BOAT_CLASS] * f)
    table["landing"] = ("landing", LANDING_SPEED_KMH)
    uniq, inv = np.unique(kind, return_inverse=True)
    unknown = [u for u in uniq.tolist() if u not in table]
    if unknown:
        raise ValueError(
            f"Kelas jalan/perairan tidak dikenal / Unknown road or waterway class: {unknown} "
            f"(dikenal / known: {sorted(table)})"
        )
    modes = np.array([table[u][0] for u in uniq.tolist()], dtype=object)
    speeds = np.array([table[u][1] for u in uniq.tolist()], dtype=float)
    return modes[inv].astype(str), speeds[inv]


@dataclass(frozen=True, eq=False)
class ProfileGraph:
    """CSR matrices and snapping index for one travel profile (duplicate node pairs keep the fastest edge)."""

    name: str
    forward: csr_matrix
    reverse: csr_matrix
    edge_ids: np.ndarray  # network edge index of each stored entry, aligned with forward.data
    keys: np.ndarray  # u * n_nodes + v of each stored entry, strictly increasing
    nodes: np.ndarray  # node ids touched by the profile's edges
    tree: shapely.STRtree  # over the profile's node points (UTM)
    component: np.ndarray  # weak component label per node (-1 for nodes outside the profile)
    component_size: np.ndarray  # nodes per component label
    typical_speed_ms: float


class NetworkLines(TypedDict):
    """Keyword arguments for ``build_network`` (what ``derive_network`` returns)."""

    lines: np.ndarray
    kind: np.ndarray
    oneway: np.ndarray
    speed_kmh: np.ndarray | None
    source: np.ndarray
    length_factor: np.ndarray
    name: np.ndarray
    crs: str


@dataclass(frozen=True, eq=False)
class TravelNetwork:
    """A directed travel-time graph in UTM 50S with per-profile CSR matrices and node STRtrees.

    Pieces are the undirected line stretches between nodes; edges are directed (one or two per piece).
    """

    node_xy: np.ndarray  # (n, 2) UTM 50S metres
    node_lonlat: np.ndarray  # (n, 2) WGS84
    piece_u: np.ndarray
    piece_v: np.ndarray
    piece_length_m: np.ndarray  # network length (geometry length x length factor)
    piece_kind: np.ndarray
    piece_mode: np.ndarray
    piece_source: np.ndarray
    piece_name: np.ndarray
    piece_speed_kmh: np.ndarray
    piece_coords: np.ndarray  # (m, 2) UTM vertices of all pieces, concatenated
    piece_offsets: np.ndarray  # (n_pieces + 1,) start of each piece in piece_coords
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_piece: np.ndarray
    edge_forward: np.ndarray  # False: the edge runs against the piece's digitised direction
    edge_time_s: np.ndarray  # base time (speedboat on water)
    closed: np.ndarray  # edges closed (flood); excluded from every profile graph
    profiles: dict[str, ProfileGraph] = field(default_factory=dict)
    crs: str = UTM50S

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        """Number of directed edges (closed ones included)."""
        return len(self.edge_u)

    @property
    def edge_mode(self) -> np.ndarray:
        """Mode of each directed edge."""
        return self.piece_mode[self.edge_piece]

    @property
    def edge_length_m(self) -> np.ndarray:
        """Network length of each directed edge in metres."""
        return self.piece_length_m[self.edge_piece]

    @property
    def edge_source(self) -> np.ndarray:
        """Source ('derived', 'osm', 'file') of each directed edge."""
        return self.piece_source[self.edge_piece]

    def profile(self, mode: str) -> ProfileGraph:
        """The graph of a travel profile (aliases such as 'river:speedboat' accepted)."""
        return self.profiles[resolve_profile(mode)]

    def piece_geometry(self, pieces: np.ndarray | None = None, *, crs: str = UTM50S) -> np.ndarray:
        """LineStrings of the given pieces (all when None), in ``crs``."""
        idx = np.arange(len(self.piece_u)) if pieces is None else np.asarray(pieces, dtype=np.int64)
        starts, ends = self.piece_offsets[idx], self.piece_offsets[idx + 1]
        rows = _ragged_ranges(starts, ends - starts)
        geoms = shapely.linestrings(
            self.piece_coords[rows], indices=np.repeat(np.arange(len(idx)), ends - starts)
        )
        if crs != UTM50S:
            geoms = project_geometries(geoms, src=UTM50S, dst=crs)
        return geoms

    def edge_geometry(self, edges: np.ndarray | None = None, *, crs: str = UTM50S) -> np.ndarray:
        """LineStrings of the given directed edges in travel direction, in ``crs``."""
        idx = np.arange(self.n_edges) if edges is None else np.asarray(edges, dtype=np.int64)
        geoms = self.piece_geometry(self.edge_piece[idx], crs=crs)
        back = ~self.edge_forward[idx]
        if back.any():
            geoms[back] = shapely.reverse(geoms[back])
        return geoms

    def with_closed_edges(self, mask: np.ndarray, *, modes: tuple[str, ...] = ("road",)) -> TravelNetwork:
        """A network with the masked edges of the given modes closed too (default roads; boats unaffected)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_edges,):
            raise ValueError(
                f"Panjang mask {mask.shape} tidak sama dengan jumlah ruas / mask length does not match "
                f"the {self.n_edges} edges"
            )
        closed = self.closed | (mask & np.isin(self.edge_mode, modes))
        changed = closed != self.closed
        if not changed.any():
            return self
        touched = set(np.unique(self.edge_mode[changed]).tolist())
        net = replace(self, closed=closed, profiles=dict(self.profiles))
        for name, prof in PROFILES.items():
            if touched & set(prof.modes):
                net.profiles[name] = _profile_graph(net, prof)
        return net


def _ragged_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + n) for every (s, n), without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.repeat(np.asarray(starts, dtype=np.int64) - np.cumsum(lengths) + lengths, lengths)
    return first + np.arange(total, dtype=np.int64)


def _broadcast(value: Any, n: int, *, name: str, dtype: Any) -> np.ndarray:
    """A per-line array from a scalar or an array of length n."""
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr.item(), dtype=dtype)
    if arr.shape != (n,):
        raise ValueError(
            f"'{name}' harus sepanjang lines / must have the length of lines ({n}), got {arr.shape}"
        )
    return arr


def _grid_keys(xy: np.ndarray, tol: float) -> np.ndarray:
    """One int64 key per ~tol-metre grid cell, so coordinates within the same cell become one node."""
    g = np.floor(xy / tol + 0.5).astype(np.int64)
    g -= g.min(axis=0)
    span = int(g[:, 1].max()) + 1
    if (int(g[:, 0].max()) + 1) * span >= 2**62:
        raise ValueError("Jangkauan koordinat terlalu besar / coordinate extent too large for UTM 50S")
    return g[:, 0] * span + g[:, 1]


def build_network(
    *,
    lines: np.ndarray,
    kind: np.ndarray,
    oneway: np.ndarray | None = None,
    speed_kmh: np.ndarray | None = None,
    source: np.ndarray | str = "file",
    crs: str = WGS84,
    length_factor: np.ndarray | None = None,
    name: np.ndarray | None = None,
    max_edge_m: float | None = 1000.0,
) -> TravelNetwork:
    """Build the directed travel-time network from line geometries and their class/one-way/speed/source.

    ``kind`` is a road class (``ROAD_SPEED_KMH``), 'river', 'canal', 'landing' or 'ferry'; ``oneway`` means
    digitised direction only; ``speed_kmh`` (NaN/<=0 = use the class speed) overrides per line;
    ``length_factor`` multiplies the geometric length (detour of straight derived links). MultiLineStrings
    are split into their parts. Raises ValueError when no usable line remains.
    """
    lines = np.asarray(lines, dtype=object)
    n = len(lines)
    kinds = _normalise_kind(_broadcast(kind, n, name="kind", dtype=object).astype(str))
    line_mode, line_speed = _kind_mode_speed(kinds)
    if speed_kmh is not None:
        override = _broadcast(speed_kmh, n, name="speed_kmh", dtype=float)
        ok = np.isfinite(override) & (override > 0)
        line_speed = np.where(ok, override, line_speed)
    line_oneway = (
        np.zeros(n, dtype=bool) if oneway is None else _broadcast(oneway, n, name="oneway", dtype=bool)
    )
    line_source = _broadcast(source, n, name="source", dtype=object).astype(str)
    bad_source = np.setdiff1d(np.unique(line_source), SOURCES)
    if len(bad_source):
        raise ValueError(
            f"Sumber tidak dikenal / Unknown source: {bad_source.tolist()} (pakai / use {SOURCES})"
        )
    line_factor = (
        np.ones(n)
        if length_factor is None
        else _broadcast(length_factor, n, name="length_factor", dtype=float)
    )
    line_name = (
        np.full(n, "", dtype=object) if name is None else _broadcast(name, n, name="name", dtype=object)
    )

    parts, part_line = shapely.get_parts(lines, return_index=True)
    keep = (shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING) & ~shapely.is_empty(parts)
    parts, part_line = parts[keep], part_line[keep]
    if len(parts) == 0:
        raise ValueError("Tidak ada garis yang bisa dipakai / no usable lines in the input")
    if crs != UTM50S:
        parts = project_geometries(parts, src=crs, dst=UTM50S)
    if max_edge_m:
        parts = shapely.segmentize(parts, max_edge_m)
    xy, vpart = shapely.get_coordinates(parts, return_index=True)
    key = _grid_keys(xy, MERGE_TOLERANCE_M)

    # Consecutive vertices in the same cell would make zero-length segments and spurious nodes.
    same = vpart[1:] == vpart[:-1]
    dup = np.zeros(len(xy), dtype=bool)
    dup[1:] = same & (key[1:] == key[:-1])
    xy, vpart, key = xy[~dup], vpart[~dup], key[~dup]
    counts = np.bincount(vpart, minlength=len(parts))
    enough = counts[vpart] >= 2
    xy, vpart, key = xy[enough], vpart[enough], key[enough]
    if len(xy) == 0:
        raise ValueError("Semua garis terlalu pendek / every line is shorter than the merge tolerance")

    nv = len(xy)
    first = np.ones(nv, dtype=bool)
    first[1:] = vpart[1:] != vpart[:-1]
    last = np.ones(nv, dtype=bool)
    last[:-1] = vpart[1:] != vpart[:-1]
    _, kinv, kcount = np.unique(key, return_inverse=True, return_counts=True)
    is_node = first | last | (kcount[kinv] > 1)

    seg_start = np.flatnonzero(~last)  # a segment runs from vertex i to i + 1 in the same part
    seg_len = np.hypot(*(xy[seg_start + 1] - xy[seg_start]).T)
    if max_edge_m:
        step = np.zeros(nv)
        step[seg_start + 1] = seg_len
        cum = np.cumsum(step)
        along = cum - cum[np.flatnonzero(first)][np.cumsum(first) - 1]
        bucket = np.floor(along / max_edge_m).astype(np.int64)
        is_node[1:] |= ~first[1:] & (bucket[1:] != bucket[:-1])

    run = np.cumsum(is_node) - 1
    raw = run[seg_start]
    change = np.ones(len(raw), dtype=bool)
    change[1:] = raw[1:] != raw[:-1]
    seg_piece = np.cumsum(change) - 1
    n_pieces = int(seg_piece[-1]) + 1
    p_first = seg_start[change]
    p_last = seg_start[np.r_[np.flatnonzero(change)[1:] - 1, len(raw) - 1]] + 1
    p_len = np.bincount(seg_piece, weights=seg_len, minlength=n_pieces)
    p_line = part_line[vpart[p_first]]

    end_keys = np.concatenate([key[p_first], key[p_last]])
    node_keys, node_first, end_inv = np.unique(end_keys, return_index=True, return_inverse=True)
    end_rows = np.concatenate([p_first, p_last])
    node_xy = xy[end_rows[node_first]]
    pu, pv = end_inv[:n_pieces], end_inv[n_pieces:]

    ok = pu != pv  # loops never shorten a path
    pu, pv, p_first, p_last, p_len, p_line = pu[ok], pv[ok], p_first[ok], p_last[ok], p_len[ok], p_line[ok]
    n_pieces = len(pu)
    if n_pieces == 0:
        raise ValueError("Tidak ada ruas yang bisa dipakai / no usable edges in the input")

    nvert = p_last - p_first + 1
    offsets = np.zeros(n_pieces + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(nvert)
    coords = xy[_ragged_ranges(p_first, nvert)].copy()
    coords[offsets[:-1]] = node_xy[pu]
    coords[offsets[1:] - 1] = node_xy[pv]

    # Compact node ids to the nodes actually used by the remaining pieces.
    used = np.zeros(len(node_keys), dtype=bool)
    used[pu] = used[pv] = True
    remap = np.cumsum(used) - 1
    pu, pv, node_xy = remap[pu], remap[pv], node_xy[used]

    p_len_net = p_len * line_factor[p_line]
    p_speed = line_speed[p_line]
    p_time = np.maximum(p_len_net / (p_speed / 3.6), 1e-3)  # csgraph treats a zero weight as no edge
    two_way = np.flatnonzero(~line_oneway[p_line])
    all_p = np.arange(n_pieces)

    lon, lat = transformer(src=UTM50S, dst=WGS84).transform(node_xy[:, 0], node_xy[:, 1])
    net = TravelNetwork(
        node_xy=node_xy,
        node_lonlat=np.column_stack([lon, lat]),
        piece_u=pu,
        piece_v=pv,
        piece_length_m=p_len_net,
        piece_kind=kinds[p_line],
        piece_mode=line_mode[p_line],
        piece_source=line_source[p_line],
        piece_name=line_name[p_line],
        piece_speed_kmh=p_speed,
        piece_coords=coords,
        piece_offsets=offsets,
        edge_u=np.concatenate([pu, pv[two_way]]),
        edge_v=np.concatenate([pv, pu[two_way]]),
        edge_piece=np.concatenate([all_p, two_way]),
        edge_forward=np.concatenate([np.ones(n_pieces, dtype=bool), np.zeros(len(two_way), dtype=bool)]),
        edge_time_s=np.concatenate([p_time, p_time[two_way]]),
        closed=np.zeros(n_pieces + len(two_way), dtype=bool),
    )
    for pname, prof in PROFILES.items():
        net.profiles[pname] = _profile_graph(net, prof)
    return net


def _profile_time(net: TravelNetwork, ids: np.ndarray, prof: Profile) -> np.ndarray:
    """Edge times for a profile: river edges rescaled from speedboat to the profile's boat class."""
    t = net.edge_time_s[ids]
    if prof.boat_class and prof.boat_class != DEFAULT_BOAT_CLASS:
        water = net.piece_mode[net.edge_piece[ids]] == "river"
        t = np.where(water, t * (BOAT_SPEED_KMH[DEFAULT_BOAT_CLASS] / BOAT_SPEED_KMH[prof.boat_class]), t)
    return t


def _profile_graph(net: TravelNetwork, prof: Profile) -> ProfileGraph:
    """CSR (forward and reversed), snapping tree and weak components for one travel profile."""
    n = net.n_nodes
    ids = np.flatnonzero(np.isin(net.edge_mode, prof.modes) & ~net.closed)
    t = _profile_time(net, ids, prof)
    u, v = net.edge_u[ids], net.edge_v[ids]
    order = np.lexsort((t, v, u))
    ids, t, u, v = ids[order], t[order], u[order], v[order]
    keep = np.ones(len(ids), dtype=bool)
    keep[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])  # parallel edges: the fastest wins
    ids, t, u, v = ids[keep], t[keep], u[keep], v[keep]
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(u, minlength=n))
    idx_dtype = np.int32 if max(n, len(ids)) < 2**31 - 1 else np.int64
    forward = csr_matrix((t, v.astype(idx_dtype), indptr.astype(idx_dtype)), shape=(n, n))
    reverse = forward.T.tocsr()
    reverse.sort_indices()
    nodes = np.unique(np.concatenate([u, v]))
    component = np.full(n, -1, dtype=np.int64)
    sizes = np.zeros(0, dtype=np.int64)
    if len(nodes):
        _, labels = connected_components(forward, directed=True, connection="weak")
        _, relabel = np.unique(labels[nodes], return_inverse=True)
        component[nodes] = relabel
        sizes = np.bincount(relabel)
    lengths = net.piece_length_m[net.edge_piece[ids]]
    speed = float(np.median(lengths / t)) if len(ids) else 1.0
    return ProfileGraph(
        name=prof.name,
        forward=forward,
        reverse=reverse,
        edge_ids=ids,
        keys=u.astype(np.int64) * n + v,
        nodes=nodes,
        tree=shapely.STRtree(shapely.points(net.node_xy[nodes])),
        component=component,
        component_size=sizes,
        typical_speed_ms=speed,
    )


def snap_xy(
    network: TravelNetwork, *, x: np.ndarray, y: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node usable by ``mode`` for UTM 50S points: (node ids, distance m); -1/inf when none."""
    prof = network.profile(mode)
    x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    node = np.full(len(x), -1, dtype=np.int64)
    dist = np.full(len(x), np.inf)
    if len(prof.nodes) == 0 or len(x) == 0:
        return node, dist
    (qi, ti), d = prof.tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
    node[qi] = prof.nodes[ti]
    dist[qi] = d
    return node, dist


def snap(
    network: TravelNetwork, *, lon: np.ndarray, lat: np.ndarray, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest node usable by ``mode`` for WGS84 points: (node ids, distance m); -1/inf when none."""
    x, y = transformer(src=WGS84, dst=UTM50S).transform(
        np.atleast_1d(np.asarray(lon, dtype=float)), np.atleast_1d(np.asarray(lat, dtype=float))
    )
    return snap_xy(network, x=x, y=y, mode=mode)


def edges_crossing(network: TravelNetwork, *, polygons: np.ndarray, crs: str = WGS84) -> np.ndarray:
    """Boolean mask over directed edges: road edges whose geometry intersects any of the polygons."""
    mask = np.zeros(network.n_edges, dtype=bool)
    polys = np.atleast_1d(np.asarray(polygons, dtype=object))
    polys = polys[~(shapely.is_missing(polys) | shapely.is_empty(polys))]
    if len(polys) == 0:
        return mask
    if crs != UTM50S:
        polys = project_geometries(polys, src=crs, dst=UTM50S)
    road_pieces = np.flatnonzero(network.piece_mode == "road")
    if len(road_pieces) == 0:
        return mask
    tree = shapely.STRtree(polys)
    hit_rows = tree.query(network.piece_geometry(road_pieces), predicate="intersects")[0]
    hit = np.zeros(len(network.piece_u), dtype=bool)
    hit[road_pieces[hit_rows]] = True
    return hit[network.edge_piece]


def derive_network(
    *,
    desa: np.ndarray,
    desa_codes: np.ndarray,
    river_lines: np.ndarray,
    crs: str = WGS84,
    detour_factor: float = 1.3,
    adjacency_tolerance_m: float = 30.0,
    landing_max_m: float = 3000.0,
) -> NetworkLines:
    """Approximate network from village polygons and the river, for ``build_network(**lines)``.

    * ``derived`` road links between representative points of desa that touch (within
      ``adjacency_tolerance_m``, because simplified polygons leave slivers), lengthened by ``detour_factor``;
    * for every desa whose polygon lies within ``landing_max_m`` of the river: a walked ``landing`` from its
      representative point to the river point nearest to it (long for big riverside desa whose centre
      lies inland: the walk is what a boat crew faces there);
    * the river lines, with a vertex inserted at every landing so the landings connect.

    All lines are in UTM 50S and marked ``source='derived'``.
    """
    desa = project_geometries(np.asarray(desa, dtype=object), src=crs, dst=UTM50S)
    rivers = project_geometries(np.asarray(river_lines, dtype=object), src=crs, dst=UTM50S)
    rivers = shapely.get_parts(rivers)
    rivers = rivers[shapely.get_type_id(rivers) == shapely.GeometryType.LINESTRING]
    codes = np.asarray(desa_codes, dtype=object).astype(str)
    rep = shapely.point_on_surface(desa)
    rep_xy = shapely.get_coordinates(rep)

    pairs = shapely.STRtree(desa).query(desa, predicate="dwithin", distance=adjacency_tolerance_m)
    a, b = pairs[:, pairs[0] < pairs[1]]
    links = shapely.linestrings(
        np.stack([rep_xy[a], rep_xy[b]], axis=1).reshape(-1, 2), indices=np.repeat(np.arange(len(a)), 2)
    )
    link_names = np.char.add(np.char.add(codes[a].astype(str), "|"), codes[b].astype(str)).astype(object)

    # Nearest river line and the position on it for each desa near the river.
    if len(rivers):
        d_poly = shapely.distance(desa[:, None], rivers[None, :]).min(axis=1)
        d_rep = shapely.distance(rep[:, None], rivers[None, :])
        near = np.flatnonzero(d_poly <= landing_max_m)
    else:
        near = np.zeros(0, dtype=np.int64)
    if len(near):
        which = d_rep[near].argmin(axis=1)
        along = shapely.line_locate_point(rivers[which], rep[near])
        jetty = shapely.get_coordinates(shapely.line_interpolate_point(rivers[which], along))
        landings = shapely.linestrings(
            np.stack([rep_xy[near], jetty], axis=1).reshape(-1, 2), indices=np.repeat(np.arange(len(near)), 2)
        )
        landing_names = np.char.add(codes[near].astype(str), "|landing").astype(object)
        # Insert each jetty as a vertex of its river line (vertices first on ties, then landings).
        rxy, rline = shapely.get_coordinates(rivers, return_index=True)
        rstep = np.zeros(len(rxy))
        same = rline[1:] == rline[:-1]
        rstep[1:] = np.where(same, np.hypot(*(rxy[1:] - rxy[:-1]).T), 0.0)
        rcum = np.cumsum(rstep)
        rfirst = np.ones(len(rxy), dtype=bool)
        rfirst[1:] = ~same
        rcum = rcum - rcum[np.flatnonzero(rfirst)][np.cumsum(rfirst) - 1]
        all_xy = np.concatenate([rxy, jetty])
        all_line = np.concatenate([rline, which])
        all_pos = np.concatenate([rcum, along])
        tie = np.concatenate([np.zeros(len(rxy)), np.ones(len(jetty))])
        order = np.lexsort((tie, all_pos, all_line))
        rivers = shapely.linestrings(all_xy[order], indices=all_line[order])
    else:
        landings = landing_names = np.zeros(0, dtype=object)
    river_names = np.array([f"river|{i}" for i in range(len(rivers))], dtype=object)

    lines = np.concatenate([links, landings, rivers]).astype(object)
    kind = np.concatenate(
        [
            np.full(len(links), "derived", dtype=object),
            np.full(len(landings), "landing", dtype=object),
            np.full(len(rivers), "river", dtype=object),
        ]
    )
    factor = np.concatenate([np.full(len(links), detour_factor), np.ones(len(landings) + len(rivers))])
    return NetworkLines(
        lines=lines,
        kind=kind,
        oneway=np.zeros(len(lines), dtype=bool),
        speed_kmh=None,
        source=np.full(len(lines), "derived", dtype=object),
        length_factor=factor,
        name=np.concatenate([link_names, landing_names, river_names]),
        crs=UTM50S,
    )

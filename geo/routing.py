"""Nearest units by travel time: one bounded reverse search per travel profile serves every unit.

For each travel profile used by the candidate units, Dijkstra runs once from the incident's snapped node
over the *reversed* graph (so distances are unit -> incident), with a time ``limit`` that starts from a
straight-line estimate and doubles until, for every requested type, the k best units are settled (or the
incident's whole component has been searched). A unit's ETA is

    off-network time (unit -> its node) + network time + off-network time (incident's node -> incident)

with off-network stretches at the profile's slow ``offnetwork_kmh``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import shapely
import shapely.ops
from scipy.sparse.csgraph import dijkstra

from geo.crs import UTM50S, WGS84, to_utm, to_wgs84, transformer
from geo.network import PROFILES, ProfileGraph, TravelNetwork, resolve_profile, snap_xy

DEFAULT_MAX_SNAP_M = 10_000.0
MIN_BUDGET_S = 120.0
SNAP_TOLERANCE_M = 1e-3

UNREACHABLE_MESSAGES: dict[str, str] = {
    "unit_off_network": "Unit terlalu jauh dari jaringan / unit is too far from the network",
    "incident_off_network": "Lokasi kejadian terlalu jauh dari jaringan untuk moda ini / "
    "incident is too far from the network for this travel mode",
    "disconnected": "Tidak ada rute ke lokasi kejadian / no route to the incident (disconnected network)",
    "no_position": "Posisi unit tidak diketahui / unit position is unknown",
}


@dataclass(frozen=True)
class Leg:
    """A stretch of the route in one mode ('road', 'ferry', 'river', 'landing' or 'offnetwork')."""

    mode: str
    distance_m: float
    time_s: float


@dataclass(frozen=True)
class RankedUnit:
    """One recommended unit: ETA, distances, legs and the route (unit -> incident, GeoJSON, WGS84)."""

    unit_id: Any
    unit_type: str
    travel_mode: str
    rank: int
    eta_s: float
    distance_m: float  # the whole route, the sum of the legs: unit -> its node, the network, node -> incident
    straight_line_m: float
    unit_snap_m: float
    incident_snap_m: float
    legs: list[Leg]
    route: dict[str, Any]
    sources: list[str]  # data sources of the edges used, e.g. ['derived']


@dataclass(frozen=True)
class UnreachableUnit:
    """A candidate unit that cannot reach the incident, and why."""

    unit_id: Any
    unit_type: str
    travel_mode: str
    reason: str  # 'unit_off_network' | 'incident_off_network' | 'disconnected' | 'no_position'
    message: str
    snap_m: float | None  # None when there is nothing to snap (no position, no node of that mode)


@dataclass(frozen=True)
class Ranking:
    """Per requested type the k best units by ETA, plus the units that cannot reach the incident."""

    by_type: dict[str, list[RankedUnit]]
    unreachable: list[UnreachableUnit]
    incident_snap_m: dict[str, float | None] = field(default_factory=dict)
    searches: int = 0
    budget_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


def _finite(value: float) -> float | None:
    """A float for JSON, None instead of inf/NaN."""
    return float(value) if np.isfinite(value) else None


def _search(prof: ProfileGraph, source: int, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Bounded Dijkstra from ``source`` over the reversed graph: times to the source and successors."""
    dist, pred = dijkstra(prof.reverse, directed=True, indices=source, return_predecessors=True, limit=limit)
    return dist, pred


def _covered(prof: ProfileGraph, dist: np.ndarray, source: int) -> bool:
    """Whether the search reached every node that can reach the source (no unsettled node feeds the set)."""
    reached = np.isfinite(dist)
    if int(reached.sum()) == int(prof.component_size[prof.component[source]]):
        return True
    rev = prof.reverse
    rows = np.repeat(reached, np.diff(rev.indptr))
    return not bool((rows & ~reached[rev.indices]).any())


@dataclass(frozen=True)
class _Path:
    """One chosen unit's route (internal): legs, line and distance include the off-network stretches."""

    legs: list[Leg]
    route: dict[str, Any]
    distance_m: float
    sources: list[str]


def _paths(
    net: TravelNetwork,
    prof: ProfileGraph,
    pred: np.ndarray,
    *,
    starts: np.ndarray,
    target: int,
    unit_xy: np.ndarray,
    incident_xy: np.ndarray,
    offnetwork_ms: float,
) -> list[_Path]:
    """Legs, GeoJSON route, route distance and sources for several units of one profile, batched."""
    r = len(starts)
    step = memoryview(np.ascontiguousarray(pred))  # type: ignore[arg-type]  # plain-int indexing: the k walks are short and few
    walks: list[int] = []
    ends: list[int] = []
    n_edges: list[int] = []
    for cur in starts.tolist():
        first = len(walks)
        walks.append(cur)
        while cur != target:
            cur = step[cur]
            walks.append(cur)
        ends.append(len(walks))
        n_edges.append(len(walks) - first - 1)
    hops = np.asarray(walks, dtype=np.int64)
    last = np.zeros(len(hops), dtype=bool)
    last[np.asarray(ends, dtype=np.int64) - 1] = True  # a route's final hop is the target; no edge leaves it
    u, v = hops[:-1][~last[:-1]], hops[1:][~last[:-1]]
    route_of = np.repeat(np.arange(r), n_edges)
    pos = np.searchsorted(prof.keys, u * net.n_nodes + v)
    edges = prof.edge_ids[pos]
    times = prof.forward.data[pos]
    pieces = net.edge_piece[edges]
    lengths = net.piece_length_m[pieces]
    modes = net.piece_mode[pieces]
    dist = np.bincount(route_of, weights=lengths, minlength=r)

    # Legs: runs of one mode within one route.
    brk = np.ones(len(edges), dtype=bool)
    brk[1:] = (route_of[1:] != route_of[:-1]) | (modes[1:] != modes[:-1])
    leg_start = np.flatnonzero(brk)
    leg_d = np.add.reduceat(lengths, leg_start) if len(edges) else np.zeros(0)
    leg_t = np.add.reduceat(times, leg_start) if len(edges) else np.zeros(0)
    leg_route = route_of[leg_start]
    leg_mode = modes[leg_start]

    # Coordinates: each edge's piece vertices in travel direction, joints not repeated.
    off = net.piece_offsets
    nv = off[pieces + 1] - off[pieces]
    local = _ragged(nv)
    fwd = np.repeat(net.edge_forward[edges], nv)
    rows = np.repeat(off[pieces], nv) + np.where(fwd, local, np.repeat(nv, nv) - 1 - local)
    first_of_route = np.ones(len(edges), dtype=bool)
    first_of_route[1:] = route_of[1:] != route_of[:-1]
    keep = (local > 0) | np.repeat(first_of_route, nv)
    xy = net.piece_coords[rows[keep]]
    xy_route = np.repeat(route_of, nv)[keep]
    # Unit position, its node (for routes without edges), the network part, then the incident.
    all_xy = np.concatenate([unit_xy, net.node_xy[starts], xy, np.repeat(incident_xy[None, :], r, axis=0)])
    all_route = np.concatenate([np.arange(r), np.arange(r), xy_route, np.arange(r)])
    order = np.argsort(all_route, kind="stable")
    all_xy, all_route = all_xy[order], all_route[order]
    lon, lat = transformer(src=UTM50S, dst=WGS84).transform(all_xy[:, 0], all_xy[:, 1])
    ll = np.round(np.column_stack([lon, lat]), 7)
    dup = np.zeros(len(ll), dtype=bool)
    dup[1:] = (all_route[1:] == all_route[:-1]) & (ll[1:] == ll[:-1]).all(axis=1)
    ll, all_route = ll[~dup], all_route[~dup]
    bounds = np.searchsorted(all_route, np.arange(r + 1))

    # A point given on a node comes back from its lon/lat round trip a few nanometres off: that is no stretch.
    unit_snap = _metres(np.hypot(*(unit_xy - net.node_xy[starts]).T)).tolist()
    inc_snap = float(_metres(np.hypot(*(incident_xy - net.node_xy[target]))))
    # Python lists from here: per-route slicing of small numpy arrays costs more than the work itself.
    sources = net.piece_source[pieces].tolist()
    leg_bounds = np.searchsorted(leg_route, np.arange(r + 1)).tolist()
    edge_bounds = np.searchsorted(route_of, np.arange(r + 1)).tolist()
    bounds = bounds.tolist()
    leg_mode, leg_d, leg_t = leg_mode.tolist(), leg_d.tolist(), leg_t.tolist()  # type: ignore[assignment]
    ll = ll.tolist()
    dist = dist.tolist()
    out: list[_Path] = []
    for i in range(r):
        legs = [Leg("offnetwork", unit_snap[i], unit_snap[i] / offnetwork_ms)] if unit_snap[i] else []
        a, b = leg_bounds[i], leg_bounds[i + 1]
        legs += [Leg(m, d, t) for m, d, t in zip(leg_mode[a:b], leg_d[a:b], leg_t[a:b], strict=True)]
        if inc_snap:
            legs.append(Leg("offnetwork", inc_snap, inc_snap / offnetwork_ms))
        coords = ll[bounds[i] : bounds[i + 1]]
        if len(coords) < 2:
            coords = coords * 2
        out.append(
            _Path(
                legs=legs,
                route={"type": "LineString", "coordinates": coords},
                # The off-network stretches are travelled (and timed) too: a unit 465 m off the road is not 0 m away.
                distance_m=unit_snap[i] + dist[i] + inc_snap,
                sources=sorted(set(sources[edge_bounds[i] : edge_bounds[i + 1]])),
            )
        )
    return out


def _metres(d: np.ndarray) -> np.ndarray:
    """Distances with anything below a millimetre (coordinate round-off, not travel) set to 0."""
    return np.where(d < SNAP_TOLERANCE_M, 0.0, d)


def _ragged(n: np.ndarray) -> np.ndarray:
    """0..n_i-1 for every n_i, concatenated."""
    total = int(n.sum())
    return np.arange(total) - np.repeat(np.cumsum(n) - n, n)


@dataclass(frozen=True, eq=False)
class UnitPlacement:
    """Units resolved against one network: UTM position, travel profile and nearest node of that profile.

    Depends only on the units and the network, not on the incident, so a caller can keep it while neither
    changes (``place_units`` once, ``rank_placed`` per incident) and take subsets with ``take``.
    """

    network: TravelNetwork
    ids: np.ndarray  # caller's unit ids (object)
    utype: np.ndarray  # str
    profiles: tuple[str, ...]  # profile names, sorted; ``code`` indexes them
    code: np.ndarray  # int64 profile code per unit
    xy: np.ndarray  # (n, 2) UTM 50S, NaN without a position
    node: np.ndarray  # nearest node of the unit's profile, -1 without a position or node
    snap_m: np.ndarray  # distance to that node, inf when none

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx: np.ndarray) -> UnitPlacement:
        """The placement of a subset of the units (rows ``idx``, in that order)."""
        idx = np.asarray(idx, dtype=np.int64)
        return replace(
            self,
            ids=self.ids[idx],
            utype=self.utype[idx],
            code=self.code[idx],
            xy=self.xy[idx],
            node=self.node[idx],
            snap_m=self.snap_m[idx],
        )


def place_units(
    network: TravelNetwork,
    *,
    unit_ids: np.ndarray,
    unit_types: np.ndarray,
    unit_modes: np.ndarray,
    unit_lon: np.ndarray,
    unit_lat: np.ndarray,
) -> UnitPlacement:
    """Project the units to UTM 50S and snap each to the nearest node of its travel profile (WGS84 input)."""
    ids = np.asarray(unit_ids, dtype=object).reshape(-1)
    n = len(ids)
    utype = np.asarray(unit_types, dtype=object).reshape(-1).astype(str)
    umode_raw = np.asarray(unit_modes, dtype=object).reshape(-1).astype(str)
    ulon = np.asarray(unit_lon, dtype=float).reshape(-1)
    ulat = np.asarray(unit_lat, dtype=float).reshape(-1)
    if not (len(utype) == len(umode_raw) == len(ulon) == len(ulat) == n):
        raise ValueError("Panjang array unit tidak sama / unit arrays must have the same length")
    # Profiles as small integer codes so the expanding loop never touches strings.
    raw_names, raw_inv = np.unique(umode_raw, return_inverse=True)
    pnames = sorted({resolve_profile(m) for m in raw_names.tolist()})
    ucode = np.array([pnames.index(resolve_profile(m)) for m in raw_names.tolist()], dtype=np.int64)[raw_inv]
    ucode = ucode.reshape(-1)
    ux, uy = transformer(src=WGS84, dst=UTM50S).transform(ulon, ulat)
    uxy = np.column_stack([np.asarray(ux, dtype=float), np.asarray(uy, dtype=float)]).reshape(-1, 2)
    unode = np.full(n, -1, dtype=np.int64)
    usnap = np.full(n, np.inf)
    placed = np.isfinite(uxy).all(axis=1)
    for c, name in enumerate(pnames):
        members = np.flatnonzero(placed & (ucode == c))
        if len(members):
            unode[members], usnap[members] = snap_xy(network, x=uxy[members, 0], y=uxy[members, 1], mode=name)
    return UnitPlacement(
        network=network,
        ids=ids,
        utype=utype,
        profiles=tuple(pnames),
        code=ucode,
        xy=uxy,
        node=unode,
        snap_m=usnap,
    )


def _snap_point(prof: ProfileGraph, point: shapely.Point) -> tuple[int, float]:
    """Nearest node of a profile to one UTM point (same answer as ``snap_xy``): (node, metres), -1/inf if none."""
    if len(prof.nodes) == 0:
        return -1, np.inf
    ti, d = prof.tree.query_nearest(point, return_distance=True, all_matches=False)
    return (int(prof.nodes[ti[0]]), float(d[0])) if len(ti) else (-1, np.inf)


def rank_units(
    network: TravelNetwork,
    *,
    incident_lon: float,
    incident_lat: float,
    unit_ids: np.ndarray,
    unit_types: np.ndarray,
    unit_modes: np.ndarray,
    unit_lon: np.ndarray,
    unit_lat: np.ndarray,
    k: int = 3,
    types: list[str] | tuple[str, ...] | None = None,
    closed_edges: np.ndarray | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    offnetwork_kmh: float | None = None,
) -> Ranking:
    """For each requested type (default: every type present) the k units with the smallest ETA.

    ``unit_modes`` are travel profiles ('road', 'river' = speedboat, 'river:klotok'); ``closed_edges`` is a
    mask over ``network``'s directed edges (e.g. from ``edges_crossing``), applied to road edges only — for
    repeated queries build ``network.with_closed_edges(mask)`` once and pass that instead. Units farther
    than ``max_snap_m`` from the network, or with no path, are listed in ``unreachable``. Callers ranking
    the same units for many incidents can ``place_units`` once and call ``rank_placed``.
    """
    if k < 1:
        raise ValueError("k harus >= 1 / k must be >= 1")
    net = network if closed_edges is None else network.with_closed_edges(closed_edges)
    placement = place_units(
        net, unit_ids=unit_ids, unit_types=unit_types, unit_modes=unit_modes, unit_lon=unit_lon, unit_lat=unit_lat
    )
    return rank_placed(
        placement,
        incident_lon=incident_lon,
        incident_lat=incident_lat,
        k=k,
        types=types,
        max_snap_m=max_snap_m,
        offnetwork_kmh=offnetwork_kmh,
    )


def rank_placed(
    placement: UnitPlacement,
    *,
    incident_lon: float,
    incident_lat: float,
    k: int = 3,
    types: list[str] | tuple[str, ...] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    offnetwork_kmh: float | None = None,
) -> Ranking:
    """``rank_units`` for units already placed on the network they were snapped to (``place_units``)."""
    if k < 1:
        raise ValueError("k harus >= 1 / k must be >= 1")
    if not (np.isfinite(incident_lon) and np.isfinite(incident_lat)):
        raise ValueError("Lokasi kejadian tidak valid / incident location is not a finite lon/lat")
    net = placement.network
    ids, utype, ucode, uxy = placement.ids, placement.utype, placement.code, placement.xy
    unode, usnap = placement.node, placement.snap_m
    pnames = list(placement.profiles)
    n = len(ids)
    wanted = sorted(set(utype.tolist())) if types is None else list(dict.fromkeys(str(t) for t in types))

    ix, iy = transformer(src=WGS84, dst=UTM50S).transform(float(incident_lon), float(incident_lat))
    inc_xy = np.array([ix, iy])
    straight = np.hypot(uxy[:, 0] - ix, uxy[:, 1] - iy)

    cand = np.isin(utype, wanted)
    reason = np.full(n, "", dtype=object)
    reason[cand & ~np.isfinite(straight)] = "no_position"
    npf = len(pnames)
    inc_node = np.full(npf, -1, dtype=np.int64)
    inc_d = np.full(npf, np.inf)
    off_ms = np.array([(offnetwork_kmh or PROFILES[p].offnetwork_kmh) / 3.6 for p in pnames])
    graphs = [net.profiles[p] for p in pnames]
    inc_point = shapely.points(ix, iy)
    for c in range(npf):
        members = np.flatnonzero(cand & (ucode == c) & (reason == ""))
        if len(members) == 0:
            continue
        inc_node[c], inc_d[c] = _snap_point(graphs[c], inc_point)
        if not inc_d[c] <= max_snap_m:
            reason[members] = "incident_off_network"
            continue
        near = usnap[members] <= max_snap_m
        reason[members[~near]] = "unit_off_network"
        ok = members[near]
        reason[ok[graphs[c].component[unode[ok]] != graphs[c].component[inc_node[c]]]] = "disconnected"

    active = cand & (reason == "")
    net_s = np.full(n, np.inf)
    inc_off_s = inc_d / off_ms
    base_s = np.where(active, usnap / off_ms[ucode] + inc_off_s[ucode], np.inf)
    preds: dict[int, np.ndarray] = {}
    dists: dict[int, np.ndarray] = {}
    covered = np.zeros(npf, dtype=bool)
    checked = np.zeros(npf, dtype=bool)  # whether covered[c] reflects the latest search of profile c
    type_idx = [np.flatnonzero(active & (utype == t)) for t in wanted]

    # Initial budget: the k-th nearest unit of each type by straight line at the profile's typical speed.
    typical = np.array([g.typical_speed_ms for g in graphs])
    budget = MIN_BUDGET_S
    for idx in type_idx:
        if len(idx):
            est = np.sort(straight[idx] * 1.5 / typical[ucode[idx]])
            budget = max(budget, float(est[min(k, len(est)) - 1]))
    searches = 0
    need = np.zeros(npf, dtype=bool)
    for idx in type_idx:
        need[np.unique(ucode[idx])] = True
    members_of = [np.flatnonzero(active & (ucode == c)) for c in range(npf)]
    while need.any():
        for c in np.flatnonzero(need).tolist():
            dist, pred = _search(graphs[c], int(inc_node[c]), budget)
            searches += 1
            preds[c] = pred
            dists[c] = dist
            checked[c] = False
            members = members_of[c]
            net_s[members] = dist[unode[members]]
        eta = base_s + net_s
        need[:] = False
        for idx in type_idx:
            open_ = idx[~np.isfinite(net_s[idx]) & ~covered[ucode[idx]]]
            if len(open_) == 0:
                continue
            settled = np.sort(eta[idx])  # unsettled are inf and sort last
            # An unsettled unit needs more than the budget on the network, plus its own snap stretches.
            if len(idx) >= k and settled[k - 1] <= budget + base_s[open_].min():
                continue
            # Not settled yet: expanding only helps if the search has not already exhausted the component.
            for c in np.unique(ucode[open_]).tolist():
                if not checked[c]:
                    covered[c] = _covered(graphs[c], dists[c], int(inc_node[c]))
                    checked[c] = True
            open_ = open_[~covered[ucode[open_]]]
            need[np.unique(ucode[open_])] = True
        if need.any():
            budget *= 2.0
    eta = base_s + net_s

    # Units of a fully searched component that were never reached cannot get there (one-way streets).
    reason[active & ~np.isfinite(net_s) & covered[ucode]] = "disconnected"

    by_type: dict[str, list[RankedUnit]] = {}
    best_of: list[np.ndarray] = []
    for idx in type_idx:
        idx = idx[np.isfinite(eta[idx])]
        best_of.append(idx[np.lexsort((straight[idx], eta[idx]))][:k])
    chosen = np.unique(np.concatenate(best_of)) if best_of else np.zeros(0, dtype=np.int64)
    paths: dict[int, _Path] = {}
    for c in np.unique(ucode[chosen]).tolist():
        group = chosen[ucode[chosen] == c]
        found = _paths(
            net,
            graphs[c],
            preds[c],
            starts=unode[group],
            target=int(inc_node[c]),
            unit_xy=uxy[group],
            incident_xy=inc_xy,
            offnetwork_ms=float(off_ms[c]),
        )
        paths.update(zip(group.tolist(), found, strict=True))
    id_list = ids.tolist()
    for t, best in zip(wanted, best_of, strict=True):
        by_type[t] = [
            RankedUnit(
                unit_id=id_list[i],
                unit_type=t,
                travel_mode=pnames[ucode[i]],
                rank=rank,
                eta_s=float(eta[i]),
                distance_m=paths[i].distance_m,
                straight_line_m=float(straight[i]),
                unit_snap_m=float(usnap[i]),
                incident_snap_m=float(inc_d[ucode[i]]),
                legs=paths[i].legs,
                route=paths[i].route,
                sources=paths[i].sources,
            )
            for rank, i in enumerate(best.tolist(), start=1)
        ]

    lost_idx = np.flatnonzero(cand & (reason != ""))
    # Plain Python values first: indexing numpy scalars one by one costs more than the objects themselves.
    lost_reason = reason[lost_idx].tolist()
    lost_snap = np.where(reason[lost_idx] == "incident_off_network", inc_d[ucode[lost_idx]], usnap[lost_idx])
    unreachable = [
        UnreachableUnit(
            unit_id=id_list[i],
            unit_type=t,
            travel_mode=pnames[c],
            reason=r,
            message=UNREACHABLE_MESSAGES[r],
            snap_m=d if math.isfinite(d) else None,
        )
        for i, t, c, r, d in zip(
            lost_idx.tolist(),
            utype[lost_idx].tolist(),
            ucode[lost_idx].tolist(),
            lost_reason,
            lost_snap.tolist(),
            strict=True,
        )
    ]
    used = np.unique(ucode[cand & (reason != "no_position")]).tolist()
    return Ranking(
        by_type=by_type,
        unreachable=unreachable,
        incident_snap_m={pnames[c]: _finite(inc_d[c]) for c in used},
        searches=searches,
        budget_s=budget,
    )


def leg_lines(*, coordinates: list[list[float]], legs: list[Leg]) -> list[dict[str, Any]]:
    """Each leg of a route as its own GeoJSON LineString (WGS84), cut from the route's line by the legs' lengths.

    The route's line runs unit -> network -> incident and the legs add up to its length (measured in UTM 50S
    here as they are in the network), so the k-th cut falls where the first k legs end. A route shorter than
    its legs (round-off) ends the last leg at the incident.
    """
    x, y = to_utm(np.asarray([c[0] for c in coordinates], dtype=float), np.asarray([c[1] for c in coordinates],
                                                                                   dtype=float))
    line = shapely.LineString(np.column_stack([x, y]))
    ends = np.cumsum([leg.distance_m for leg in legs]) if legs else np.zeros(0)
    scale = line.length / ends[-1] if len(ends) and ends[-1] > 0 else 1.0
    starts = np.concatenate([[0.0], ends[:-1]]) * scale
    out: list[dict[str, Any]] = []
    for a, b in zip(starts.tolist(), (ends * scale).tolist(), strict=True):
        piece = shapely.ops.substring(line, a, b)
        xy = np.asarray(piece.coords) if not piece.is_empty else np.zeros((0, 2))
        if len(xy) < 2:
            xy = np.vstack([xy, xy]) if len(xy) else np.zeros((0, 2))
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1])
        out.append({"type": "LineString", "coordinates": np.round(np.column_stack([lon, lat]), 7).tolist()})
    return out

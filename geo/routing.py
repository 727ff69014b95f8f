"""Nearest units by travel time: one bounded reverse search per travel profile serves every unit.

For each travel profile used by the candidate units, Dijkstra runs once from the incident's snapped node
over the *reversed* graph (so distances are unit -> incident), with a time ``limit`` that starts from a
straight-line estimate and doubles until, for every requested type, the k best units are settled (or the
incident's whole component has been searched). A unit's ETA is

    off-network time (unit -> its node) + network time + off-network time (incident's node -> incident)

with off-network stretches at the profile's slow ``offnetwork_kmh``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.crs import UTM50S, WGS84, transformer
from geo.network import PROFILES, ProfileGraph, TravelNetwork, resolve_profile, snap_xy

DEFAULT_MAX_SNAP_M = 10_000.0
MIN_BUDGET_S = 120.0

UNREACHABLE_MESSAGES: dict[str, str] = {
    "unit_off_network": "Unit terlalu jauh dari jaringan / unit is too far from the network",
    "incident_off_network": "Lokasi kejadian terlalu jauh dari jaringan untuk moda ini / "
    "incident is too far from the network for this travel mode",
    "disconnected": "Tidak ada rute ke lokasi kejadian / no route to the incident (disconnected network)",
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
    distance_m: float  # on the network, snap stretches excluded
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
    reason: str  # 'unit_off_network' | 'incident_off_network' | 'disconnected'
    message: str
    snap_m: float


@dataclass(frozen=True)
class Ranking:
    """Per requested type the k best units by ETA, plus the units that cannot reach the incident."""

    by_type: dict[str, list[RankedUnit]]
    unreachable: list[UnreachableUnit]
    incident_snap_m: dict[str, float] = field(default_factory=dict)
    searches: int = 0
    budget_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


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


def _route(
    net: TravelNetwork,
    prof: ProfileGraph,
    pred: np.ndarray,
    *,
    start: int,
    target: int,
    unit_xy: np.ndarray,
    incident_xy: np.ndarray,
    offnetwork_ms: float,
) -> tuple[list[Leg], dict[str, Any], float, list[str]]:
    """Legs, GeoJSON route, network distance and sources from a unit's node to the incident's node."""
    path = [start]
    cur = start
    while cur != target:  # k short walks over the predecessor array; the search itself is compiled
        cur = int(pred[cur])
        path.append(cur)
    nodes = np.asarray(path, dtype=np.int64)
    pos = np.searchsorted(prof.keys, nodes[:-1] * net.n_nodes + nodes[1:])
    edges = prof.edge_ids[pos]
    times = prof.forward.data[pos]
    pieces = net.edge_piece[edges]
    lengths = net.piece_length_m[pieces]
    modes = net.piece_mode[pieces]

    legs: list[Leg] = []
    unit_snap = float(np.hypot(*(unit_xy - net.node_xy[start])))
    inc_snap = float(np.hypot(*(incident_xy - net.node_xy[target])))
    if unit_snap > 0:
        legs.append(Leg("offnetwork", unit_snap, unit_snap / offnetwork_ms))
    if len(edges):
        brk = np.flatnonzero(modes[1:] != modes[:-1]) + 1
        starts = np.r_[0, brk]
        dsum = np.add.reduceat(lengths, starts)
        tsum = np.add.reduceat(times, starts)
        legs.extend(
            Leg(str(m), float(d), float(t)) for m, d, t in zip(modes[starts], dsum, tsum, strict=True)
        )
    if inc_snap > 0:
        legs.append(Leg("offnetwork", inc_snap, inc_snap / offnetwork_ms))

    if len(edges):
        geoms = net.edge_geometry(edges)
        xy, gi = shapely.get_coordinates(geoms, return_index=True)
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = gi[1:] == gi[:-1]  # drop the repeated joint where one edge starts at the previous end
        keep[0] = True
        xy = xy[keep]
    else:
        xy = net.node_xy[[start]]
    xy = np.vstack([unit_xy[None, :], xy, incident_xy[None, :]])
    lon, lat = transformer(src=UTM50S, dst=WGS84).transform(xy[:, 0], xy[:, 1])
    ll = np.round(np.column_stack([lon, lat]), 7)
    same = np.zeros(len(ll), dtype=bool)
    same[1:] = (ll[1:] == ll[:-1]).all(axis=1)
    route = {"type": "LineString", "coordinates": ll[~same].tolist()}
    if len(route["coordinates"]) < 2:
        route["coordinates"] = [ll[0].tolist(), ll[0].tolist()]
    sources = sorted(set(net.piece_source[pieces].tolist())) if len(edges) else []
    return legs, route, float(lengths.sum()), sources


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
    than ``max_snap_m`` from the network, or with no path, are listed in ``unreachable``.
    """
    if k < 1:
        raise ValueError("k harus >= 1 / k must be >= 1")
    net = network if closed_edges is None else network.with_closed_edges(closed_edges)
    ids = np.asarray(unit_ids, dtype=object).reshape(-1)
    n = len(ids)
    utype = np.asarray(unit_types, dtype=object).reshape(-1).astype(str)
    umode_raw = np.asarray(unit_modes, dtype=object).reshape(-1).astype(str)
    ulon = np.asarray(unit_lon, dtype=float).reshape(-1)
    ulat = np.asarray(unit_lat, dtype=float).reshape(-1)
    if not (len(utype) == len(umode_raw) == len(ulon) == len(ulat) == n):
        raise ValueError("Panjang array unit tidak sama / unit arrays must have the same length")
    if not (np.isfinite(incident_lon) and np.isfinite(incident_lat)):
        raise ValueError("Lokasi kejadian tidak valid / incident location is not a finite lon/lat")
    uniq_modes, mode_inv = np.unique(umode_raw, return_inverse=True)
    umode = np.array([resolve_profile(m) for m in uniq_modes.tolist()], dtype=object)[mode_inv].astype(str)
    wanted = sorted(set(utype.tolist())) if types is None else list(dict.fromkeys(str(t) for t in types))

    tr = transformer(src=WGS84, dst=UTM50S)
    ix, iy = tr.transform(float(incident_lon), float(incident_lat))
    inc_xy = np.array([ix, iy])
    ux, uy = tr.transform(ulon, ulat)
    uxy = np.column_stack([np.asarray(ux, dtype=float), np.asarray(uy, dtype=float)]).reshape(-1, 2)
    straight = np.hypot(uxy[:, 0] - ix, uxy[:, 1] - iy)

    cand = np.isin(utype, wanted) & np.isfinite(straight)
    unode = np.full(n, -1, dtype=np.int64)
    usnap = np.full(n, np.inf)
    reason = np.full(n, "", dtype=object)
    inc_node: dict[str, int] = {}
    inc_snap: dict[str, float] = {}
    off_ms: dict[str, float] = {}
    for pname in sorted(set(umode[cand].tolist())):  # at most three profiles
        prof = net.profiles[pname]
        off_ms[pname] = (offnetwork_kmh or PROFILES[pname].offnetwork_kmh) / 3.6
        members = np.flatnonzero(cand & (umode == pname))
        node, d = snap_xy(net, x=np.array([ix]), y=np.array([iy]), mode=pname)
        inc_node[pname], inc_snap[pname] = int(node[0]), float(d[0])
        if not d[0] <= max_snap_m:
            reason[members] = "incident_off_network"
            continue
        unode[members], usnap[members] = snap_xy(net, x=uxy[members, 0], y=uxy[members, 1], mode=pname)
        far = members[~(usnap[members] <= max_snap_m)]
        reason[far] = "unit_off_network"
        ok = members[usnap[members] <= max_snap_m]
        other = prof.component[unode[ok]] != prof.component[inc_node[pname]]
        reason[ok[other]] = "disconnected"

    active = cand & (reason == "")
    eta = np.full(n, np.inf)
    net_s = np.full(n, np.inf)
    preds: dict[str, np.ndarray] = {}
    covered: dict[str, bool] = {}
    type_idx = {t: np.flatnonzero(active & (utype == t)) for t in wanted}

    # Initial budget: the k-th nearest unit of each type by straight line at the profile's typical speed.
    budget = MIN_BUDGET_S
    for idx in type_idx.values():
        if len(idx):
            speeds = np.array([net.profiles[p].typical_speed_ms for p in umode[idx].tolist()])
            est = np.sort(straight[idx] * 1.5 / speeds)
            budget = max(budget, float(est[min(k, len(est)) - 1]))
    searches = 0
    while True:
        pending_profiles = {
            p
            for t, idx in type_idx.items()
            for p in set(umode[idx[~np.isfinite(net_s[idx])]].tolist())
            if not covered.get(p, False)
        }
        for pname in sorted(pending_profiles):
            prof = net.profiles[pname]
            dist, pred = _search(prof, inc_node[pname], budget)
            searches += 1
            preds[pname] = pred
            members = np.flatnonzero(active & (umode == pname))
            net_s[members] = dist[unode[members]]
            eta[members] = usnap[members] / off_ms[pname] + net_s[members] + inc_snap[pname] / off_ms[pname]
            if not np.isfinite(net_s[members]).all():
                covered[pname] = _covered(prof, dist, inc_node[pname])
            else:
                covered[pname] = False
        done = True
        for idx in type_idx.values():
            open_ = idx[~np.isfinite(net_s[idx])]
            open_ = open_[[not covered.get(p, False) for p in umode[open_].tolist()]]
            if len(open_) == 0:
                continue
            settled = np.sort(eta[idx][np.isfinite(eta[idx])])
            floor = min(budget + inc_snap[p] / off_ms[p] for p in set(umode[open_].tolist()))
            if len(settled) >= k and settled[k - 1] <= floor:
                continue
            done = False
        if done:
            break
        budget *= 2.0

    # Units of a fully searched component that were never reached cannot get there (one-way streets).
    for pname, full in covered.items():
        if full:
            lost = active & (umode == pname) & ~np.isfinite(net_s)
            reason[lost] = "disconnected"

    by_type: dict[str, list[RankedUnit]] = {}
    id_list = ids.tolist()
    for t, idx in type_idx.items():
        idx = idx[np.isfinite(eta[idx])]
        best = idx[np.lexsort((straight[idx], eta[idx]))][:k]
        ranked: list[RankedUnit] = []
        for rank, i in enumerate(best.tolist(), start=1):
            pname = str(umode[i])
            legs, route, dist_m, sources = _route(
                net,
                net.profiles[pname],
                preds[pname],
                start=int(unode[i]),
                target=inc_node[pname],
                unit_xy=uxy[i],
                incident_xy=inc_xy,
                offnetwork_ms=off_ms[pname],
            )
            ranked.append(
                RankedUnit(
                    unit_id=id_list[i],
                    unit_type=t,
                    travel_mode=pname,
                    rank=rank,
                    eta_s=float(eta[i]),
                    distance_m=dist_m,
                    straight_line_m=float(straight[i]),
                    unit_snap_m=float(usnap[i]),
                    incident_snap_m=inc_snap[pname],
                    legs=legs,
                    route=route,
                    sources=sources,
                )
            )
        by_type[t] = ranked

    lost_idx = np.flatnonzero(cand & (reason != ""))
    unreachable = [
        UnreachableUnit(
            unit_id=id_list[i],
            unit_type=str(utype[i]),
            travel_mode=str(umode[i]),
            reason=str(reason[i]),
            message=UNREACHABLE_MESSAGES[str(reason[i])],
            snap_m=float(inc_snap[str(umode[i])] if reason[i] == "incident_off_network" else usnap[i]),
        )
        for i in lost_idx.tolist()
    ]
    return Ranking(
        by_type=by_type, unreachable=unreachable, incident_snap_m=inc_snap, searches=searches, budget_s=budget
    )

"""The travel network of a running process: built once, rebuilt when the stored network or floods change.

Every process keeps one ``TravelNetwork`` built from the stored lines (the context's ``travel``) and, per set of
active flood zones, a copy with the flooded road edges closed. Staleness is checked on every use against two
cheap reads (the ``network_state`` row and the ids/versions of active flood zones), so a change made by another
worker or by the CLI is picked up even when its event never reaches this process; the ``network.updated`` and
``flood.updated`` events only make the rebuild happen before the next request needs it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from geo.layers import Layers
from geo.network import TravelNetwork, edges_crossing
from geo.routing import UnitPlacement, place_units
from store.db import session_scope
from store.events import EventHub
from store.floods import active_flood_geometries
from store.network import LineSet, StoredState, ensure_default_network, read_lines, read_state
from store.units import UnitRows, read_units, unit_fields

log = logging.getLogger("sigap.travel")

@dataclass(frozen=True)
class NetworkView:
    """The network a query runs on: base graph, the flood-closed graph and what they are."""

    base: TravelNetwork
    network: TravelNetwork
    version: int
    token: str
    source: str
    flood_zones: int
    closed_road_edges: int
    flood_version: int
    # Change token of the unit table read in the same round trip; None when units must be read fresh
    # (no unit_state row, or this transaction has written and may see its own uncommitted units).
    units_token: tuple | None = None

    def describe(self) -> dict[str, Any]:
        """What the UI shows beside a recommendation."""
        return {
            "source": self.source,
            "approximate": self.source == "derived",
            "version": self.version,
            "flood_version": self.flood_version,
            "nodes": self.base.n_nodes,
            "edges": self.base.n_edges,
            "flood_zones": self.flood_zones,
            "closed_road_edges": self.closed_road_edges,
        }


@dataclass(eq=False)
class _UnitCache:
    """Every stored unit as arrays, the fixed part of each unit's answer, and placements per network."""

    token: tuple | None
    rows: UnitRows  # ordered by id
    briefs: list[dict[str, Any]]  # the fields of each row (store.units.unit_fields), not time-dependent
    _placements: dict[int, tuple[TravelNetwork, UnitPlacement]] = field(default_factory=dict)

    @classmethod
    def read(cls, session: Session, *, token: tuple | None, previous: _UnitCache | None = None) -> _UnitCache:
        """Read every unit in ``session``; rows unchanged since ``previous`` keep their brief and placements
        (an AVL update moves one unit: only that one is formatted and snapped again)."""
        rows = read_units(session)
        same = _unchanged_rows(previous.rows, rows) if previous is not None else None
        if same is None or previous is None:
            return cls(token=token, rows=rows, briefs=unit_fields(rows))
        changed = np.flatnonzero(~same)
        briefs = list(previous.briefs)
        for i, brief in zip(changed.tolist(), unit_fields(rows.take(changed)), strict=True):
            briefs[i] = brief
        cache = cls(token=token, rows=rows, briefs=briefs)
        for network, placed in list(previous._placements.values()):
            cache._placements[id(network)] = (network, _replace_rows(placed, network, rows, changed))
        return cache

    def placement(self, network: TravelNetwork) -> UnitPlacement:
        """Every unit projected and snapped on ``network`` (computed once per network object)."""
        hit = self._placements.get(id(network))
        if hit is not None and hit[0] is network:
            return hit[1]
        rows = self.rows
        # Row numbers as ids: the ranking then points straight back at rows and briefs.
        placed = place_units(
            network,
            unit_ids=np.arange(len(rows)),
            unit_types=rows.type,
            unit_modes=rows.travel_mode,
            unit_lon=rows.lon,
            unit_lat=rows.lat,
        )
        if len(self._placements) >= 4:  # base + flood-closed variants: drop old networks, never grow
            self._placements.clear()
        self._placements[id(network)] = (network, placed)
        return placed


_COMPARED_OBJECT_FIELDS = ("callsign", "name", "type", "agency", "station_id", "status", "travel_mode", "incident_id",
                           "incident_number")


def _unchanged_rows(old: UnitRows, new: UnitRows) -> np.ndarray | None:
    """Per row of ``new``, whether it equals the same row of ``old``; None when the set of units differs."""
    if len(old) != len(new) or not np.array_equal(old.id, new.id):
        return None
    same = np.ones(len(new), dtype=bool)
    for name in _COMPARED_OBJECT_FIELDS:
        same &= np.asarray(getattr(old, name) == getattr(new, name), dtype=bool)
    for name in ("lon", "lat", "position_ts", "status_ts"):
        a, b = getattr(old, name), getattr(new, name)
        same &= (a == b) | (np.isnan(a) & np.isnan(b))
    return same


def _replace_rows(placed: UnitPlacement, network: TravelNetwork, rows: UnitRows, changed: np.ndarray) -> UnitPlacement:
    """``placed`` with the ``changed`` rows placed again from ``rows`` (same answer as placing every row)."""
    if len(changed) == 0:
        return placed
    fresh = place_units(
        network,
        unit_ids=changed,
        unit_types=rows.type[changed],
        unit_modes=rows.travel_mode[changed],
        unit_lon=rows.lon[changed],
        unit_lat=rows.lat[changed],
    )
    if not set(fresh.profiles) <= set(placed.profiles):  # a new travel mode: profile codes change, start over
        return place_units(
            network,
            unit_ids=np.arange(len(rows)),
            unit_types=rows.type,
            unit_modes=rows.travel_mode,
            unit_lon=rows.lon,
            unit_lat=rows.lat,
        )
    recode = np.array([placed.profiles.index(p) for p in fresh.profiles], dtype=np.int64)
    utype = placed.utype.astype(object)  # a fixed-width str array would truncate a longer new type
    code, xy, node, snap_m = placed.code.copy(), placed.xy.copy(), placed.node.copy(), placed.snap_m.copy()
    utype[changed], code[changed], xy[changed] = fresh.utype, recode[fresh.code], fresh.xy
    node[changed], snap_m[changed] = fresh.node, fresh.snap_m
    return replace(placed, utype=utype.astype(str), code=code, xy=xy, node=node, snap_m=snap_m)


@dataclass
class TravelService:
    """Per-process cache of the built network and its flood-closed variant."""

    sessions: sessionmaker[Session]
    layers: Layers
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _state: StoredState | None = None
    _base: TravelNetwork | None = None
    _flood_key: tuple | None = None
    _flood_version: int = 0
    _closed: tuple[TravelNetwork, int, int] | None = None  # network, zones, closed edges
    _units: _UnitCache | None = None
    rebuilds: int = 0
    unit_reads: int = 0
    # Called with the stored lines whenever the network changes after the first build.
    on_rebuild: Callable[[LineSet], None] | None = None

    # -- network -------------------------------------------------------------------------------------
    def load(self) -> TravelNetwork:
        """Make sure a network is stored (derive the default on an empty table) and build it."""
        with session_scope(self.sessions) as session:
            state = ensure_default_network(session, self.layers)
        with self.sessions() as session:
            return self._build(session, state)

    def _build(self, session: Session, state: StoredState) -> TravelNetwork:
        with self._lock:
            if self._state is not None and self._state.token == state.token and self._base is not None:
                return self._base
            t0 = time.perf_counter()
            lines = read_lines(session)
            base = lines.build()
            changed = self._base is not None
            self._state, self._base = state, base
            self._closed, self._flood_key = None, None
            self.rebuilds += 1
            log.info(
                "travel network v%s (%s): %d nodes, %d edges built in %.0f ms",
                state.version,
                state.source,
                base.n_nodes,
                base.n_edges,
                (time.perf_counter() - t0) * 1e3,
            )
            if changed and self.on_rebuild is not None:
                self.on_rebuild(lines)
            return base

    def base(self, session: Session) -> tuple[TravelNetwork, StoredState]:
        """The current base network (rebuilt when the stored token differs from the cached one)."""
        state = read_state(session)
        if state is None:
            # Nothing stored (first use, or the table was emptied): derive the default in this session,
            # because a second connection would wait on SQLite's write lock that this one may hold.
            state = ensure_default_network(session, self.layers)
            session.commit()
        if self._state is not None and state.token == self._state.token and self._base is not None:
            return self._base, self._state
        return self._build(session, state), state

    def invalidate(self) -> None:
        """Forget the flood-closed variant (the next use recomputes it)."""
        with self._lock:
            self._flood_key, self._closed = None, None

    # -- floods --------------------------------------------------------------------------------------
    def view(self, session: Session) -> NetworkView:
        """The base network and the one with road edges in active flood zones closed."""
        token, key, units_token = _probe(session)
        with self._lock:
            cached = self._base, self._state
        if token is None or cached[1] is None or cached[0] is None or token != cached[1].token:
            base, state = self.base(session)
        else:
            base, state = cast(tuple[TravelNetwork, StoredState], cached)
        with self._lock:
            if key != self._flood_key or self._closed is None or self._base is not base:
                polys = active_flood_geometries(session) if key else []
                if polys:
                    mask = edges_crossing(base, polygons=np.array(polys, dtype=object))
                    closed = base.with_closed_edges(mask)
                    self._closed = (closed, len(polys), int(mask.sum()))
                else:
                    self._closed = (base, 0, 0)
                if key != self._flood_key:
                    self._flood_version += 1
                self._flood_key = key
            net, zones, n_closed = self._closed
            return NetworkView(
                base=base,
                network=net,
                version=state.version,
                token=state.token,
                source=state.source,
                flood_zones=zones,
                closed_road_edges=n_closed,
                flood_version=self._flood_version,
                units_token=units_token,
            )

    # -- units ---------------------------------------------------------------------------------------
    def units(self, session: Session, view: NetworkView) -> tuple[_UnitCache, UnitPlacement]:
        """Every unit (ordered by id) and its placement on ``view.network``, from memory while the stored
        units are unchanged (``view.units_token``), else read in ``session`` and cached again."""
        with self._lock:
            cache = self._units
        if cache is None or view.units_token is None or cache.token != view.units_token:
            cache = _UnitCache.read(session, token=view.units_token, previous=cache)
            self.unit_reads += 1
            if view.units_token is not None:
                with self._lock:
                    self._units = cache
        return cache, cache.placement(view.network)

    def unit_rows(self, session: Session) -> tuple[UnitRows, list[dict[str, Any]]]:
        """Every unit (ordered by id) and its fields (UnitFields), from memory while the stored units are
        unchanged: one probe of the unit change counter, no network needed (the unit status board)."""
        row = session.execute(_unit_probe_statement(session.get_bind().dialect.name)).first()
        # No counter row (an emptied table): read fresh, cache nothing.
        token = None if row is None or row[0] is None or row[2] else (int(row[0]), str(row[1]))
        with self._lock:
            cache = self._units
        if cache is None or token is None or cache.token != token:
            cache = _UnitCache.read(session, token=token, previous=cache)
            self.unit_reads += 1
            if token is not None:
                with self._lock:
                    self._units = cache
        return cache.rows, cache.briefs


_PROBES: dict[str, Any] = {}


def _probe_statement(dialect: str) -> Any:
    """The probe as one prebuilt text statement per backend (built once: no per-request SQL construction)."""
    if dialect not in _PROBES:
        parts = [
            "(SELECT token FROM network_state WHERE id = 1)",
            "(SELECT count(*) FROM flood_zone WHERE status = 'active')",
            "(SELECT coalesce(sum(CAST(id AS BIGINT) * 1000003 + version), 0) FROM flood_zone WHERE status = 'active')",
            "(SELECT version FROM unit_state WHERE id = 1)",
            "(SELECT changed_at FROM unit_state WHERE id = 1)",
        ]
        # PostgreSQL bumps unit_state at commit: a transaction that has written may see its own uncommitted
        # units under the old token, so it must not use or fill the cache.
        parts.append("txid_current_if_assigned() IS NOT NULL" if dialect == "postgresql" else "0")
        _PROBES[dialect] = text("SELECT " + ", ".join(parts))
    return _PROBES[dialect]


def _unit_probe_statement(dialect: str) -> Any:
    """The unit change counter alone (and, on PostgreSQL, whether this transaction has written)."""
    key = "units:" + dialect
    if key not in _PROBES:
        wrote = "txid_current_if_assigned() IS NOT NULL" if dialect == "postgresql" else "0"
        _PROBES[key] = text(f"SELECT version, changed_at, {wrote} FROM unit_state WHERE id = 1")
    return _PROBES[key]


def _probe(session: Session) -> tuple[str | None, tuple, tuple | None]:
    """In one round trip: the stored network's token, a fingerprint of the active flood zones (count and a
    sum over id and version) that changes whenever a zone is added, edited (its version bumps) or ended, and
    the unit table's change token (None when the units must be read fresh)."""
    tok, n, sm, uver, uat, wrote = session.execute(_probe_statement(session.get_bind().dialect.name)).one()
    units_token = None if uver is None or wrote else (int(uver), str(uat))
    return tok, (() if not n else (int(n), int(sm))), units_token


# -- following changes ---------------------------------------------------------------------------------


async def follow_network_changes(service: TravelService, hub: EventHub) -> None:
    """Background job: rebuild the network as soon as another process announces a new one; forget the
    flood-closed variant when flood zones change (every request would notice either on its own, later)."""
    sub = hub.subscribe()
    try:
        while True:
            ev = await sub.queue.get()
            kind = ev.get("kind")
            if kind == "network.updated":
                try:
                    await asyncio.to_thread(_rebuild_now, service)
                except Exception:  # a failed eager rebuild is retried lazily by the next request
                    log.exception("network rebuild after event failed")
            elif kind == "flood.updated":
                service.invalidate()
    finally:
        hub.unsubscribe(sub)


def _rebuild_now(service: TravelService) -> None:
    with service.sessions() as session:
        service.base(session)

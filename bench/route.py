"""Benchmark: nearest units by travel time (geo.routing.rank_units) against pgRouting.

Run: ``python bench/route.py``. Three parts in one run, figures printed, nothing asserted:

1. the derived default Barito Selatan network, 200 units of mixed types (road and boats), p50/p95 of
   ``rank_units`` (k=3, every type) over 200 random incidents inside the regency;
2. a synthetic road grid with more than 1,000,000 directed edges and 500 units: p50/p95 and memory;
3. the same grid in PostgreSQL/pgRouting: ``pgr_dijkstraCost`` from the incident to the 500 unit nodes over
   the reversed graph, on a handful of incidents, with the per-query ratio against ``rank_units`` and a check
   that both give the same network times.

The pgRouting database comes from ``SIGAP_BENCH_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/sigap_bench``) and is created, with the extension, when missing.
"""

from __future__ import annotations

import gc
import io
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.crs import UTM50S, to_wgs84
from geo.network import TravelNetwork, build_network, derive_network
from geo.routing import place_units, rank_placed, rank_units

DATA = Path(__file__).resolve().parents[1] / "data"
PG_URL = os.environ.get("SIGAP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/sigap_bench")
TYPES = np.array(["damkar", "ambulans", "bpbd", "polisi", "perahu"])
SEED = 20240917
PG_QUERY = "select end_vid, agg_cost from pgr_dijkstraCost(%s, %s::bigint, %s::bigint[], directed => true)"


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _nbytes(net: TravelNetwork) -> int:
    """Bytes held by the network's arrays and CSR matrices (shapely trees not counted)."""
    total = sum(v.nbytes for v in vars(net).values() if isinstance(v, np.ndarray))
    for g in net.profiles.values():
        for m in (g.forward, g.reverse):
            total += m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
        total += g.edge_ids.nbytes + g.keys.nbytes + g.nodes.nbytes + g.component.nbytes
    return total


def _time_queries(
    net: TravelNetwork, units: dict[str, np.ndarray], inc_lon: np.ndarray, inc_lat: np.ndarray, **kw: Any
) -> np.ndarray:
    """Wall time in ms of rank_units for each incident."""
    out = np.empty(len(inc_lon))
    for i, (lon, lat) in enumerate(zip(inc_lon.tolist(), inc_lat.tolist(), strict=True)):
        t0 = time.perf_counter()
        rank_units(net, incident_lon=lon, incident_lat=lat, **units, **kw)
        out[i] = (time.perf_counter() - t0) * 1e3
    return out


def _row(label: str, ms: np.ndarray, target: str) -> str:
    p50, p95 = np.percentile(ms, [50, 95])
    spread = f"p50={p50:8.2f} ms  p95={p95:8.2f} ms  max={ms.max():8.2f} ms"
    return f"  {label:<44} n={len(ms):>4}  {spread}  {target}"


def _random_points_in(polys: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n uniform random points (UTM) inside the union of polygons."""
    area = shapely.union_all(polys)
    shapely.prepare(area)
    x0, y0, x1, y1 = area.bounds
    out = np.zeros((0, 2))
    while len(out) < n:
        xy = np.column_stack([rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)])
        out = np.vstack([out, xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]])
    return out[:n]


def bench_barsel(rng: np.random.Generator) -> tuple[Units, np.ndarray, np.ndarray]:
    """Part 1: the derived default network of Barito Selatan."""
    import pyogrio

    desa = pyogrio.read_dataframe(DATA / "boundaries" / "barsel_desa.geojson")
    river = pyogrio.read_dataframe(DATA / "hydro" / "barito_river_ne10m.geojson")
    t0 = time.perf_counter()
    lines = derive_network(
        desa=desa.geometry.values, desa_codes=desa["kode"].to_numpy(), river_lines=river.geometry.values
    )
    net = build_network(**lines)
    build_ms = (time.perf_counter() - t0) * 1e3
    print(
        f"(1) derived Barito Selatan network: {net.n_nodes} nodes, {net.n_edges} directed edges, "
        f"built in {build_ms:.0f} ms"
    )

    from geo.crs import project_geometries

    desa_utm = project_geometries(desa.geometry.values, dst=UTM50S)
    n = 200
    utype = rng.choice(TYPES, n, p=[0.25, 0.25, 0.2, 0.2, 0.1])
    xy = _random_points_in(desa_utm, n, rng)
    # Boats wait on the river inside the regency.
    regency = shapely.union_all(desa_utm)
    river_in = shapely.intersection(shapely.union_all(project_geometries(river.geometry.values)), regency)
    boats = np.flatnonzero(utype == "perahu")
    along = rng.uniform(0, river_in.length, len(boats))
    xy[boats] = shapely.get_coordinates(shapely.line_interpolate_point(river_in, along))
    umode = np.where(utype == "perahu", np.where(rng.random(n) < 0.5, "river", "river:klotok"), "road")
    lon, lat = to_wgs84(xy[:, 0], xy[:, 1])
    units = {
        "unit_ids": np.arange(n),
        "unit_types": utype,
        "unit_modes": umode,
        "unit_lon": lon,
        "unit_lat": lat,
    }
    inc = _random_points_in(desa_utm, 200, rng)
    ilon, ilat = to_wgs84(inc[:, 0], inc[:, 1])
    _time_queries(net, units, ilon[:10], ilat[:10])  # warm caches (pyproj, imports)
    ms = _time_queries(net, units, ilon, ilat)
    print(_row("rank_units, 200 units, 5 types, k=3", ms, "(target p95 < 10 ms)"))
    # What the API does between unit changes: project and snap the units once, then rank per incident.
    placed = place_units(net, **units)
    out = np.empty(len(ilon))
    for i, (lon, lat) in enumerate(zip(ilon.tolist(), ilat.tolist(), strict=True)):
        t0 = time.perf_counter()
        rank_placed(placed, incident_lon=lon, incident_lat=lat, k=3)
        out[i] = (time.perf_counter() - t0) * 1e3
    print(_row("rank_placed (units placed once), same queries", out, ""))
    return units, ilon, ilat


def bench_service(units: Units, ilon: np.ndarray, ilat: np.ndarray, backend: str) -> None:
    """Part 1b: the same queries through the API's service layer: the default network and 200 units stored in
    the database, each query in its own session probing the network, flood and unit change tokens (the units
    themselves come from the per-process cache while unchanged), ranking, and encoding the JSON answer the way
    the endpoint does (``store.recommend.recommend`` + ``api.responses.FastJSON``)."""
    import tempfile

    from sqlalchemy import create_engine, insert, text

    from api.responses import FastJSON
    from geo.times import utcnow
    from store.db import make_engine, make_sessionmaker, session_scope
    from store.layers import load_bundled, read_layers
    from store.migrate import upgrade
    from store.recommend import recommend
    from store.travel import TravelService
    from store.units import Unit

    tmp = tempfile.TemporaryDirectory()
    if backend == "spatialite":
        url = f"sqlite:///{tmp.name}/bench.sqlite"
    else:
        admin = create_engine(
            PG_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + "/postgres",
            isolation_level="AUTOCOMMIT",
        )
        try:
            with admin.connect() as conn:
                conn.execute(text("drop database if exists sigap_bench_service with (force)"))
                conn.execute(text("create database sigap_bench_service"))
        except Exception as exc:  # noqa: BLE001 — the bench reports, it does not fail
            print(f"  (1b) {backend} unavailable: {exc}")
            return
        finally:
            admin.dispose()
        url = PG_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + "/sigap_bench_service"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as s:
        load_bundled(s, DATA)
        layers = read_layers(s)
        now = utcnow()
        rows = [
            {
                "callsign": f"B-{i:03d}",
                "name": f"bench {i}",
                "type": str(t),
                "agency": "bpbd",
                "status": "tersedia",
                "travel_mode": str(m),
                "demo": True,
                "version": 1,
                "position_at": now,
                "geom": f"SRID=4326;POINT({lo!r} {la!r})",
            }
            for i, (t, m, lo, la) in enumerate(
                zip(
                    units["unit_types"],
                    units["unit_modes"],
                    units["unit_lon"].tolist(),
                    units["unit_lat"].tolist(),
                    strict=True,
                )
            )
        ]
        s.execute(insert(Unit), rows)
    service = TravelService(sessions=sessions, layers=layers)
    t0 = time.perf_counter()
    service.load()
    load_ms = (time.perf_counter() - t0) * 1e3
    types = sorted(set(units["unit_types"].tolist()))

    def run(lo: np.ndarray, la: np.ndarray) -> np.ndarray:
        out = np.empty(len(lo))
        for i, (x, y) in enumerate(zip(lo.tolist(), la.tolist(), strict=True)):
            t1 = time.perf_counter()
            with sessions() as s:
                answer = recommend(s, service, lon=x, lat=y, types=types, k=3, now=utcnow(), stale_minutes=10)
            FastJSON(answer)
            out[i] = (time.perf_counter() - t1) * 1e3
        return out

    run(ilon[:10], ilat[:10])
    ms = run(ilon, ilat)
    print(
        f"  (1b) service layer on {backend}: stored derived network derived+stored+built in {load_ms:.0f} ms, "
        f"200 stored units"
    )
    print(_row(f"recommend() incl. DB probe + JSON, {backend}", ms, "(target p95 < 10 ms)"))
    # One unit moves before every query (an AVL update from another worker): rows re-read and re-snapped.
    with session_scope(sessions) as s:
        ids = [r[0] for r in s.execute(text("SELECT id FROM unit ORDER BY id")).all()]

    def moving(lo: np.ndarray, la: np.ndarray) -> np.ndarray:
        out = np.empty(len(lo))
        for i, (x, y) in enumerate(zip(lo.tolist(), la.tolist(), strict=True)):
            with session_scope(sessions) as s:
                s.execute(
                    text("UPDATE unit SET position_at = :at, version = version + 1 WHERE id = :id"),
                    {"at": utcnow(), "id": ids[i % len(ids)]},
                )
            t1 = time.perf_counter()
            with sessions() as s:
                answer = recommend(s, service, lon=x, lat=y, types=types, k=3, now=utcnow(), stale_minutes=10)
            FastJSON(answer)
            out[i] = (time.perf_counter() - t1) * 1e3
        return out

    print(_row(f"  same, a unit changed before each query, {backend}", moving(ilon, ilat), "(cache miss path)"))
    engine.dispose()
    tmp.cleanup()


def grid_network(rng: np.random.Generator, *, side: int = 520, spacing_m: float = 100.0) -> TravelNetwork:
    """A side x side road grid (two-way streets, 10% one-way rows, random classes) in UTM 50S."""
    x0, y0 = 420_000.0, 9_760_000.0
    xs = x0 + np.arange(side) * spacing_m
    ys = y0 + np.arange(side) * spacing_m
    rows = shapely.linestrings(
        np.column_stack([np.tile(xs, side), np.repeat(ys, side)]), indices=np.repeat(np.arange(side), side)
    )
    cols = shapely.linestrings(
        np.column_stack([np.repeat(xs, side), np.tile(ys, side)]), indices=np.repeat(np.arange(side), side)
    )
    lines = np.concatenate([rows, cols])
    kind = rng.choice(["primary", "secondary", "tertiary", "residential"], len(lines), p=[0.1, 0.2, 0.3, 0.4])
    oneway = np.zeros(len(lines), dtype=bool)
    oneway[:side] = rng.random(side) < 0.1
    return build_network(lines=lines, kind=kind, oneway=oneway, crs=UTM50S)


Units = dict[str, np.ndarray]


def bench_grid(rng: np.random.Generator) -> tuple[TravelNetwork, Units, np.ndarray, np.ndarray]:
    """Part 2: a synthetic grid of over a million directed edges."""
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    net = grid_network(rng)
    build_s = time.perf_counter() - t0
    gc.collect()
    print(
        f"(2) synthetic grid: {net.n_nodes} nodes, {net.n_edges} directed edges, built in {build_s:.1f} s; "
        f"network arrays {_nbytes(net) / 2**20:.0f} MiB"
    )
    x0, y0 = net.node_xy.min(axis=0)
    x1, y1 = net.node_xy.max(axis=0)
    n = 500
    ux, uy = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    lon, lat = to_wgs84(ux, uy)
    units = {
        "unit_ids": np.arange(n),
        "unit_types": rng.choice(TYPES[:4], n),
        "unit_modes": np.full(n, "road"),
        "unit_lon": lon,
        "unit_lat": lat,
    }
    ix, iy = rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200)
    ilon, ilat = to_wgs84(ix, iy)
    _time_queries(net, units, ilon[:5], ilat[:5])
    ms = _time_queries(net, units, ilon, ilat)
    print(_row("rank_units, 500 units, 4 types, k=3", ms, "(target p95 < 100 ms)"))
    tracemalloc.start()
    _time_queries(net, units, ilon[:20], ilat[:20])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  memory: peak RSS {_rss_mb():.0f} MB for the whole process (was {rss0:.0f} MB before the grid; "
        f"target < 1500 MB); per-query transient numpy peak {peak / 2**20:.1f} MiB"
    )
    return net, units, ilon, ilat


def _pg_connect_creating() -> Any:
    """Connect to the bench database, creating it and the pgRouting extension when missing."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(PG_URL)
    dbname = params.get("dbname", "sigap_bench")
    admin = make_conninfo(PG_URL, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone() is None:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
    conn = psycopg.connect(PG_URL, autocommit=True)
    conn.execute("create extension if not exists pgrouting cascade")
    return conn


def _pg_load(conn: Any, net: TravelNetwork) -> None:
    """COPY the grid's road pieces into grid_edges (cost forward, reverse_cost -1 on one-way pieces)."""
    piece_two_way = np.zeros(len(net.piece_u), dtype=bool)
    piece_two_way[net.edge_piece[~net.edge_forward]] = True
    forward = np.flatnonzero(net.edge_forward)
    cost = np.empty(len(net.piece_u))
    cost[net.edge_piece[forward]] = net.edge_time_s[forward]
    signature = f"{len(net.piece_u)}:{net.n_edges}:{cost.sum():.6f}"
    conn.execute("create table if not exists bench_meta (key text primary key, value text)")
    row = conn.execute("select value from bench_meta where key = 'grid'").fetchone()
    if row and row[0] == signature:
        print("  pgRouting: grid_edges already loaded")
        return
    t0 = time.perf_counter()
    conn.execute("drop table if exists grid_edges")
    conn.execute(
        "create unlogged table grid_edges (id bigint primary key, source bigint not null, "
        "target bigint not null, cost double precision not null, reverse_cost double precision not null)"
    )
    buf = io.StringIO()
    table = np.column_stack(
        [
            np.arange(1, len(cost) + 1),
            net.piece_u + 1,
            net.piece_v + 1,
            cost,
            np.where(piece_two_way, cost, -1.0),
        ]
    )
    np.savetxt(buf, table, fmt=["%d", "%d", "%d", "%.6f", "%.6f"], delimiter="\t")
    with conn.cursor() as cur, cur.copy("copy grid_edges from stdin") as copy:
        copy.write(buf.getvalue())
    conn.execute("analyze grid_edges")
    conn.execute(
        "insert into bench_meta values ('grid', %s) on conflict (key) do update set value = excluded.value",
        (signature,),
    )
    print(f"  pgRouting: loaded {len(cost)} grid pieces with COPY in {time.perf_counter() - t0:.1f} s")


def bench_pgrouting(net: TravelNetwork, units: Units, ilon: np.ndarray, ilat: np.ndarray) -> None:
    """Part 3: the same grid queries answered by pgr_dijkstraCost."""
    from scipy.sparse.csgraph import dijkstra

    from geo.network import snap

    print("(3) pgRouting pgr_dijkstraCost on the same grid (incident -> 500 unit nodes, reversed graph)")
    try:
        conn = _pg_connect_creating()
    except Exception as exc:  # noqa: BLE001 — the bench reports, it does not fail
        print(f"  pgRouting unavailable: {exc}")
        return
    with conn:
        _pg_load(conn, net)
        road = net.profiles["road"]
        unode, _ = snap(net, lon=units["unit_lon"], lat=units["unit_lat"], mode="road")
        targets = np.unique(unode)
        edges_sql = "select id, target as source, source as target, cost, reverse_cost from grid_edges"
        head = f"{'query':>5} {'pgRouting ms':>13} {'rank_units ms':>14} {'ratio':>7} {'full scipy ms':>14}"
        print(f"  {head} check (pgRouting costs vs a full scipy search)")
        ratios = []
        for q in range(5):
            inode, _ = snap(net, lon=ilon[q : q + 1], lat=ilat[q : q + 1], mode="road")
            t0 = time.perf_counter()
            rows = conn.execute(PG_QUERY, (edges_sql, int(inode[0]) + 1, (targets + 1).tolist())).fetchall()
            pg_ms = (time.perf_counter() - t0) * 1e3
            ours = np.median(_time_queries(net, units, ilon[q : q + 1].repeat(5), ilat[q : q + 1].repeat(5)))
            t0 = time.perf_counter()
            full = dijkstra(road.reverse, indices=int(inode[0]))
            full_ms = (time.perf_counter() - t0) * 1e3
            pg = np.array(rows, dtype=float)
            err = np.abs(full[pg[:, 0].astype(np.int64) - 1] - pg[:, 1]).max() if len(pg) else np.nan
            ratios.append(pg_ms / ours)
            print(
                f"  {q:>5} {pg_ms:>13.1f} {ours:>14.2f} {pg_ms / ours:>6.0f}x {full_ms:>14.1f} "
                f"{len(pg)} costs, max |diff| {err:.3f} s"
            )
        print(f"  median ratio pgRouting / rank_units: {np.median(ratios):.0f}x (target >= 20x)")


def main() -> None:
    """Run the three parts and print the figures."""
    rng = np.random.default_rng(SEED)
    print(f"SIGAP 112 routing benchmark (python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    b_units, b_lon, b_lat = bench_barsel(rng)
    for backend in ("spatialite", "postgis"):
        bench_service(b_units, b_lon, b_lat, backend)
    net, units, ilon, ilat = bench_grid(rng)
    bench_pgrouting(net, units, ilon, ilat)


if __name__ == "__main__":
    main()

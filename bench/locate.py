"""Benchmark: locating points — ours vs geopandas.sjoin vs a PostGIS ST_Contains join, in one run.

Usage: python bench/locate.py [--points 200000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/sigap_bench]
Prints points per second and ratios, single-point latency percentiles, and GET /api/locate latency against a
real uvicorn server. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.layers import read_bundled_layers  # noqa: E402
from geo.locate import Locator  # noqa: E402


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def pct(values: list[float], q: float) -> float:
    """Percentile in microseconds of a list of seconds."""
    return float(np.percentile(np.asarray(values) * 1e6, q))


def postgis_join(url: str, lon: np.ndarray, lat: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Seconds for a PostGIS ST_Contains join of the points with the desa, and single-query p50/p99 (µs)."""
    import psycopg
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from store.db import make_engine, make_sessionmaker, session_scope
    from store.layers import load_bundled
    from store.migrate import upgrade

    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": name}).first():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as s:
        load_bundled(s, ROOT / "data")
    engine.dispose()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_pts")
        conn.execute("CREATE UNLOGGED TABLE bench_pts (id int, geom geometry(Point, 4326))")
        buf = io.StringIO()
        np.savetxt(buf, np.column_stack([np.arange(len(lon)), lon, lat]), fmt=["%d", "%.7f", "%.7f"], delimiter="\t")
        conn.execute("CREATE TEMP TABLE raw_pts (id int, lon float8, lat float8)")
        with conn.cursor().copy("COPY raw_pts FROM STDIN") as cp:
            cp.write(buf.getvalue())
        conn.execute("INSERT INTO bench_pts SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM raw_pts")
        conn.execute("CREATE INDEX ON bench_pts USING gist (geom)")
        conn.execute("ANALYZE bench_pts; ANALYZE desa")
        sql = "SELECT p.id, d.kode FROM bench_pts p JOIN desa d ON ST_Contains(d.geom, p.geom)"
        t = time.perf_counter()
        conn.execute(sql).fetchall()
        join_s = time.perf_counter() - t
        one = "SELECT kode FROM desa WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
        lat_s = []
        for i in range(2000):
            t = time.perf_counter()
            conn.execute(one, (float(lon[i]), float(lat[i]))).fetchall()
            lat_s.append(time.perf_counter() - t)
        conn.execute("DROP TABLE bench_pts")
    return join_s, (pct(lat_s, 50), pct(lat_s, 99))


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_latency(lon: np.ndarray, lat: np.ndarray, n: int = 2000) -> tuple[float, float, float]:
    """p50/p95/p99 (ms) of GET /api/locate against a real uvicorn on a SpatiaLite file."""
    import httpx

    tmp = tempfile.mkdtemp(prefix="sigap-bench-")
    env = {**os.environ, "SIGAP_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite", "PYTHONPATH": str(ROOT)}
    py = sys.executable
    subprocess.run([py, "-m", "jobs.cli", "load"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(
        [
            py,
            "-c",
            "from store.db import *; from store.accounts import add_user; from api.config import get_settings;"
            "e=make_engine(get_settings().database_url);"
            "s=make_sessionmaker(e)()\nadd_user(s, username='bench', password='Bench-Sandi-112', role='leader');"
            "s.commit()",
        ],
        env=env,
        check=True,
        cwd=ROOT,
    )
    port = free_port()
    server = subprocess.Popen(
        [py, "-m", "uvicorn", "jobs.server:app", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=base) as client:
            tok = client.post("/api/auth/token", data={"username": "bench", "password": "Bench-Sandi-112"}).json()
            client.headers["Authorization"] = f"Bearer {tok['access_token']}"
            for i in range(100):
                client.get("/api/locate", params={"lon": lon[i], "lat": lat[i]})
            times = []
            for i in range(n):
                t = time.perf_counter()
                r = client.get("/api/locate", params={"lon": float(lon[i]), "lat": float(lat[i])})
                times.append(time.perf_counter() - t)
                assert r.status_code == 200
        ms = np.asarray(times) * 1e3
        return tuple(float(np.percentile(ms, q)) for q in (50, 95, 99))
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=200_000)
    ap.add_argument(
        "--pg", default=os.environ.get("SIGAP_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/sigap_bench")
    )
    ap.add_argument("--no-http", action="store_true")
    args = ap.parse_args()

    import geopandas as gpd

    layers = read_bundled_layers(ROOT / "data")
    t = time.perf_counter()
    locator = Locator.from_layers(layers)
    build_s = time.perf_counter() - t
    x0, y0, x1, y1 = np.asarray(locator.desa_grid.polygons[0].bounds)
    import shapely

    x0, y0, x1, y1 = shapely.total_bounds(layers.desa.geometry)
    rng = np.random.default_rng(20261129)
    n = args.points
    lon = rng.uniform(x0, x1, n)
    lat = rng.uniform(y0, y1, n)

    ours_assign = best_of(lambda: locator.assign_desa(lon=lon, lat=lat), 5)
    ours_full = best_of(lambda: locator.locate_many(lon=lon, lat=lat), 3)
    desa = gpd.read_file(ROOT / "data/boundaries/barsel_desa.geojson")
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    sjoin = best_of(lambda: gpd.sjoin(pts, desa, predicate="within", how="left"), 3)
    try:
        pg_join, pg_single = postgis_join(args.pg, lon, lat)
    except Exception as exc:  # noqa: BLE001 — the peer is optional for a laptop run; say so loudly
        print(f"PostGIS peer unavailable: {exc}")
        pg_join, pg_single = float("nan"), (float("nan"), float("nan"))

    single = []
    for i in range(10_000):
        t = time.perf_counter()
        locator.locate(lon=float(lon[i]), lat=float(lat[i]))
        single.append(time.perf_counter() - t)

    rate = lambda s: n / s  # noqa: E731
    print(f"\nLocating {n:,} random points over the regency bbox (locator built in {build_s:.2f} s)")
    print(f"{'method':44s} {'points/s':>12s} {'vs sjoin':>9s}")
    rows = [
        ("ours: assign_desa (grid + exact near edges)", ours_assign),
        ("ours: locate_many (full answer incl. H3)", ours_full),
        ("geopandas.sjoin (within)", sjoin),
        ("PostGIS ST_Contains join", pg_join),
    ]
    for label, secs in rows:
        print(f"{label:44s} {rate(secs):12,.0f} {sjoin / secs:8.2f}x")
    print(f"\nsingle in-process locate (full answer): p50 {pct(single, 50):.0f} µs, p99 {pct(single, 99):.0f} µs")
    print(f"PostGIS single point query:             p50 {pg_single[0]:.0f} µs, p99 {pg_single[1]:.0f} µs")
    if not args.no_http:
        p50, p95, p99 = http_latency(lon, lat)
        print(f"GET /api/locate (uvicorn, SpatiaLite):   p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()

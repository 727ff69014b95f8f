"""Benchmark: the hotspot answers of the API (GeoJSON points, H3 cells, per-desa table) vs geopandas, per backend.

Usage: python bench/hotspots_api.py [--rows 60000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/sigap_bench_hot]
Stores `rows` synthetic VIIRS detections of the last week (SpatiaLite file and, with --pg, PostGIS), then times
whole requests through the app in process (query, conversion, JSON) and, as the peer, what one would write
first for the points: read the same newest rows with pandas/geopandas and `GeoDataFrame.to_json()`. Prints the
best of several runs and the ratios. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api.app import create_app  # noqa: E402
from api.config import Settings  # noqa: E402
from geo.locate import Locator  # noqa: E402
from store.accounts import add_user  # noqa: E402
from store.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from store.hotspots import ingest_detections  # noqa: E402
from store.layers import load_bundled, read_layers  # noqa: E402
from store.migrate import upgrade  # noqa: E402

PASSWORD = "Bench-Sandi-112"
HEADER = ("latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,confidence,"
          "version,bright_ti5,frp,daynight")


def detections_csv(rows: int, *, now: datetime, seed: int = 20230914) -> str:
    """`rows` VIIRS detections over the last 6 days, over Barito Selatan and around it."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(114.4, 115.4, rows)
    lat = rng.uniform(-2.8, -1.2, rows)
    at = pd.Timestamp(now) - pd.to_timedelta(rng.integers(60, 6 * 86_400, rows), unit="s")
    frame = pd.DataFrame({
        "latitude": np.round(lat, 5), "longitude": np.round(lon, 5), "bright_ti4": 330.1, "scan": 0.4, "track": 0.4,
        "acq_date": at.strftime("%Y-%m-%d"), "acq_time": at.strftime("%H%M"), "satellite": "N", "instrument": "VIIRS",
        "confidence": rng.choice(["l", "n", "h"], rows), "version": "2.0NRT", "bright_ti5": 290.0,
        "frp": np.round(rng.gamma(1.5, 4.0, rows), 2), "daynight": "D",
    })
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=HEADER.split(","))
    return buf.getvalue()


def prepare(url: str, csv_text: str) -> None:
    """Migrate, load the layers, add the bench account and store the detections."""
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as session:
        load_bundled(session, ROOT / "data")
        add_user(session, username="bench", password=PASSWORD, role="planner")
        layers = read_layers(session)
    ingest_detections(sessions, io.StringIO(csv_text), locator=Locator.from_layers(layers))
    engine.dispose()


def best_of(fn, repeat: int) -> tuple[float, float]:  # noqa: ANN001
    """The fastest of `repeat` runs: wall seconds, and CPU seconds of this process (steadier on a shared machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def peer_points(url: str, limit: int) -> bytes:
    """The peer: the newest `limit` rows read by pandas, made a GeoDataFrame, written by to_json()."""
    engine = create_engine(url) if not url.startswith("sqlite") else make_engine(url)
    x, y = ("ST_X(geom)", "ST_Y(geom)")
    sql = (f"SELECT id, {x} AS lon, {y} AS lat, acq_time, confidence, frp, brightness, satellite, instrument, "
           "daynight, source, zone, desa_code, kecamatan_code, kabupaten_code, border_distance_m FROM hotspot "
           f"ORDER BY acq_time DESC, id DESC LIMIT {limit}")
    try:
        with engine.connect() as conn:
            df = pd.read_sql(text(sql), conn)
    finally:
        engine.dispose()
    df["acq_time"] = pd.to_datetime(df["acq_time"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    gdf = gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df["lon"], df["lat"]),
                           crs="EPSG:4326")
    return gdf.to_json().encode()


def measure(label: str, url: str, repeat: int) -> None:
    """Time the answers on one backend and print them with the peer's."""
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        token = client.post("/api/auth/token", data={"username": "bench", "password": PASSWORD}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        for path, limit in (("/api/hotspots", 10_000), ("/api/hotspots", 50_000), ("/api/hotspots/h3", None),
                            ("/api/hotspots/by-desa", None)):
            params = {"window": "7d"} | ({"limit": limit} if limit else {})
            r = client.get(path, params=params)
            assert r.status_code == 200, r.text
            size = len(r.content)
            ours, ours_cpu = best_of(lambda: client.get(path, params=params), repeat)  # noqa: B023
            line = (f"{label:10s} GET {path:22s} {str(limit or ''):>6s} {size / 1e6:6.2f} MB  "
                    f"{ours * 1000:7.1f} ms (cpu {ours_cpu * 1000:7.1f})")
            if limit:
                peer, peer_cpu = best_of(lambda: peer_points(url, limit), repeat)  # noqa: B023
                line += (f"  peer pandas+geopandas.to_json {peer * 1000:7.1f} ms (cpu {peer_cpu * 1000:7.1f})"
                         f"  ours/peer x{ours / peer:.2f} (cpu x{ours_cpu / peer_cpu:.2f})")
            print(line, flush=True)


def main() -> None:
    """Build the databases, then time each backend."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL whose database this script may create and drop")
    args = ap.parse_args()
    csv_text = detections_csv(args.rows, now=datetime.now(UTC) - timedelta(minutes=5))
    print(f"SIGAP 112 hotspot API benchmark: {args.rows} detections, best of {args.repeat}")
    with tempfile.TemporaryDirectory(prefix="sigap-bench-hot-") as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        prepare(url, csv_text)
        measure("spatialite", url, args.repeat)
    if args.pg:
        name = make_url(args.pg).database
        admin = create_engine(make_url(args.pg).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            probe = create_engine(args.pg)
            with probe.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            probe.dispose()
            prepare(args.pg, csv_text)
            measure("postgis", args.pg, args.repeat)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()

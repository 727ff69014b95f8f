"""Benchmark: the situation report of a busy day — 2,000 incidents on the day over 90 days of history.

Usage: python bench/report.py [--incidents 2000] [--history-days 90] [--history-per-day 100] [--backend spatialite]
A fresh database gets the bundled layers, the demo units, 90 days of closed calls (bench/intake.py's history),
the day's incidents with dispatch and on-scene steps spread around the desa, 500 hotspots and an active flood
zone. Then, timed separately: gathering the day (SQL), the PDF (figure + WeasyPrint), the HTML map (folium,
self-contained). The peer in the same run: a plain folium map of the same incident points with folium's
defaults (Marker + Popup per point, CDN assets, OpenStreetMap tiles): its size and render time.
Targets (not asserted): PDF under 10 s, HTML under 5 MB and under 3 s. Prints the machine load (uptime).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from intake import CATEGORIES, desa_centres, fresh_database  # noqa: E402

from api.config import Settings  # noqa: E402
from geo.layers import read_bundled_layers  # noqa: E402
from geo.locate import Locator  # noqa: E402
from geo.times import WIB  # noqa: E402
from jobs.report.htmlmap import render_html_map  # noqa: E402
from jobs.report.pdf import render_pdf  # noqa: E402
from jobs.report.produce import gather  # noqa: E402
from store.catalog import DEFAULT_CATALOG_PATH, load_catalog  # noqa: E402
from store.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from store.floods import create_flood  # noqa: E402
from store.hotspots import Hotspot  # noqa: E402
from store.incidents import Incident, IncidentTransition, duplicate_key  # noqa: E402
from store.layers import read_layers  # noqa: E402
from store.reports import report_period  # noqa: E402
from store.units import seed_demo_units  # noqa: E402

STEPS = ("baru", "diverifikasi", "dikirim", "menuju_lokasi", "tiba", "selesai")


def seed_day(engine, day_start: datetime, n: int, seed: int = 20) -> None:  # noqa: ANN001 - an Engine
    """`n` incidents on the day with their steps (most resolved, some still open) and their locate columns."""
    layers = read_bundled_layers(ROOT / "data")
    locator = Locator.from_layers(layers)
    lon0, lat0 = desa_centres()
    rng = np.random.default_rng(seed)
    pick = rng.integers(len(lon0), size=n)
    lon = lon0[pick] + rng.normal(0, 0.01, n)
    lat = lat0[pick] + rng.normal(0, 0.01, n)
    batch = locator.locate_many(lon=lon, lat=lat)
    at = [day_start + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 86_000, n))]
    rows, steps = [], []
    for i in range(n):
        category = CATEGORIES[i % len(CATEGORIES)]
        last = int(rng.integers(2, len(STEPS)))  # how far the call got
        rows.append({
            "id": i + 1_000_000, "number": f"112-{at[i]:%Y%m%d}-{i + 1:04d}-b", "category": category,
            "status": STEPS[last], "geom": f"SRID=4326;POINT({float(lon[i])!r} {float(lat[i])!r})",
            "lon": float(lon[i]), "lat": float(lat[i]),
            "desa_code": batch.desa_code[i], "kecamatan_code": batch.kecamatan_code[i],
            "duplicate_key": duplicate_key(category=category, lon=lon[i], lat=lat[i], at=at[i]),
            "location_source": "coordinates", "version": 1, "created_at": at[i], "updated_at": at[i],
            "created_by": "bench", "caller_name": "Pelapor bench", "caller_phone": "0811000000",
        })  # fmt: skip
        t = at[i]
        for k in range(last + 1):
            steps.append({"incident_id": i + 1_000_000, "from_status": STEPS[k - 1] if k else None,
                          "status": STEPS[k], "at": t, "actor": "bench"})  # fmt: skip
            t += timedelta(seconds=float(rng.uniform(20, 900)))
    with engine.begin() as conn:
        conn.execute(insert(Incident.__table__), rows)
        conn.execute(insert(IncidentTransition.__table__), steps)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as session:
        seed_demo_units(session, read_layers(session))
        for j in range(500):
            session.add(Hotspot(
                detection_key=f"bench-{j}", acq_time=day_start + timedelta(minutes=2 * j), confidence="nominal",
                source="bench", zone="inside", h3_5="x", h3_6="x", h3_7="x", h3_8="x", h3_9="x",
                geom=f"SRID=4326;POINT({float(rng.uniform(114.6, 115.3))!r} {float(rng.uniform(-2.5, -1.4))!r})",
            ))  # fmt: skip
        import shapely

        create_flood(session, geometry=shapely.box(114.80, -1.78, 114.90, -1.66), name="Bench banjir",
                     severity="tinggi", actor="bench")  # fmt: skip


def timed(fn: Callable[..., Any], *args: Any, repeat: int = 1) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t0)
    return out, best


def plain_folium(lat: np.ndarray, lon: np.ndarray, popups: list[str]) -> str:
    """The peer: folium with its defaults, one Marker with a Popup per point."""
    import folium

    m = folium.Map(location=[-1.9, 115.0], zoom_start=9)
    for y, x, p in zip(lat.tolist(), lon.tolist(), popups, strict=True):
        folium.Marker([y, x], popup=folium.Popup(p)).add_to(m)
    return m.get_root().render()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=2000)
    ap.add_argument("--history-days", type=int, default=90)
    ap.add_argument("--backend", default="spatialite", choices=("spatialite", "postgis"))
    ap.add_argument("--pg-admin", default=os.environ.get("SIGAP_TEST_PG_ADMIN_URL",
                                                         "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    import intake

    intake.HISTORY_DAYS = args.history_days
    tmp = Path(tempfile.mkdtemp(prefix="sigap-bench-report-"))
    print(f"machine: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    t0 = time.perf_counter()
    url, drop = fresh_database(args.backend, args.pg_admin, tmp)
    engine = make_engine(url)
    day_start = datetime.now(UTC).astimezone(WIB).replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = (day_start - timedelta(days=1)).astimezone(UTC)
    seed_day(engine, day_start, args.incidents)
    print(f"seeded {args.history_days} days of history + {args.incidents} incidents on the day "
          f"({args.backend}) in {time.perf_counter() - t0:.0f} s")  # fmt: skip
    try:
        sessions = make_sessionmaker(engine)
        with session_scope(sessions) as session:
            layers = read_layers(session)
        catalog = load_catalog(DEFAULT_CATALOG_PATH)
        day = day_start.astimezone(WIB).date()
        period = report_period("range", now=datetime.now(UTC), first=day, last=day)

        def gather_day():  # noqa: ANN202
            with session_scope(sessions) as session:
                return gather(session, period=period, now=datetime.now(UTC), layers=layers, catalog=catalog,
                              settings=Settings())  # fmt: skip

        sitrep, t_gather = timed(gather_day, repeat=args.repeat)
        pdf, t_pdf = timed(render_pdf, sitrep, "id", repeat=args.repeat)
        html, t_html = timed(render_html_map, sitrep, "id", repeat=args.repeat)
        inc = sitrep.incidents
        ok = np.isfinite(inc.lon)
        popups = [f"{n} {c} {s}" for n, c, s in zip(inc.number[ok], inc.category[ok], inc.status[ok], strict=True)]
        peer, t_peer = timed(plain_folium, inc.lat[ok], inc.lon[ok], popups, repeat=args.repeat)
        peer_bytes = len(peer.encode())
        print(f"incidents in the report: {len(inc)} (located {int(ok.sum())}), hotspots {sitrep.hotspot_count}")
        print(f"gather (SQL + tables)      {t_gather:6.2f} s")
        verdict = "OK" if t_pdf < 10 else "SLOW"
        print(f"PDF (figure + WeasyPrint)  {t_pdf:6.2f} s   {len(pdf) / 1e6:5.2f} MB   {verdict} (< 10 s)")
        print(f"HTML map (self-contained)  {t_html:6.2f} s   {len(html) / 1e6:5.2f} MB   "
              f"{'OK' if t_html < 3 and len(html) < 5e6 else 'OVER'} (< 3 s, < 5 MB)")  # fmt: skip
        print(f"peer: plain folium         {t_peer:6.2f} s   {peer_bytes / 1e6:5.2f} MB   "
              f"(CDN assets and online tiles: does not open offline)")  # fmt: skip
        print(f"ratios HTML/peer: time {t_html / t_peer:.2f}x, size {len(html) / peer_bytes:.2f}x")
        print(f"machine: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    finally:
        engine.dispose()
        drop()


if __name__ == "__main__":
    main()

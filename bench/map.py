"""Dispatcher page weight and time to first render in headless Chromium (Debian's, through Playwright).

Starts a real uvicorn server over a temporary SpatiaLite file (bundled layers, demo units), logs in, and
loads /map in a fresh browser context several times. Prints the bytes of HTML, JS, CSS, fonts and the
initial GeoJSON/JSON (decoded and as sent with gzip), the time from navigation to a drawn map (boundaries,
rivers, network, units), and, as the peer, the boundary layers without simplification.

    .venv/bin/python bench/map.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store.accounts import add_user  # noqa: E402
from store.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from store.layers import load_bundled, read_layers  # noqa: E402
from store.migrate import upgrade  # noqa: E402
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 - the browser the page tests use

USER, PASSWORD = "bench-dispatcher", "Bench-Sandi-112"


def prepare(path: Path) -> str:
    """A SpatiaLite file with the bundled layers, a dispatcher account and the demo units."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as session:
        load_bundled(session, ROOT / "data")
        add_user(session, username=USER, password=PASSWORD, role="dispatcher")
    with session_scope(sessions) as session:
        from store.units import seed_demo_units

        seed_demo_units(session, read_layers(session))
    engine.dispose()
    return url


def kind(url: str, content_type: str) -> str:
    """Group a response for the weight table."""
    if "/api/" in url:
        return "data (GeoJSON/JSON)"
    if "javascript" in content_type or url.endswith(".js"):
        return "js"
    if "css" in content_type:
        return "css"
    if "font" in content_type or url.endswith((".woff2", ".ttf")):
        return "fonts"
    if "html" in content_type:
        return "html"
    return "other"


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        url = prepare(Path(tmp) / "bench.sqlite")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "SIGAP_DATABASE_URL": url, "SIGAP_MODE": "demo"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "jobs.server:app", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.25)
            token = httpx.post(base + "/api/auth/token", data={"username": USER, "password": PASSWORD}).json()[
                "access_token"
            ]
            auth = {"Authorization": f"Bearer {token}"}
            peer = {
                name: (
                    len(httpx.get(f"{base}/api/layers/{name}", headers=auth).content),
                    len(httpx.get(f"{base}/api/layers/{name}?simplify={tol}", headers=auth).content),
                )
                for name, tol in (("kabupaten", 300), ("kecamatan", 60), ("desa", 30), ("rivers", 50))
            }
            times: list[float] = []
            weights: dict[str, list[int]] = defaultdict(list)
            sent: list[int] = []
            foreign: list[str] = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                for _ in range(args.runs):
                    ctx = browser.new_context(viewport={"width": 1400, "height": 850})
                    ctx.route(
                        "**/*",
                        lambda r: (
                            r.continue_()
                            if r.request.url.startswith(base)
                            else (foreign.append(r.request.url), r.abort())
                        ),
                    )
                    ctx.add_cookies([{"name": "sigap_token", "value": token, "url": base}])
                    page = ctx.new_page()
                    responses = []
                    page.on("response", lambda r, seen=responses: seen.append(r))
                    page.goto(base + "/map")
                    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                    # Navigation start to the moment the map and its data were drawn.
                    ready = page.evaluate("SIGAP.readyAt")
                    page.wait_for_load_state("networkidle")
                    times.append(ready / 1000.0)
                    run: dict[str, int] = defaultdict(int)
                    wire = 0
                    for r in responses:
                        if r.url.endswith("/api/events") or r.status >= 300:
                            continue
                        body = len(r.body())
                        run[kind(r.url, r.headers.get("content-type", ""))] += body
                        wire += r.request.sizes()["responseBodySize"]
                    for k, v in run.items():
                        weights[k].append(v)
                    sent.append(wire)
                    ctx.close()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    print(f"Dispatcher page /map, {args.runs} cold loads in headless Chromium (fresh context each)")
    total = 0
    for k in sorted(weights):
        v = int(statistics.median(weights[k]))
        total += v
        print(f"  {k:22s} {v / 1024:8.1f} KiB")
    verdict = "OK" if total < 2 << 20 else "OVER"
    print(f"  {'total (decoded)':22s} {total / 1024:8.1f} KiB   target < 2048 KiB  {verdict}")
    print(f"  {'total (as sent, gzip)':22s} {statistics.median(sent) / 1024:8.1f} KiB")
    med = statistics.median(times)
    print(
        f"  time to first render   median {med:.2f} s  (min {min(times):.2f}, max {max(times):.2f})   "
        f"target < 3 s  {'OK' if med < 3 else 'OVER'}"
    )
    raw = sum(a for a, _ in peer.values())
    simp = sum(b for _, b in peer.values())
    print("Peer: boundary layers as served unsimplified vs simplified (bytes):")
    for name, (a, b) in peer.items():
        print(f"  {name:10s} {a / 1024:8.1f} KiB -> {b / 1024:8.1f} KiB  ({a / max(b, 1):.1f}x smaller)")
    print(f"  all        {raw / 1024:8.1f} KiB -> {simp / 1024:8.1f} KiB  ({raw / max(simp, 1):.1f}x smaller)")
    print(f"Requests to other hosts: {len(foreign)}")
    return 0 if not foreign else 1


if __name__ == "__main__":
    sys.exit(main())

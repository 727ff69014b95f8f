"""`sigap demo`: seed demo units and play a realistic stream of 112 calls and unit movements.

The simulator is a client of the running platform: it records calls, asks for recommendations, dispatches,
moves units along their routes and changes incident states through the same HTTP API the dispatchers use,
so every open map sees it through the live stream, whatever the backend and however many workers.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import shapely

from api.config import Settings, get_settings
from geo.layers import Layers
from store.accounts import add_user, find_user
from store.db import session_scope
from store.layers import read_layers
from store.units import seed_demo_units

log = logging.getLogger("sigap.demo")
# One line per request would drown the simulator's own story.
logging.getLogger("httpx").setLevel(logging.WARNING)

SIM_USER = "sim-112"
# Share of calls per category in a dry-season week (karhutla high, floods low).
CATEGORY_WEIGHTS: dict[str, float] = {
    "medis": 0.24,
    "kecelakaan_lalu_lintas": 0.18,
    "kebakaran": 0.09,
    "karhutla": 0.09,
    "kriminalitas": 0.09,
    "penyelamatan": 0.06,
    "banjir": 0.05,
    "listrik": 0.05,
    "ketertiban_umum": 0.05,
    "infrastruktur": 0.04,
    "tanah_longsor": 0.02,
    "perlindungan_anak_perempuan": 0.02,
    "bantuan_sosial": 0.02,
}
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "medis": (
        "Warga {desa} pingsan di rumah, sesak napas, minta ambulans.",
        "Ibu hamil di {desa} mengalami pendarahan, perlu dibawa ke RSUD.",
        "Lansia jatuh di kamar mandi, tidak bisa bangun, {desa}.",
    ),
    "kecelakaan_lalu_lintas": (
        "Tabrakan sepeda motor dengan pikap di jalan {desa}, dua orang luka.",
        "Truk sawit terguling di tikungan dekat {desa}, sopir terjepit.",
        "Pengendara motor jatuh ke parit di {desa}, kaki patah.",
    ),
    "kebakaran": (
        "Rumah kayu terbakar di {desa}, api cepat membesar.",
        "Kios di pasar {desa} terbakar, asap tebal.",
    ),
    "karhutla": (
        "Lahan gambut terbakar di belakang kebun warga {desa}, asap tebal.",
        "Api merambat di semak belukar dekat jalan {desa}, angin kencang.",
    ),
    "kriminalitas": (
        "Pencurian sepeda motor di halaman rumah warga {desa}.",
        "Perkelahian antarpemuda di {desa}, satu orang luka.",
    ),
    "penyelamatan": (
        "Anak tenggelam di sungai dekat dermaga {desa}, belum ditemukan.",
        "Warga terjebak di atas pohon setelah perahu terbalik, {desa}.",
    ),
    "banjir": (
        "Air sungai naik, rumah warga di {desa} tergenang sepinggang.",
        "Banjir memutus jalan desa {desa}, warga lansia perlu dievakuasi.",
    ),
    "listrik": (
        "Tiang listrik roboh menimpa jalan di {desa}, kabel terjuntai.",
        "Korsleting di gardu dekat {desa}, percikan api.",
    ),
    "ketertiban_umum": ("Keributan di acara hiburan malam di {desa}.", "Pedagang memblokir jalan di {desa}."),
    "infrastruktur": (
        "Jembatan kayu di {desa} ambruk sebagian, tidak bisa dilewati.",
        "Jalan amblas di {desa}, lubang besar di tengah jalan.",
    ),
    "tanah_longsor": ("Tebing di tepi jalan {desa} longsor menutup badan jalan.",),
    "perlindungan_anak_perempuan": ("Laporan kekerasan dalam rumah tangga di {desa}, korban perempuan.",),
    "bantuan_sosial": ("Warga terdampak banjir di {desa} membutuhkan makanan dan selimut.",),
}
CALLERS = (
    "Ahmad Rizani",
    "Siti Aminah",
    "Yohanes Tingang",
    "Rusdiansyah",
    "Norhayati",
    "Darmawan Usop",
    "Fitriani",
    "Markus Dinan",
    "Hj. Salmah",
    "Ismail Nanang",
    "Eka Putri",
    "Berkat Ingan",
)


def prepare(settings: Settings) -> tuple[str, Layers]:
    """Migrate and seed the demo units; a bearer token for the simulator's own account, and the layers."""
    from api.auth import issue_token
    from jobs.commands_core import open_database

    engine, sessions = open_database()
    try:
        with session_scope(sessions) as session:
            layers = read_layers(session)
            if not len(layers.desa):
                raise SystemExit("Jalankan `sigap load` dulu / run `sigap load` first")
            report = seed_demo_units(session, layers, actor=SIM_USER)
            print(f"Unit demo / demo units: {report.units} ({report.units_created} baru / new)")
            sim = find_user(session, SIM_USER)
            if sim is None:
                sim = add_user(
                    session,
                    username=SIM_USER,
                    password=secrets.token_urlsafe(24) + "-A1",
                    role="dispatcher",
                    full_name="Simulator demo 112",
                    demo=True,
                )
            token, _ = issue_token(sim, settings)
    finally:
        engine.dispose()
    return token, layers


@dataclass
class Trip:
    """One dispatched unit driving to its incident along the recommended route."""

    incident_id: int
    unit_id: int
    line: shapely.LineString
    length_m: float
    speed_mps: float
    done_m: float = 0.0


@dataclass
class Case:
    """An incident the simulator is working through its states."""

    id: int
    number: str
    due: float
    trip: Trip | None = None
    on_scene_until: float | None = None
    unit_id: int | None = None


@dataclass
class Simulator:
    """Plays calls and responses against the API at `base_url`, `speedup` times faster than life."""

    base_url: str
    token: str
    layers: Layers
    rng: np.random.Generator
    speedup: float = 10.0
    call_every_s: float = 30.0
    tick_s: float = 2.0
    cases: dict[int, Case] = field(default_factory=dict)
    calls: int = 0
    max_calls: int = 0
    last_heartbeat: float = 0.0

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30.0
        )
        cats = list(CATEGORY_WEIGHTS)
        w = np.array([CATEGORY_WEIGHTS[c] for c in cats])
        self.categories, self.weights = cats, w / w.sum()
        self.next_call = time.monotonic()

    # -- calls ------------------------------------------------------------------------------------
    def random_point(self) -> tuple[float, float, str]:
        """A point inside a random real desa and the desa name."""
        i = int(self.rng.integers(len(self.layers.desa)))
        poly = self.layers.desa.geometry[i]
        x0, y0, x1, y1 = shapely.bounds(poly)
        xs, ys = self.rng.uniform(x0, x1, 64), self.rng.uniform(y0, y1, 64)
        inside = np.flatnonzero(shapely.contains_xy(poly, xs, ys))
        p = shapely.point_on_surface(poly) if not len(inside) else shapely.Point(xs[inside[0]], ys[inside[0]])
        return round(p.x, 6), round(p.y, 6), str(self.layers.desa.name[i])

    def call(self) -> dict[str, Any] | None:
        """Record one realistic call through the API."""
        lon, lat, desa = self.random_point()
        cat = str(self.rng.choice(self.categories, p=self.weights))
        text = str(self.rng.choice(DESCRIPTIONS.get(cat, ("Laporan warga di {desa}.",)))).format(desa=desa)
        phone = "08" + "".join(str(d) for d in self.rng.integers(0, 10, 10))
        r = self.http.post(
            "/api/incidents",
            json={
                "category": cat,
                "description": text,
                "caller_name": str(self.rng.choice(CALLERS)),
                "caller_phone": phone,
                "location": {"lon": lon, "lat": lat, "accuracy_m": float(self.rng.choice([8, 15, 30, 120]))},
            },
        )
        if r.status_code != 201:
            log.warning("call refused: %s %s", r.status_code, r.text[:200])
            return None
        inc = r.json()
        self.calls += 1
        # A dispatcher verifies and sends a unit within one to three minutes.
        self.cases[inc["id"]] = Case(
            inc["id"], inc["number"], time.monotonic() + self.rng.uniform(60, 180) / self.speedup
        )
        log.info("call %s %s at %s", inc["number"], cat, desa)
        return inc

    # -- responses --------------------------------------------------------------------------------
    def transition(self, incident_id: int, to: str) -> bool:
        """Move an incident one state on, with the version it has now."""
        cur = self.http.get(f"/api/incidents/{incident_id}")
        if cur.status_code != 200:
            return False
        r = self.http.post(
            f"/api/incidents/{incident_id}/transition", json={"to": to, "version": cur.json()["version"]}
        )
        return r.status_code == 200

    def unit_step(self, incident_id: int, unit_id: int, status: str) -> bool:
        """Record a unit's step on its call (menuju_lokasi, tiba) as a dispatcher taking a radio call does."""
        r = self.http.post(f"/api/incidents/{incident_id}/units/{unit_id}/status", json={"status": status})
        if r.status_code != 200:
            log.warning("unit step %s refused: %s %s", status, r.status_code, r.text[:200])
        return r.status_code == 200

    def dispatch(self, case: Case) -> None:
        """Send the top recommended unit and start its trip."""
        r = self.http.get(f"/api/incidents/{case.id}/recommendations", params={"k": 1})
        if r.status_code != 200:
            self.transition(case.id, "diverifikasi")
            self.cases.pop(case.id, None)
            return
        ranked = [x for xs in (r.json().get("recommendations") or {}).values() for x in xs]
        ranked.sort(key=lambda x: x["eta_s"])
        if not ranked:
            case.due = time.monotonic() + 120 / self.speedup  # everyone busy: try again in two minutes
            return
        best = ranked[0]
        d = self.http.post(f"/api/incidents/{case.id}/dispatch", json={"unit_ids": [best["id"]]})
        if d.status_code != 200:
            case.due = time.monotonic() + 30 / self.speedup
            return
        geom = shapely.geometry.shape(
            (best.get("route") or {}).get("geometry") or {"type": "LineString", "coordinates": []}
        )
        if geom.is_empty or geom.geom_type not in ("LineString", "MultiLineString"):
            geom = shapely.LineString([(best["lon"], best["lat"]), (best["lon"], best["lat"])])
        line = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
        if line.geom_type != "LineString":
            line = shapely.LineString(shapely.get_coordinates(geom))
        length = max(float(best.get("distance_m") or 0.0), 1.0)
        speed = length / max(float(best["eta_s"]), 1.0)
        case.trip = Trip(case.id, int(best["id"]), line, length, speed)
        case.unit_id = int(best["id"])
        # The crew reports by radio: the call follows its unit (issue 15).
        self.unit_step(case.id, case.unit_id, "menuju_lokasi")

    def drive(self, case: Case, dt: float) -> None:
        """Move the unit along its route; on arrival the incident is on scene."""
        trip = case.trip
        assert trip is not None
        trip.done_m = min(trip.length_m, trip.done_m + trip.speed_mps * dt * self.speedup)
        frac = trip.done_m / trip.length_m
        p = shapely.line_interpolate_point(trip.line, frac, normalized=True)
        self.http.put(f"/api/units/{trip.unit_id}/position", json={"lon": round(p.x, 6), "lat": round(p.y, 6)})
        if frac >= 1.0:
            self.unit_step(case.id, trip.unit_id, "tiba")
            case.trip = None
            case.on_scene_until = time.monotonic() + self.rng.uniform(600, 1800) / self.speedup

    def heartbeat(self) -> None:
        """Idle units report their position every few minutes, as real AVL does, so they never look stale."""
        r = self.http.get("/api/units")
        if r.status_code != 200:
            return
        moving = {c.trip.unit_id for c in self.cases.values() if c.trip}
        for u in r.json().get("units", []):
            if u["id"] not in moving and u.get("lon") is not None and u.get("status") != "offline":
                self.http.put(f"/api/units/{u['id']}/position", json={"lon": u["lon"], "lat": u["lat"]})

    def step(self, dt: float) -> None:
        """One tick: maybe a new call, dispatches that are due, trips, scenes that finish."""
        now = time.monotonic()
        if now >= self.next_call and not (self.max_calls and self.calls >= self.max_calls):
            self.call()
            self.next_call = now + self.rng.exponential(self.call_every_s)
        if now - self.last_heartbeat > 300:
            self.heartbeat()
            self.last_heartbeat = now
        for case in list(self.cases.values()):
            if case.trip is not None:
                self.drive(case, dt)
            elif case.on_scene_until is not None:
                if now >= case.on_scene_until:
                    self.transition(case.id, "selesai")
                    if case.unit_id is not None:  # back at its post: free again
                        self.http.post(f"/api/units/{case.unit_id}/status", json={"status": "tersedia"})
                    self.cases.pop(case.id, None)
            elif now >= case.due:
                self.dispatch(case)

    def adopt(self) -> None:
        """Take over the open incidents a previous run left, so their units are freed in time."""
        r = self.http.get("/api/incidents", params={"limit": 200})
        if r.status_code != 200:
            return
        now = time.monotonic()
        for inc in r.json().get("items", []):
            status = inc.get("status")
            if status in ("baru", "diverifikasi") and inc.get("lon") is not None:
                self.cases[inc["id"]] = Case(inc["id"], inc["number"], now + self.rng.uniform(5, 60) / self.speedup)
            elif status in ("dikirim", "menuju_lokasi", "tiba"):
                for to in ("menuju_lokasi", "tiba")[("dikirim", "menuju_lokasi", "tiba").index(status) :]:
                    self.transition(inc["id"], to)
                self.cases[inc["id"]] = Case(inc["id"], inc["number"], now, on_scene_until=now + 30 / self.speedup)

    def run(self, *, max_calls: int = 0, stop: threading.Event | None = None) -> None:
        """Tick until stopped (or until `max_calls` calls have been handled)."""
        stop = stop or threading.Event()
        self.max_calls = max_calls
        self.adopt()
        last = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            try:
                self.step(now - last)
            except httpx.HTTPError as exc:
                log.warning("simulator: platform not answering (%s)", exc)
            last = now
            if max_calls and self.calls >= max_calls and not self.cases:
                return
            stop.wait(self.tick_s)


def wait_for(base_url: str, *, timeout_s: float = 60.0) -> bool:
    """Wait until the platform answers /healthz."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            if httpx.get(base_url + "/healthz", timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def start_in_background(*, host: str, port: int, speedup: float = 10.0) -> threading.Thread | None:
    """Seed now and play the demo in a daemon thread once the server is up (`sigap serve --demo`)."""
    settings = get_settings()
    if settings.mode != "demo":
        print("Mode production: simulator demo tidak dijalankan / production mode: demo simulator not started")
        return None
    token, layers = prepare(settings)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"

    def play() -> None:
        if not wait_for(base):
            log.warning("simulator: %s did not come up", base)
            return
        Simulator(base, token, layers, np.random.default_rng(), speedup=speedup).run()

    thread = threading.Thread(target=play, name="sigap-demo", daemon=True)
    thread.start()
    return thread


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed demo units and play calls against a running platform."""
    settings = get_settings()
    if settings.mode != "demo":
        print("Perintah demo hanya untuk mode demo / the demo command runs in demo mode only")
        return 2
    token, layers = prepare(settings)
    if args.seed_only:
        return 0
    base = (args.url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if not wait_for(base, timeout_s=args.wait):
        print(f"Platform tidak menjawab di / platform not answering at {base}; jalankan / run `sigap serve`")
        return 1
    sim = Simulator(
        base,
        token,
        layers,
        np.random.default_rng(args.seed),
        speedup=args.speedup,
        call_every_s=args.every,
        tick_s=args.tick,
    )
    print(f"Simulasi 112 berjalan terhadap / demo running against {base} (Ctrl+C untuk berhenti / to stop)")
    with contextlib.suppress(KeyboardInterrupt):
        sim.run(max_calls=args.calls)
    print(f"{sim.calls} panggilan / calls")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `demo` subcommand."""
    p = sub.add_parser("demo", help="unit demo dan simulasi panggilan / demo units and simulated calls")
    p.add_argument("--url", help="alamat platform (bawaan dari SIGAP_HOST/PORT) / platform URL")
    p.add_argument("--calls", type=int, default=0, help="berhenti setelah N panggilan / stop after N calls")
    p.add_argument("--every", type=float, default=30.0, help="rata-rata detik antar panggilan / mean s between calls")
    p.add_argument("--tick", type=float, default=2.0, help="detik antar langkah / seconds per step")
    p.add_argument("--speedup", type=float, default=10.0, help="percepatan waktu / time speed-up")
    p.add_argument("--seed", type=int, help="benih acak / random seed")
    p.add_argument("--wait", type=float, default=30.0, help="detik menunggu platform / s to wait for the platform")
    p.add_argument("--seed-only", action="store_true", help="hanya isi unit dan akun demo / only seed")
    p.set_defaults(handler=cmd_demo)

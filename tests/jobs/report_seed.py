"""A seeded day for the report tests: known incidents, response times, units, hotspots and a flood zone.

The day is 20-11-2026 (WIB). Callers carry distinctive names and numbers, and operators type distinctive notes,
so a test can prove that none of them reaches a leader's report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import select

from geo.layers import Layers
from geo.locate import Locator
from geo.times import WIB
from store.db import session_scope
from store.dispatch import dispatch_units
from store.events import EventHub
from store.floods import create_flood
from store.hotspots import Hotspot
from store.incidents import Call, Incident, record_calls, transition
from store.units import Unit, seed_demo_units

DAY = date(2026, 11, 20)
# Strings that must never appear in a leader's report.
SECRETS = (
    "Zulkarnaen Pelapor-Rahasia",
    "+62 811-5550-4242",
    "081155504242",
    "Catatan-Operator-XJ42 rumah biru dekat jembatan",
    "Catatan-Transisi-QW77",
    "Catatan-Banjir-KL19",
)
# (category, lon, lat, seconds to dispatch or None, seconds dispatch -> on scene or None, cancelled)
BUNTOK = (114.8445, -1.7065)
DUSUN_HILIR = (114.70, -2.25)
INCIDENTS = [
    ("kebakaran", *BUNTOK, 60, 600, False),
    ("kebakaran", 114.8470, -1.7100, 60, 900, False),
    ("kebakaran", 114.8400, -1.7040, 60, 1200, False),
    ("kebakaran", *DUSUN_HILIR, 60, 1500, False),
    ("kebakaran", 114.7050, -2.2520, 600, 3000, False),
    ("medis", *BUNTOK, 60, 300, False),
    ("medis", 114.8450, -1.7080, 60, 420, False),
    ("medis", 114.8430, -1.7050, 60, 480, False),
    ("medis", *DUSUN_HILIR, 60, 540, False),
    ("kecelakaan_lalu_lintas", 114.8460, -1.7070, 60, 660, False),
    ("kriminalitas", 114.8455, -1.7060, None, None, False),
    ("kriminalitas", 114.8440, -1.7075, None, None, True),
]


@dataclass
class SeededDay:
    """What was seeded, for the assertions."""

    numbers: list[str] = field(default_factory=list)
    units_sent: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    units_total: int = 0


def day_start() -> datetime:
    """00:00 WIB of the seeded day, in UTC."""
    return datetime(DAY.year, DAY.month, DAY.day, tzinfo=WIB).astimezone(UTC)


def seed_day(sessions, layers: Layers, locator: Locator) -> SeededDay:
    """Seed the day's incidents (with their steps and units), units, hotspots and an active flood zone."""
    out = SeededDay()
    start = day_start()
    hub = EventHub(sessions.kw["bind"])  # never started: the events of the seed go nowhere
    with session_scope(sessions) as session:
        seed_demo_units(session, layers)
    with session_scope(sessions) as session:
        units = list(session.scalars(select(Unit).order_by(Unit.id)))
        out.units_total = len(units)
        for u in units[-2:]:
            u.status = "offline"
            out.offline.append(u.callsign)
        free = [u.id for u in units[:-2]]
    for i, (category, lon, lat, to_dispatch, to_scene, cancel) in enumerate(INCIDENTS):
        at = start + timedelta(hours=1 + i, minutes=7)
        call = Call(
            category=category,
            actor="t-dispatcher",
            description=SECRETS[3],
            caller_name=SECRETS[0],
            caller_phone=SECRETS[1] if i % 2 else SECRETS[2],
            lon=lon,
            lat=lat,
            location_source="coordinates",
            location=locator.locate(lon=lon, lat=lat),
            at=at,
        )
        with session_scope(sessions) as session:
            (record,) = record_calls(session, [call], hub=hub)
            out.numbers.append(record.number)
            incident = session.get(Incident, record.id)
            if cancel:
                transition(session, incident, "batal", actor="t-dispatcher", note=SECRETS[4], at=at)
                continue
            if to_dispatch is None:
                continue
            transition(session, incident, "diverifikasi", actor="t-dispatcher", note=SECRETS[4], at=at)
            unit_id = free.pop(0)
            result = dispatch_units(session, incident, [unit_id], actor="t-dispatcher", note=SECRETS[4])
            out.units_sent.append(result.units[0]["callsign"])
            # The dispatch happened `to_dispatch` seconds after the call.
            incident.transitions[-1].at = at + timedelta(seconds=to_dispatch)
            session.flush()
            scene = at + timedelta(seconds=to_dispatch + to_scene)
            transition(session, incident, "menuju_lokasi", actor="t-dispatcher", at=scene - timedelta(seconds=30))
            transition(session, incident, "tiba", actor="t-dispatcher", note=SECRETS[4], at=scene)
    with session_scope(sessions) as session:
        for j, hours in enumerate((2, 5, 9, 30)):  # three on the day, one the day after
            session.add(
                Hotspot(
                    detection_key=f"seed-{j}",
                    acq_time=start + timedelta(hours=hours),
                    confidence="high" if j == 0 else "nominal",
                    source="test",
                    zone="inside",
                    desa_code=_desa_code(layers, "Buntok Kota"),
                    kecamatan_code="62.04.06",
                    h3_5="x", h3_6="x", h3_7="x", h3_8="x", h3_9="x",
                    geom=from_shape(shapely.Point(114.85 + j * 0.002, -1.71), srid=4326),
                )
            )  # fmt: skip
        buntok = layers.desa.geometry[list(layers.desa.name).index("Buntok Kota")]
        create_flood(
            session,
            geometry=buntok,
            name="Banjir Buntok Kota",
            severity="tinggi",
            observed_at=start + timedelta(hours=6),
            source="BPBD",
            notes=SECRETS[5],
            actor="t-planner",
        )
    return out


def _desa_code(layers: Layers, name: str) -> str:
    return str(layers.desa.code[list(layers.desa.name).index(name)])

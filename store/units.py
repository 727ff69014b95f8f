"""Stations and response units (fire engines, ambulances, BPBD teams, boats, police), with the demo seed."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import shapely
from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from geo.crs import UTM50S, WGS84, project_geometries
from geo.layers import Layers
from geo.times import as_utc, format_wib, iso_utc, utcnow
from store.accounts import record_audit
from store.models import Base
from store.types import UTCDateTime

UNIT_TYPES = ("damkar", "ambulans", "bpbd", "perahu", "polisi")
# A unit's status: free (tersedia, kembali: returning from a call, may be sent again), on a call (dikirim, menuju
# lokasi, tiba: it has an open assignment, store.dispatch), or out of service (tidak_tersedia, offline).
UNIT_STATUSES = ("tersedia", "dikirim", "menuju_lokasi", "tiba", "kembali", "tidak_tersedia", "offline")
AVAILABLE_STATUSES = ("tersedia", "kembali")
ON_CALL_STATUSES = ("dikirim", "menuju_lokasi", "tiba")
OUT_OF_SERVICE_STATUSES = ("tidak_tersedia", "offline")
# The three groups reports and the situation map count units by.
STATUS_GROUPS = ("tersedia", "bertugas", "offline")
STATUS_GROUP = {"tersedia": "tersedia", "kembali": "tersedia", "dikirim": "bertugas", "menuju_lokasi": "bertugas",
                "tiba": "bertugas", "tidak_tersedia": "offline", "offline": "offline"}
_STATUS_CHECK = "status IN (" + ",".join(f"'{s}'" for s in UNIT_STATUSES) + ")"
TRAVEL_MODES = ("road", "river", "river:speedboat", "river:klotok")
STATION_KINDS = ("damkar", "rsud", "puskesmas", "bpbd", "polres", "polsek", "posko")


class Station(Base):
    """A place units are based at: Damkar post, hospital, puskesmas, BPBD office, Polres/Polsek."""

    __tablename__ = "station"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    agency: Mapped[str] = mapped_column(String(32), nullable=False)
    desa_code: Mapped[str | None] = mapped_column(String(20))
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)


class Unit(Base):
    """A response unit with its type, home station, status, travel mode and last known position."""

    __tablename__ = "unit"
    __table_args__ = (
        CheckConstraint("type IN ('damkar','ambulans','bpbd','perahu','polisi')", name="ck_unit_type"),
        CheckConstraint(_STATUS_CHECK, name="ck_unit_status"),
        CheckConstraint("travel_mode IN ('road','river','river:speedboat','river:klotok')", name="ck_unit_travel_mode"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    callsign: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    type: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    agency: Mapped[str] = mapped_column(String(32), nullable=False)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("station.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="tersedia", index=True)
    travel_mode: Mapped[str] = mapped_column(String(24), nullable=False, default="road")
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # since when the unit is in its status


class UnitState(Base):
    """Single row bumped by database triggers on every unit insert/update/delete (migration 0007).

    Readers that cache units compare ``(version, changed_at)`` with what they cached; ``changed_at`` keeps the
    pair unique even if the row is deleted and the counter starts again.
    """

    __tablename__ = "unit_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    changed_at: Mapped[str] = mapped_column(String(40), nullable=False)


@dataclass(frozen=True)
class UnitRows:
    """Units as parallel arrays (one query, no ORM objects) for ranking and listing."""

    id: np.ndarray
    callsign: np.ndarray
    name: np.ndarray
    type: np.ndarray
    agency: np.ndarray
    station_id: np.ndarray
    status: np.ndarray
    travel_mode: np.ndarray
    lon: np.ndarray  # NaN when unknown
    lat: np.ndarray
    position_ts: np.ndarray  # POSIX seconds (UTC) of the last position, NaN when never reported
    demo: np.ndarray
    version: np.ndarray
    status_ts: np.ndarray  # POSIX seconds (UTC) since the unit is in its status, NaN when unknown
    incident_id: np.ndarray  # the incident of its open assignment (object: int or None)
    incident_number: np.ndarray

    def __len__(self) -> int:
        return len(self.id)

    def take(self, idx: np.ndarray) -> UnitRows:
        """The rows ``idx`` (in that order) as a new UnitRows."""
        idx = np.asarray(idx, dtype=np.int64)
        return UnitRows(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def age_s(self, now: datetime) -> np.ndarray:
        """Seconds since each unit's last position (NaN when it never reported one)."""
        return now.timestamp() - self.position_ts

    def position_at(self, i: int) -> datetime | None:
        """The last position time of row i, timezone-aware UTC."""
        ts = float(self.position_ts[i])
        return None if not np.isfinite(ts) else datetime.fromtimestamp(ts, UTC)

    def status_at(self, i: int) -> datetime | None:
        """Since when row i is in its status, timezone-aware UTC."""
        ts = float(self.status_ts[i])
        return None if not np.isfinite(ts) else datetime.fromtimestamp(ts, UTC)


def _epoch_seconds(values: list) -> np.ndarray:
    """POSIX seconds from what the driver returns: aware datetimes (psycopg) or ISO strings (SQLite)."""
    if not values:
        return np.zeros(0)
    if any(isinstance(v, datetime) for v in values):
        return np.array([np.nan if v is None else as_utc(v).timestamp() for v in values], dtype=float)
    # SQLite keeps UTC wall time as 'YYYY-MM-DD HH:MM:SS.ffffff': numpy parses the whole column at once.
    stamps = np.array([None if v is None else str(v)[:26] for v in values], dtype="datetime64[us]")
    out = stamps.astype("int64").astype(float) / 1e6
    out[np.isnat(stamps)] = np.nan
    return out


# Each unit with the incident of its open assignment (at most one: a partial unique index, migration 0019).
_UNIT_SQL = (
    "SELECT unit.id, unit.callsign, unit.name, unit.type, unit.agency, unit.station_id, unit.status, "
    "unit.travel_mode, ST_X(unit.geom), ST_Y(unit.geom), unit.position_at, unit.demo, unit.version, "
    "unit.status_at, a.incident_id, i.number FROM unit "
    "LEFT JOIN dispatch_assignment a ON a.unit_id = unit.id AND a.released_at IS NULL "
    "LEFT JOIN incident i ON i.id = a.incident_id"
)


def read_units(
    session: Session,
    *,
    types: list[str] | tuple[str, ...] | None = None,
    ids: list[int] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> UnitRows:
    """Units (optionally of some types / ids / inside a lon/lat bbox) as arrays, ordered by id.

    Plain SQL without ORM result processing: this runs on every recommendation request.
    """
    where: list[str] = []
    params: dict[str, Any] = {}
    expanding: list[str] = []
    if types is not None:
        where.append("unit.type IN :types")
        params["types"] = list(types)
        expanding.append("types")
    if ids is not None:
        where.append("unit.id IN :ids")
        params["ids"] = [int(i) for i in ids]
        expanding.append("ids")
    if bbox is not None:
        where.append("ST_Intersects(unit.geom, ST_GeomFromText(:box, 4326))")
        params["box"] = shapely.box(*bbox).wkt
    sql = _UNIT_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY unit.id"
    stmt = text(sql).bindparams(*[bindparam(name, expanding=True) for name in expanding])
    rows = session.execute(stmt, params).all() if (types is None or types) and (ids is None or ids) else []
    cols = list(zip(*rows, strict=True)) if rows else [()] * 16

    def obj(i: int) -> np.ndarray:
        return np.array(cols[i], dtype=object)

    def num(i: int) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in cols[i]], dtype=float)

    return UnitRows(
        id=np.array(cols[0], dtype=np.int64),
        callsign=obj(1),
        name=obj(2),
        type=obj(3),
        agency=obj(4),
        station_id=obj(5),
        status=obj(6),
        travel_mode=obj(7),
        lon=num(8),
        lat=num(9),
        position_ts=_epoch_seconds(list(cols[10])),
        demo=np.array(cols[11], dtype=bool),
        version=np.array(cols[12], dtype=np.int64),
        status_ts=_epoch_seconds(list(cols[13])),
        incident_id=obj(14),
        incident_number=obj(15),
    )


def unit_fields(rows: UnitRows) -> list[dict[str, Any]]:
    """Each unit row as the API, events and recommendations show it (UnitFields): the one unit serializer.

    Nothing here depends on the time of asking; :func:`unit_public` adds the position's age and stale flag.
    """
    ids, lon, lat = rows.id.tolist(), rows.lon.tolist(), rows.lat.tolist()
    versions, demo = rows.version.tolist(), rows.demo.tolist()
    out = []
    for i in range(len(rows)):
        mode = str(rows.travel_mode[i])
        at = rows.position_at(i)
        since = rows.status_at(i)
        status = str(rows.status[i])
        out.append(
            {
                "id": ids[i],
                "callsign": rows.callsign[i],
                "name": rows.name[i],
                "type": rows.type[i],
                "agency": rows.agency[i],
                "station_id": rows.station_id[i],
                "status": status,
                "available": status in AVAILABLE_STATUSES,
                "status_at": iso_utc(since),
                "incident_id": None if rows.incident_id[i] is None else int(rows.incident_id[i]),
                "incident_number": rows.incident_number[i],
                "mode": "river" if mode.startswith("river") else "road",
                "travel_mode": mode,
                "lon": lon[i] if math.isfinite(lon[i]) else None,
                "lat": lat[i] if math.isfinite(lat[i]) else None,
                "position_at": iso_utc(at),
                "position_at_wib": format_wib(at),
                "source": "demo" if demo[i] else "real",
                "version": versions[i],
            }
        )
    return out


def position_age(rows: UnitRows, *, now: datetime, stale_after_s: float) -> list[dict[str, Any]]:
    """Per unit row, the age of its position in seconds (None when never reported) and whether it is stale."""
    age = rows.age_s(now)
    return [
        {"position_age_s": round(a, 1), "stale": a > stale_after_s} if math.isfinite(a)
        else {"position_age_s": None, "stale": False}
        for a in age.tolist()
    ]


def unit_public(rows: UnitRows, *, now: datetime, stale_after_s: float) -> list[dict[str, Any]]:
    """Each unit row as UnitPublic: its fields, the age of its position and the stale flag."""
    return [
        f | a for f, a in zip(unit_fields(rows), position_age(rows, now=now, stale_after_s=stale_after_s), strict=True)
    ]


# What an audit record keeps of a unit.
AUDIT_FIELDS = ("id", "callsign", "status", "incident_id", "lon", "lat", "position_at", "version")


def unit_audit(fields: dict[str, Any]) -> dict[str, Any]:
    """The audit snapshot of a unit, from its fields."""
    return {k: fields[k] for k in AUDIT_FIELDS}


def station_list(session: Session) -> list[dict[str, Any]]:
    """Every station as the API shows it (StationPublic): what it is, where, and how many units it bases; by code."""
    counts = dict(session.execute(select(Unit.station_id, func.count()).group_by(Unit.station_id)).all())
    rows = session.execute(
        select(Station, func.ST_X(Station.geom), func.ST_Y(Station.geom)).order_by(Station.code)
    ).all()
    return [
        {
            "id": s.id,
            "code": s.code,
            "name": s.name,
            "kind": s.kind,
            "agency": s.agency,
            "desa_code": s.desa_code,
            "source": "demo" if s.demo else "real",
            "units": int(counts.get(s.id, 0)),
            "lon": x,
            "lat": y,
        }
        for s, x, y in rows
    ]


# -- demo seed ------------------------------------------------------------------------------------------

# Kecamatan capitals (desa name in the bundled layer) and whether the Barito runs past them.
CAPITALS: tuple[tuple[str, str, str], ...] = (
    ("BTK", "Buntok Kota", "Buntok"),
    ("PDG", "Pendang", "Pendang"),
    ("PTS", "Patas I", "Patas"),
    ("BKG", "Bangkuang", "Bangkuang"),
    ("MKT", "Mengkatip", "Mengkatip"),
    ("RKJ", "Rantau Kujang", "Rantau Kujang"),
)
RIVERSIDE_M = 3000.0

# (code suffix, kind, agency, name, offset east/north metres from the capital's centre so pins do not stack)
_CAPITAL_STATIONS = (
    ("DMK", "damkar", "damkar", "Pos Damkar {town}", (-250.0, 150.0)),
    ("PKM", "puskesmas", "dinkes", "Puskesmas {town}", (200.0, 200.0)),
    ("PLS", "polsek", "polres", "Polsek {kecamatan}", (0.0, -250.0)),
)
_BUNTOK_STATIONS = (
    ("RSUD", "rsud", "rsud", "RSUD Jaraga Sasameh", (450.0, -100.0)),
    ("BPBD", "bpbd", "bpbd", "Kantor BPBD Barito Selatan", (-500.0, -300.0)),
    ("POLRES", "polres", "polres", "Polres Barito Selatan", (300.0, -450.0)),
)
# Units per station kind: (type, agency, travel mode, how many at Buntok, how many elsewhere)
_UNITS = {
    "damkar": (("damkar", "damkar", "road", 2, 1),),
    "puskesmas": (("ambulans", "dinkes", "road", 0, 1),),
    "rsud": (("ambulans", "rsud", "road", 2, 0),),
    "bpbd": (("bpbd", "bpbd", "road", 2, 0), ("perahu", "bpbd", "river", 1, 0)),
    "posko": (("perahu", "bpbd", "river:klotok", 0, 1),),
    "polres": (("polisi", "polres", "road", 2, 0),),
    "polsek": (("polisi", "polres", "road", 1, 1),),
}
# The lower Barito is wide: these posts keep a speedboat, the others a klotok.
_SPEEDBOAT_POSTS = {"MKT", "RKJ"}
_CALLSIGN = {"damkar": "DMK", "ambulans": "AMB", "bpbd": "TRC", "perahu": "PRH", "polisi": "POL"}
_LABEL = {
    "damkar": "Mobil Damkar",
    "ambulans": "Ambulans",
    "bpbd": "TRC BPBD",
    "perahu": "Perahu BPBD",
    "polisi": "Patroli",
}


@dataclass(frozen=True)
class SeedReport:
    """What the demo seed wrote."""

    stations_created: int
    units_created: int
    stations: int
    units: int


def _offset(xy: np.ndarray, dxdy: tuple[float, float]) -> np.ndarray:
    return xy + np.asarray(dxdy)


def demo_plan(layers: Layers) -> tuple[list[dict], list[dict]]:
    """Stations and units of the demo seed (WGS84), computed from the real desa and river layers."""
    names = np.asarray(layers.desa.name, dtype=object)
    kec_names = np.asarray(layers.desa.attrs["kecamatan"], dtype=object)
    want = [c[1] for c in CAPITALS]
    missing = [w for w in want if w not in set(names.tolist())]
    if missing:
        raise ValueError(
            f"Ibu kota kecamatan tidak ada di lapisan desa / capitals missing from the desa layer: {missing}"
        )
    idx = np.array([int(np.flatnonzero(names == w)[0]) for w in want])
    desa_utm = project_geometries(layers.desa.geometry[idx], src=WGS84, dst=UTM50S)
    centre = shapely.get_coordinates(shapely.point_on_surface(desa_utm))
    rivers = project_geometries(np.asarray(layers.rivers.geometry, dtype=object), src=WGS84, dst=UTM50S)
    river = shapely.union_all(rivers) if len(rivers) else None
    stations: list[dict] = []
    for i, (short, _desa, town) in enumerate(CAPITALS):
        kecamatan = str(kec_names[idx[i]])
        plan = list(_CAPITAL_STATIONS) + (list(_BUNTOK_STATIONS) if short == "BTK" else [])
        for suffix, kind, agency, label, dxdy in plan:
            stations.append(
                {
                    "code": f"{suffix}-{short}"
                    if short != "BTK" or kind in ("damkar", "puskesmas", "polsek")
                    else suffix,
                    "name": label.format(town=town, kecamatan=kecamatan),
                    "kind": kind,
                    "agency": agency,
                    "desa_code": str(layers.desa.code[idx[i]]),
                    "xy": _offset(centre[i], dxdy),
                    "buntok": short == "BTK",
                    "town": short,
                }
            )
        near_river = river is not None and shapely.distance(desa_utm[i], river) <= RIVERSIDE_M
        if near_river and short != "BTK":
            # Riverside capitals get a BPBD boat post on the bank.
            jetty = shapely.get_coordinates(shapely.shortest_line(shapely.points(centre[i]), river))[1]
            stations.append(
                {
                    "code": f"PSK-{short}",
                    "name": f"Posko BPBD {town} (dermaga / jetty)",
                    "kind": "posko",
                    "agency": "bpbd",
                    "desa_code": str(layers.desa.code[idx[i]]),
                    "xy": jetty,
                    "buntok": False,
                    "town": short,
                }
            )
    units: list[dict] = []
    counter: dict[tuple[str, str], int] = {}
    for st in stations:
        for utype, agency, mode, n_buntok, n_other in _UNITS[st["kind"]]:
            n = n_buntok if st["buntok"] else n_other
            xy = st["xy"]
            if utype == "perahu" and river is not None:
                # A boat waits at the nearest bank, not in the office car park.
                xy = shapely.get_coordinates(shapely.shortest_line(shapely.points(st["xy"]), river))[1]
            if utype == "perahu" and st["town"] in _SPEEDBOAT_POSTS:
                mode = "river"
            for k in range(1, n + 1):
                counter[utype, st["town"]] = seq = counter.get((utype, st["town"]), 0) + 1
                units.append(
                    {
                        "callsign": f"{_CALLSIGN[utype]}-{st['town']}-{seq}",
                        "name": f"{_LABEL[utype]} {k} — {st['name']}",
                        "type": utype,
                        "agency": agency,
                        "station_code": st["code"],
                        "travel_mode": mode,
                        "xy": xy,
                    }
                )
    every = np.array([s["xy"] for s in stations] + [u["xy"] for u in units])
    lonlat = shapely.get_coordinates(project_geometries(shapely.points(every), src=UTM50S, dst=WGS84))
    for obj, ll in zip(stations + units, lonlat.tolist(), strict=True):
        obj["lon"], obj["lat"] = round(ll[0], 7), round(ll[1], 7)
        del obj["xy"]
    for st in stations:
        del st["buntok"], st["town"]
    return stations, units


def seed_demo_units(session: Session, layers: Layers, *, reset: bool = False, actor: str | None = None) -> SeedReport:
    """Create the demo stations and units (demo=true) at the kecamatan capitals; idempotent by code/callsign.

    Existing demo units keep their status and position unless ``reset`` puts them back at their station,
    tersedia.
    """
    stations, units = demo_plan(layers)
    existing = {s.code: s for s in session.scalars(select(Station))}
    made_st = 0
    for st in stations:
        obj = existing.get(st["code"])
        geom = f"SRID=4326;POINT({st['lon']!r} {st['lat']!r})"
        if obj is None:
            obj = Station(code=st["code"], demo=True)
            session.add(obj)
            made_st += 1
            existing[st["code"]] = obj
        obj.name, obj.kind, obj.agency, obj.desa_code, obj.geom = (
            st["name"],
            st["kind"],
            st["agency"],
            st["desa_code"],
            geom,
        )
    session.flush()
    have = {u.callsign: u for u in session.scalars(select(Unit))}
    now = utcnow()
    made_u = 0
    for u in units:
        unit = have.get(u["callsign"])
        geom = f"SRID=4326;POINT({u['lon']!r} {u['lat']!r})"
        if unit is None:
            unit = Unit(callsign=u["callsign"], demo=True, status="tersedia", version=1, geom=geom, position_at=now,
                        status_at=now)
            session.add(unit)
            made_u += 1
        elif reset:
            unit.status, unit.geom, unit.position_at, unit.version = "tersedia", geom, now, unit.version + 1
            unit.status_at = now
        unit.name, unit.type, unit.agency, unit.travel_mode = u["name"], u["type"], u["agency"], u["travel_mode"]
        unit.station_id = existing[u["station_code"]].id
    session.flush()
    if reset:
        # Units put back at their posts leave the calls they were on (an open assignment would hold them).
        session.execute(
            text("UPDATE dispatch_assignment SET released_at = :now, released_by = :actor, status = 'dilepas', "
                 "release_reason = 'demo direset / demo reset' "
                 "WHERE released_at IS NULL AND unit_id IN (SELECT id FROM unit WHERE demo)")
            .bindparams(bindparam("now", type_=UTCDateTime)),
            {"now": now, "actor": actor},
        )
    record_audit(
        session,
        actor=actor,
        action="seed_demo_units",
        entity="unit",
        entity_id=None,
        after={"stations_created": made_st, "units_created": made_u, "reset": reset},
    )
    return SeedReport(made_st, made_u, len(stations), len(units))


def stale_cutoff(now: datetime, minutes: int) -> datetime:
    """Positions older than this are stale."""
    return now - timedelta(minutes=minutes)

"""store.incidents on both backends: numbering, lifecycle, optimistic locking, duplicates, merge."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from geo.crs import to_utm, to_wgs84
from geo.times import format_wib
from store.accounts import AuditRecord
from store.events import EventHub
from store.incidents import (
    Call,
    Incident,
    IncidentFilter,
    IncidentTransition,
    StaleVersionError,
    create_incident,
    find_duplicates,
    intervals_of,
    list_incidents,
    merge_incidents,
    record_call,
    transition,
)
from store.lifecycle import IllegalTransitionError
from tests.conftest import events_while

BUNTOK = (114.85, -1.71)
T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
FORWARD = ["diverifikasi", "dikirim", "menuju_lokasi", "tiba", "selesai", "ditutup"]


def offset(point: tuple[float, float], *, east_m: float = 0.0, north_m: float = 0.0) -> tuple[float, float]:
    """A point `east_m`/`north_m` metres away in UTM 50S."""
    x, y = to_utm(point[0], point[1])
    lon, lat = to_wgs84(x + east_m, y + north_m)
    return float(lon), float(lat)


def make(session, *, category: str = "kebakaran", point=BUNTOK, at: datetime = T0) -> Incident:
    lon, lat = point if point is not None else (None, None)
    return create_incident(
        session,
        category=category,
        actor="t-dispatcher",
        lon=lon,
        lat=lat,
        location_source="coordinates" if point else None,
        location={"inside_regency": True} if point else None,
        at=at,
    )


def test_create_numbers_states_and_utc(db) -> None:
    with db.sessions() as s:
        a = make(s)
        b = make(s, point=None, at=T0 + timedelta(minutes=1))
        late = make(s, at=datetime(2026, 11, 29, 17, 30, tzinfo=UTC))  # 00:30 WIB on the 30th
        s.commit()
        ids = (a.id, b.id, late.id)
    with db.sessions() as s:
        a, b, late = (s.get(Incident, i) for i in ids)
        assert a.number == "112-20261129-0001" and b.number == "112-20261129-0002"
        assert late.number == "112-20261130-0001"
        assert (a.status, b.status) == ("baru", "perlu_lokasi")
        assert a.created_at == T0 and a.created_at.tzinfo is not None
        assert format_wib(a.created_at) == "29-11-2026 15:00 WIB"
        assert b.geom is None and b.lon is None
        assert [t.status for t in a.transitions] == ["baru"]
        assert a.version == 1


def test_full_lifecycle_and_intervals(db) -> None:
    with db.sessions() as s:
        inc = make(s)
        for i, state in enumerate(FORWARD, start=1):
            transition(s, inc, state, actor="t-dispatcher", version=inc.version, at=T0 + timedelta(minutes=i * 5))
        s.commit()
        iid = inc.id
    with db.sessions() as s:
        inc = s.get(Incident, iid)
        assert [t.status for t in inc.transitions] == ["baru", *FORWARD]
        assert inc.status == "ditutup" and inc.version == 1 + len(FORWARD)
        assert intervals_of(inc) == {
            "call_to_dispatch_s": 600.0,
            "dispatch_to_scene_s": 600.0,
            "call_to_resolved_s": 1500.0,
        }
        with pytest.raises(IllegalTransitionError) as err:
            transition(s, inc, "batal", actor="x")
        assert err.value.allowed == ()


@pytest.mark.parametrize("steps", range(0, 5))
def test_cancel_from_every_open_state(db, steps: int) -> None:
    with db.sessions() as s:
        inc = make(s)
        for state in FORWARD[:steps]:
            transition(s, inc, state, actor="a")
        transition(s, inc, "batal", actor="a", note="salah sambung")
        s.commit()
        assert inc.status == "batal"
        assert inc.transitions[-1].note == "salah sambung"


def test_illegal_transition_names_allowed_and_writes_nothing(db) -> None:
    with db.sessions() as s:
        inc = make(s)
        s.commit()
        with pytest.raises(IllegalTransitionError) as err:
            transition(s, inc, "tiba", actor="a")
        assert [a.value for a in err.value.allowed] == ["diverifikasi", "batal"]
        s.rollback()
        n = s.scalar(select(text("count(*)")).select_from(IncidentTransition))
        assert n == 1 and s.get(Incident, inc.id).status == "baru"


def test_concurrent_update_one_wins(db) -> None:
    with db.sessions() as s:
        iid = make(s).id
        s.commit()
    with db.sessions() as s1, db.sessions() as s2:
        a = s1.get(Incident, iid)
        s1.commit()  # end the read transaction (SQLite takes the write lock at BEGIN); keep the object
        b = s2.get(Incident, iid)
        s2.commit()
        assert a.version == b.version == 1
        transition(s1, a, "diverifikasi", actor="operator-a", version=1)
        s1.commit()
        # B still holds version 1 in memory and passes its own check; the UPDATE ... WHERE version = 1 fails.
        with pytest.raises(StaleVersionError):
            transition(s2, b, "batal", actor="operator-b", version=1)
        s2.rollback()
    with db.sessions() as s:
        inc = s.get(Incident, iid)
        assert inc.status == "diverifikasi" and inc.version == 2
        assert [t.actor for t in inc.transitions] == ["t-dispatcher", "operator-a"]


def test_stale_version_refused_before_writing(db) -> None:
    with db.sessions() as s:
        inc = make(s)
        transition(s, inc, "diverifikasi", actor="a")
        with pytest.raises(StaleVersionError):
            transition(s, inc, "dikirim", actor="a", version=1)
        assert inc.status == "diverifikasi"


def test_duplicates_within_500m_and_30min(db) -> None:
    with db.sessions() as s:
        first = make(s)
        make(s, point=offset(BUNTOK, east_m=2000))  # far away
        make(s, category="banjir", point=offset(BUNTOK, east_m=50))  # other category
        make(s, at=T0 - timedelta(minutes=45))  # too old
        closed = make(s, point=offset(BUNTOK, north_m=30))
        transition(s, closed, "batal", actor="a")
        s.commit()
        near = offset(BUNTOK, east_m=300, north_m=300)  # 424 m
        dup = make(s, point=near, at=T0 + timedelta(minutes=20))
        assert [d["id"] for d in dup.possible_duplicates] == [first.id]
        d = dup.possible_duplicates[0]
        assert d["distance_m"] == pytest.approx(424.3, abs=0.5)
        assert d["minutes_apart"] == pytest.approx(20.0)
        assert d["number"] == first.number
        assert make(s, point=offset(BUNTOK, east_m=-520), at=T0 + timedelta(minutes=5)).possible_duplicates == []
        assert make(s, at=T0 + timedelta(minutes=31)).possible_duplicates[0]["id"] == dup.id
        assert find_duplicates(s, category="kebakaran", lon=near[0], lat=near[1], at=T0 + timedelta(minutes=70)) == []
        assert make(s, point=None).possible_duplicates == []


def test_merge_keeps_both_histories(db) -> None:
    with db.sessions() as s:
        keep, dup = make(s), make(s, point=offset(BUNTOK, east_m=100))
        transition(s, dup, "diverifikasi", actor="a")
        merge_incidents(s, keep=keep, duplicate=dup, actor="b")
        s.commit()
        ids = keep.id, dup.id
    with db.sessions() as s:
        keep, dup = (s.get(Incident, i) for i in ids)
        assert dup.status == "batal" and dup.merged_into_id == keep.id
        assert [t.status for t in dup.transitions] == ["baru", "diverifikasi", "batal"]
        assert keep.number in dup.transitions[-1].note
        assert [t.status for t in keep.transitions] == ["baru"] and keep.status == "baru"
        with pytest.raises(ValueError):
            merge_incidents(s, keep=dup, duplicate=keep, actor="b")


def test_list_filters_and_pages(db) -> None:
    with db.sessions() as s:
        for i in range(5):
            make(s, at=T0 + timedelta(minutes=i), point=offset(BUNTOK, east_m=1000 * i))
        make(s, category="banjir", at=T0 + timedelta(hours=2))
        s.commit()
        total, page = list_incidents(s, IncidentFilter(categories=("kebakaran",)), limit=2, offset=1)
        assert total == 5 and [p.created_at for p in page] == [T0 + timedelta(minutes=3), T0 + timedelta(minutes=2)]
        lon1, _ = offset(BUNTOK, east_m=1500)
        total, _ = list_incidents(s, IncidentFilter(bbox=(lon1, -1.8, 115.0, -1.6)))
        assert total == 3
        total, _ = list_incidents(s, IncidentFilter(since=T0 + timedelta(hours=1)))
        assert total == 1


def test_point_has_spatial_index(db) -> None:
    with db.engine.connect() as conn:
        if db.backend == "postgis":
            sql = "SELECT count(*) FROM pg_indexes WHERE tablename = 'incident' AND indexdef ILIKE '%gist%'"
        else:
            sql = (
                "SELECT count(*) FROM geometry_columns WHERE f_table_name = 'incident' "
                "AND f_geometry_column = 'geom' AND spatial_index_enabled = 1"
            )
        assert conn.execute(text(sql)).scalar_one() == 1


def _call(point=BUNTOK, category: str = "kebakaran") -> Call:
    lon, lat = point
    return Call(category=category, actor="t-dispatcher", description="<b>api</b>", lon=lon, lat=lat,
                location_source="coordinates", location={"inside_regency": True, "desa": {"code": "62.04.01.1001"}})


def _record_each(db, calls: list[Call], *, client: str) -> Callable[[EventHub], list]:
    def write(hub: EventHub) -> list:
        done = []
        for call in calls:
            with db.sessions() as session:
                done.append(record_call(session, call=call, hub=hub, client=client, at=T0))
        return done

    return write


def test_record_call_writes_incident_history_audit_and_event(db) -> None:
    calls = [_call(), _call(offset(BUNTOK, east_m=200))]
    done, events = asyncio.run(events_while(db, _record_each(db, calls, client="10.0.0.7")))
    first, second = done
    assert (first.number, second.number) == ("112-20261129-0001", "112-20261129-0002")
    assert [t.status for t in second.transitions] == ["baru"] and second.transitions[0].id is not None
    # The second call is 200 m from the first, same category, same minute: flagged, with the distance.
    assert [d["id"] for d in second.possible_duplicates] == [first.id]
    assert abs(second.possible_duplicates[0]["distance_m"] - 200) < 5
    with db.sessions() as s:
        stored = s.get(Incident, second.id)
        assert stored.number == second.number and stored.desa_code == "62.04.01.1001"
        assert stored.description == "<b>api</b>" and stored.version == 1
        assert s.scalar(select(func.ST_X(Incident.geom)).where(Incident.id == second.id)) == pytest.approx(second.lon)
        steps = s.scalars(select(IncidentTransition).where(IncidentTransition.incident_id == second.id)).all()
        assert [(t.id, t.status, t.actor) for t in steps] == [(second.transitions[0].id, "baru", "t-dispatcher")]
        # The audit log is append-only and outlives each test's incidents: pick this call's records by client.
        audit = s.scalars(
            select(AuditRecord).where(
                AuditRecord.entity == "incident",
                AuditRecord.entity_id == str(second.id),
                AuditRecord.client == "10.0.0.7",
            )
        ).all()
        assert [(a.action, a.actor, a.client) for a in audit] == [("incident.create", "t-dispatcher", "10.0.0.7")]
        assert audit[0].after["number"] == second.number and audit[0].before is None
    assert [(e["kind"], e["data"]["id"], e["data"]["number"]) for e in events] == [
        ("incident.created", first.id, first.number),
        ("incident.created", second.id, second.number),
    ]


def test_record_call_numbers_stay_unique_under_concurrent_calls(db) -> None:
    hub = EventHub(db.engine)

    def one(i: int) -> str:
        with db.sessions() as session:
            return record_call(session, call=_call(offset(BUNTOK, east_m=50 * i)), hub=hub, client=None, at=T0).number

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(one, range(40)))
    assert sorted(numbers) == [f"112-20261129-{n:04d}" for n in range(1, 41)]
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 40
        assert s.scalar(select(func.count()).select_from(IncidentTransition)) == 40


def test_record_call_joins_a_transaction_the_session_already_has(db) -> None:
    hub = EventHub(db.engine)
    with db.sessions() as s:
        s.execute(text("SELECT 1"))  # the caller has begun a transaction: the call is written inside it
        assert s.in_transaction()
        incident = record_call(s, call=Call(category="kebakaran", actor="t"), hub=hub, client=None, at=T0)
        assert incident.status == "perlu_lokasi" and incident.number == "112-20261129-0001"
    with db.sessions() as s:
        assert s.get(Incident, incident.id).status == "perlu_lokasi"
        assert s.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.entity == "incident", AuditRecord.entity_id == str(incident.id))
        )

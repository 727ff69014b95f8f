"""The per-number call summary (migration 0035) on both backends: whatever writes a call (the desk, a retype,
the PBX in any order, an AML SMS, a delete, many writers at once), the summary equals counting the calls."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, delete, func, select, text

from geo.times import as_utc, utcnow
from store.calls import CALL_TYPES, CallerSummary, PhoneCall, caller_history
from store.commands import Writer
from store.commands.calls import CallIn, PbxEvent, aml_sms, record, telephony_event, update_call
from store.db import make_engine
from store.events import EventHub
from store.migrate import upgrade
from tests.conftest import BACKENDS, make_test_database

AML = 'A"ML=1;lt=-1.71234;lg=+114.84567;rd=25;top=20261129081530;lc=68;pm=G'


def _writer(db, actor: str = "op1") -> Writer:
    return Writer(sessions=db.sessions, hub=EventHub(db.engine), lock=None, actor=actor, client="10.0.0.1")


def _counted(conn) -> dict[str, tuple]:
    """What the summary must say, counted from the calls: total, untyped, each type, first and last."""
    c = PhoneCall.__table__.c
    cols = [func.count(), func.sum((c.type.is_(None)).cast(Integer()))]
    cols += [func.sum((c.type == t).cast(Integer())) for t in CALL_TYPES]
    rows = conn.execute(select(c.caller_number, *cols, func.min(c.at), func.max(c.at))
                        .where(c.caller_number.is_not(None)).group_by(c.caller_number)).all()
    return {r[0]: (*(int(v or 0) for v in r[1:-2]), _t(r[-2]), _t(r[-1])) for r in rows}


def _t(value: datetime | str | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _summary(conn) -> dict[str, tuple]:
    s = CallerSummary.__table__.c
    cols = [s.total, s.n_belum, *(s[f"n_{t}"] for t in CALL_TYPES)]
    rows = conn.execute(select(s.number, *cols, s.first_at, s.last_at).where(s.total > 0)).all()
    return {r[0]: (*(int(v) for v in r[1:-2]), _t(r[-2]), _t(r[-1])) for r in rows}


def _assert_summary_is_counted(db) -> None:
    with db.engine.connect() as conn:
        assert _summary(conn) == _counted(conn)


def test_every_way_of_writing_a_call_keeps_the_summary_exact(db) -> None:
    w = _writer(db)
    t0 = utcnow() - timedelta(hours=1)
    a, b = "0812 1111 2222", "+62 813 3333 4444"
    ids = [record(w, CallIn(type=kind, number=a, at=t0 + timedelta(minutes=i)))["id"]
           for i, kind in enumerate(["iseng", "iseng", "ghost", "informasi"])]
    record(w, CallIn(type="salah_sambung", number=b, at=t0))
    record(w, CallIn(type="uji", number="nomor rahasia"))  # unreadable: kept raw, summarised under that key
    record(w, CallIn(type="iseng", number=None))  # no number: no summary row
    _assert_summary_is_counted(db)
    # Retyped: the count moves from one type to the other.
    update_call(w, ids[0], type="darurat")
    _assert_summary_is_counted(db)
    # The PBX: a ring whose number arrives later, then an earlier event with another number (out of order).
    telephony_event(w, PbxEvent("ringing", "pbx-1", t0 + timedelta(minutes=30)))
    telephony_event(w, PbxEvent("answered", "pbx-1", t0 + timedelta(minutes=31), number=a, extension="201"))
    _assert_summary_is_counted(db)
    telephony_event(w, PbxEvent("ringing", "pbx-1", t0 + timedelta(minutes=29), number=b))
    _assert_summary_is_counted(db)
    telephony_event(w, PbxEvent("hangup", "pbx-1", t0 + timedelta(minutes=33)))
    telephony_event(w, PbxEvent("hangup", "pbx-2", t0 + timedelta(minutes=40)))  # orphan: no call
    telephony_event(w, PbxEvent("ringing", "pbx-3", t0 + timedelta(minutes=41), number=a))
    telephony_event(w, PbxEvent("hangup", "pbx-3", t0 + timedelta(minutes=42)))  # missed: typed by the PBX
    _assert_summary_is_counted(db)
    # The first call of `a` goes (deleted by hand): its first call time moves to the next one.
    with db.sessions() as s:
        s.execute(delete(PhoneCall.__table__).where(PhoneCall.id == ids[0]))
        s.commit()
    _assert_summary_is_counted(db)
    with db.sessions() as s:
        h = caller_history(s, a, at=utcnow())
    with db.engine.connect() as conn:
        counted = _counted(conn)["+6281211112222"]
    assert h["total"] == counted[0] and h["prank_count"] == counted[2 + CALL_TYPES.index("iseng")]
    assert (h["first_at"], h["last_at"]) == (counted[-2], counted[-1])


def test_an_aml_fix_is_the_numbers_last_location_until_a_newer_one(db) -> None:
    w = _writer(db)
    now = utcnow()
    record(w, CallIn(type="informasi", number="0812 5555 6666", at=now - timedelta(minutes=2)))
    aml_sms(w, number="0812 5555 6666", text_=AML, at=now)
    with db.sessions() as s:
        row = s.get(CallerSummary, "+6281255556666")
        h = caller_history(s, "+6281255556666", at=utcnow())
    assert (row.lon, row.lat, row.accuracy_m, row.location_source) == (114.84567, -1.71234, 25, "aml")
    assert h["last_location"]["source"] == "aml" and h["last_location"]["lon"] == 114.84567
    # An older fix (of an older call) does not replace it.
    record(w, CallIn(type="iseng", number="0812 5555 6666", at=now - timedelta(days=3)))
    aml_sms(w, number="0812 5555 6666", text_=AML.replace("lt=-1.71234", "lt=-1.80000"),
            at=now - timedelta(days=3))
    with db.sessions() as s:
        assert s.get(CallerSummary, "+6281255556666").lat == -1.71234
    _assert_summary_is_counted(db)


def test_concurrent_writers_of_one_number_lose_no_count(db) -> None:
    """Twenty operators, each in transactions of their own, recording calls from the same number at once."""
    lock = threading.Lock() if db.backend == "spatialite" else None
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def operator(k: int) -> None:
        w = Writer(sessions=db.sessions, hub=EventHub(db.engine), lock=lock, actor=f"op{k}")
        start.wait()
        try:
            for i in range(10):
                record(w, CallIn(type=("iseng", "ghost")[i % 2], number="0812 7777 8888"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=operator, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.sessions() as s:
        row = s.get(CallerSummary, "+6281277778888")
    assert (row.total, row.n_iseng, row.n_ghost) == (200, 100, 100)
    _assert_summary_is_counted(db)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_summarises_the_calls_already_stored(backend: str, tmp_path) -> None:
    url, drop = make_test_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        upgrade(engine, revision="0021_call_desk")
        at = datetime(2026, 11, 1, 1, 2, 3, tzinfo=UTC)
        with engine.begin() as conn:
            for i, (number, kind) in enumerate([("+6281200000001", "iseng"), ("+6281200000001", None),
                                                ("+6281200000002", "ghost"), (None, "uji")]):
                conn.execute(text(
                    "INSERT INTO phone_call (at, caller_number, number_ok, type, state, source, callback_attempts, "
                    "updated_at, lon, lat, location_at) VALUES (:at, :n, true, :t, 'selesai', 'desk', 0, :at, "
                    ":lon, :lat, :at)"),
                    {"at": at + timedelta(minutes=i), "n": number, "t": kind,
                     "lon": 114.8 if i == 1 else None, "lat": -1.7 if i == 1 else None})
        upgrade(engine)
        with engine.connect() as conn:
            assert _summary(conn) == _counted(conn)
            assert set(_summary(conn)) == {"+6281200000001", "+6281200000002"}
            loc = conn.execute(select(CallerSummary.lon, CallerSummary.lat)
                               .where(CallerSummary.number == "+6281200000001")).one()
        assert tuple(loc) == (114.8, -1.7)
    finally:
        engine.dispose()
        drop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_incidents_left_without_a_call_get_one(backend: str, tmp_path) -> None:
    """Migration 0036: an incident stored with no call (another client's POST before this fix) gets its call."""
    url, drop = make_test_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        upgrade(engine, revision="0035_caller_summary")
        at = datetime(2026, 12, 1, 1, 2, 3, tzinfo=UTC)
        with engine.begin() as conn:
            for id_, phone in ((41, "0812-9000-1000"), (42, None), (43, "=cmd|x")):
                conn.execute(text(
                    "INSERT INTO incident (id, number, category, status, caller_phone, created_by, version, "
                    "created_at, updated_at) VALUES (:id, :n, 'medis', 'perlu_lokasi', :p, 'op9', 1, :at, :at)"
                ), {"id": id_, "n": f"112-20261201-{id_:04d}", "p": phone, "at": at})
            conn.execute(text(
                "INSERT INTO phone_call (at, number_ok, type, incident_id, state, source, callback_attempts, "
                "updated_at) VALUES (:at, false, 'darurat', 42, 'selesai', 'desk', 0, :at)"), {"at": at})
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT incident_id, caller_number, operator, source FROM phone_call "
                                     "ORDER BY incident_id")).all()
            assert _summary(conn) == _counted(conn)
        assert [tuple(r) for r in rows] == [(41, "+6281290001000", "op9", "migrasi"), (42, None, None, "desk"),
                                            (43, "=cmd|x", "op9", "migrasi")]
    finally:
        engine.dispose()
        drop()

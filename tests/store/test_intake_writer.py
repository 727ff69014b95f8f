"""Group commit of calls on both backends: batches, order, duplicates inside a batch, one bad call, the key."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from geo.crs import to_utm, to_wgs84
from store.accounts import AuditRecord
from store.events import EventHub
from store.incidents import Call, Incident, duplicate_key, find_duplicates, record_calls, set_location
from store.intake import CallWriter
from tests.conftest import events_while
from tests.waiting import wait_until

BUNTOK = (114.85, -1.71)
T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def offset(point: tuple[float, float], *, east_m: float = 0.0) -> tuple[float, float]:
    x, y = to_utm(point[0], point[1])
    lon, lat = to_wgs84(x + east_m, y)
    return float(lon), float(lat)


def call(point: tuple[float, float] | None = BUNTOK, *, category: str = "kebakaran", at: datetime = T0,
         location: dict | None = None) -> Call:
    lon, lat = point if point is not None else (None, None)
    return Call(category=category, actor="t-dispatcher", lon=lon, lat=lat, client="10.0.0.9", at=at,
                location_source="coordinates" if point else None,
                location=location if location is not None else ({"inside_regency": True} if point else None))


def _record_batch(db, calls: list[Call]) -> Callable[[EventHub], list]:
    def write(hub: EventHub) -> list:
        with db.sessions() as session:
            return record_calls(session, calls, hub=hub)

    return write


def test_a_batch_is_numbered_in_order_and_sees_its_own_duplicates(db) -> None:
    batch = [
        call(),
        call(offset(BUNTOK, east_m=200), at=T0 + timedelta(minutes=2)),
        call(offset(BUNTOK, east_m=100), category="banjir"),
        call(None),
        call(offset(BUNTOK, east_m=5000)),
    ]
    with db.sessions() as s:  # the audit log is append-only across tests: only what this batch adds counts
        mark = s.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))
    stored, events = asyncio.run(events_while(db, _record_batch(db, batch)))
    assert [s.number for s in stored] == [f"112-20261129-{n:04d}" for n in range(1, 6)]
    first, second, other, unlocated, far = stored
    # The second call is 200 m from the first one of the same batch: flagged, with its number and distance.
    assert [(d["id"], d["number"]) for d in second.possible_duplicates] == [(first.id, first.number)]
    assert abs(second.possible_duplicates[0]["distance_m"] - 200) < 5
    assert second.possible_duplicates[0]["minutes_apart"] == pytest.approx(2.0)
    assert first.possible_duplicates == other.possible_duplicates == unlocated.possible_duplicates == []
    assert far.possible_duplicates == [] and unlocated.status == "perlu_lokasi"
    assert [e["data"]["number"] for e in events] == [s.number for s in stored]
    with db.sessions() as s:
        rows = {i.id: i for i in s.scalars(select(Incident)).all()}
        assert set(rows) == {x.id for x in stored}
        assert rows[second.id].possible_duplicates == second.possible_duplicates
        assert rows[unlocated.id].duplicate_key is None
        assert rows[first.id].duplicate_key == duplicate_key(category="kebakaran", lon=BUNTOK[0], lat=BUNTOK[1], at=T0)
        audited = s.execute(
            select(AuditRecord.action, AuditRecord.entity_id, AuditRecord.client).where(AuditRecord.id > mark)
        ).all()
        # One record each, no more, no fewer, with who entered the call from where.
        assert sorted(map(tuple, audited)) == sorted(("incident.create", str(x.id), "10.0.0.9") for x in stored)


def test_a_later_batch_finds_a_stored_call_and_skips_closed_or_merged_ones(db) -> None:
    hub = EventHub(db.engine)
    with db.sessions() as s:
        stored, closed = record_calls(s, [call(), call(offset(BUNTOK, east_m=400))], hub=hub)
    with db.sessions() as s:
        s.execute(text("UPDATE incident SET status = 'ditutup' WHERE id = :id"), {"id": closed.id})
        s.commit()
    with db.sessions() as s:
        [again] = record_calls(s, [call(offset(BUNTOK, east_m=250), at=T0 + timedelta(minutes=29))], hub=hub)
    assert [d["id"] for d in again.possible_duplicates] == [stored.id]
    with db.sessions() as s:
        # Outside the half hour on either side: nothing.
        def near_buntok(minutes: int) -> list[int]:
            found = find_duplicates(s, category="kebakaran", lon=BUNTOK[0], lat=BUNTOK[1],
                                    at=T0 + timedelta(minutes=minutes))
            return [d["id"] for d in found]

        assert near_buntok(61) == []
        assert near_buntok(45) == [again.id]


def test_the_key_follows_an_edited_category_and_point(db) -> None:
    hub = EventHub(db.engine)
    with db.sessions() as s:
        [stored] = record_calls(s, [call()], hub=hub)
    moved = offset(BUNTOK, east_m=3000)
    with db.sessions() as s:
        incident = s.get(Incident, stored.id)
        incident.category = "banjir"
        set_location(incident, lon=moved[0], lat=moved[1], accuracy_m=10, source="coordinates", location={})
        s.commit()
    with db.sessions() as s:
        assert s.get(Incident, stored.id).duplicate_key == duplicate_key(
            category="banjir", lon=moved[0], lat=moved[1], at=T0
        )
        found = find_duplicates(s, category="banjir", lon=moved[0], lat=moved[1], at=T0)
        assert [d["id"] for d in found] == [stored.id]
        assert find_duplicates(s, category="kebakaran", lon=BUNTOK[0], lat=BUNTOK[1], at=T0) == []


@pytest.fixture
def gated_writer(db) -> Iterator[tuple[CallWriter, threading.Lock]]:
    """A running call writer whose every batch waits at a gate the test holds; stopped afterwards."""
    gate = threading.Lock()
    writer = CallWriter(sessions=db.sessions, hub=EventHub(db.engine), lock=gate)
    writer.start()
    try:
        yield writer, gate
    finally:
        writer.stop()


def test_the_writer_batches_what_queued_and_keeps_arrival_order(db, gated_writer) -> None:
    writer, gate = gated_writer
    with gate:
        # The writer takes the first call and waits at the gate while the other nine queue up.
        futures = [writer.submit(call())]
        wait_until(futures[0].running, timeout=30, message="the writer did not take the first call")
        futures += [writer.submit(call(offset(BUNTOK, east_m=3000 * i))) for i in range(1, 10)]
    numbers = [f.result(timeout=30).number for f in futures]
    assert numbers == [f"112-20261129-{n:04d}" for n in range(1, 11)]
    assert (writer.batches, writer.written) == (2, 10)
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 10


def test_one_bad_call_fails_alone_and_its_batch_neighbours_are_stored(db, gated_writer) -> None:
    writer, gate = gated_writer
    with gate:
        first = writer.submit(call())
        wait_until(first.running, timeout=30, message="the writer did not take the first call")
        # An answer the JSON column cannot hold fails the whole batch; each call is then written alone.
        batch = [writer.submit(call(offset(BUNTOK, east_m=3000 * i))) for i in range(1, 3)]
        bad = writer.submit(call(location={"not json": object()}))
        batch.append(writer.submit(call(offset(BUNTOK, east_m=9000))))  # all four queued: one batch
    first.result(timeout=30)
    stored = [f.result(timeout=30) for f in batch]
    with pytest.raises(Exception, match="object"):
        bad.result(timeout=30)
    with db.sessions() as s:
        ids = set(s.scalars(select(Incident.id)).all())
    assert ids == {first.result().id, *(x.id for x in stored)}
    numbers = [x.number for x in [first.result(), *stored]]
    if db.backend == "spatialite":
        # The failed batch's numbers were rolled back with it: the day's sequence has no gap.
        assert numbers == [f"112-20261129-{n:04d}" for n in range(1, 5)]
    else:
        # PostgreSQL draws outside the batch's transaction (the counter row is not held while it runs):
        # the failed batch leaves a gap, and the numbers stay unique and in order.
        assert numbers == sorted(set(numbers)) and numbers[0] == "112-20261129-0001"


def test_a_stopped_writer_refuses_new_calls(db) -> None:
    writer = CallWriter(sessions=db.sessions, hub=EventHub(db.engine))
    writer.start()
    done = writer.submit(call())
    writer.stop()
    assert done.result(timeout=5).number == "112-20261129-0001"
    with pytest.raises(RuntimeError):
        writer.submit(call())


def test_a_batch_never_holds_more_than_max_batch_calls(db) -> None:
    gate = threading.Lock()
    writer = CallWriter(sessions=db.sessions, hub=EventHub(db.engine), lock=gate, max_batch=3)
    writer.start()
    try:
        with gate:
            futures = [writer.submit(call())]
            wait_until(futures[0].running, timeout=30, message="the writer did not take the first call")
            futures += [writer.submit(call(offset(BUNTOK, east_m=3000 * i))) for i in range(1, 8)]
        numbers = [f.result(timeout=30).number for f in futures]
    finally:
        writer.stop()
    assert numbers == [f"112-20261129-{n:04d}" for n in range(1, 9)]
    # The first call alone, then the seven that queued behind the gate in batches of at most three: 3, 3, 1.
    assert (writer.batches, writer.written) == (4, 8)


def test_stop_writes_every_call_still_queued_before_it_returns(db) -> None:
    gate = threading.Lock()
    writer = CallWriter(sessions=db.sessions, hub=EventHub(db.engine), lock=gate)
    writer.start()
    with gate:
        first = writer.submit(call())
        wait_until(first.running, timeout=30, message="the writer did not take the first call")
        queued = [writer.submit(call(offset(BUNTOK, east_m=3000 * i))) for i in range(1, 4)]
        stopping = threading.Thread(target=writer.stop)
        stopping.start()
        wait_until(lambda: writer._closed, timeout=30, message="stop() did not begin")
    stopping.join(timeout=60)
    assert not stopping.is_alive()
    # When stop() has returned, the queued calls are stored, not dropped.
    assert all(f.done() for f in [first, *queued])
    assert [f.result().number for f in [first, *queued]] == [f"112-20261129-{n:04d}" for n in range(1, 5)]
    with pytest.raises(RuntimeError, match="not running"):
        writer.submit(call())


def test_a_writer_never_started_refuses_calls_instead_of_losing_them(db) -> None:
    writer = CallWriter(sessions=db.sessions, hub=EventHub(db.engine))
    with pytest.raises(RuntimeError, match="the call writer is not running"):
        writer.submit(call())


def test_a_bad_call_alone_or_beside_one_other_gets_its_error_and_the_writer_goes_on(db, gated_writer) -> None:
    writer, gate = gated_writer
    # Alone: the caller's request gets the error; the writer thread survives it and writes the next call.
    alone = writer.submit(call(location={"not json": object()}))
    with pytest.raises(Exception, match="object"):
        alone.result(timeout=30)
    after = writer.submit(call())
    # (PostgreSQL draws the number outside the failed transaction, so there it may leave a gap.)
    assert after.result(timeout=30).number.startswith("112-20261129-")
    # In a batch of two: the bad one fails, its neighbour is stored.
    with gate:
        first = writer.submit(call(offset(BUNTOK, east_m=3000)))
        wait_until(first.running, timeout=30, message="the writer did not take the first call")
        bad = writer.submit(call(location={"not json": object()}))
        good = writer.submit(call(offset(BUNTOK, east_m=6000)))
    first.result(timeout=30)
    with pytest.raises(Exception, match="object"):
        bad.result(timeout=30)
    assert good.result(timeout=30).id is not None
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 3


def test_a_failed_batch_is_logged_with_its_error_on_a_named_daemon_thread(db, gated_writer, caplog) -> None:
    """What an operator sees: the warning names the batch size and the error; the writer is findable in a thread
    dump by its name and never keeps a dying process alive (daemon)."""
    writer, gate = gated_writer
    threads = [t for t in threading.enumerate() if t.name == "sigap-call-writer"]
    assert threads and all(t.daemon for t in threads)
    with caplog.at_level("WARNING", logger="sigap.intake"), gate:
        first = writer.submit(call())
        wait_until(first.running, timeout=30, message="the writer did not take the first call")
        bad = writer.submit(call(location={"not json": object()}))
        good = writer.submit(call(offset(BUNTOK, east_m=6000)))
    with pytest.raises(Exception, match="object"):
        bad.result(timeout=30)
    good.result(timeout=30)
    warnings = [r.getMessage() for r in caplog.records if r.name == "sigap.intake"]
    assert len(warnings) == 1 and warnings[0].startswith("batch of 2 calls failed ("), warnings
    assert "object" in warnings[0] and warnings[0].endswith("); writing them one by one")

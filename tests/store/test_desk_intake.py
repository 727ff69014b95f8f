"""The desk's group-commit writer on both backends: calls queued together are stored together, in order, each
with its audit entry; one bad call (an unknown incident) fails alone, never the calls beside it."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, select

from geo.errors import NotFound
from store.accounts import AuditRecord
from store.calls import PhoneCall
from store.commands.calls import CallIn, DeskCall, record_desk_calls
from store.desk_intake import DeskCallWriter
from store.events import EventHub
from tests.conftest import events_while


def test_queued_calls_are_written_in_batches_and_a_bad_one_fails_alone(db) -> None:
    lock = threading.Lock() if db.backend == "spatialite" else None
    writer = DeskCallWriter(sessions=db.sessions, hub=EventHub(db.engine), lock=lock)
    with db.sessions() as s:
        mark = s.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))
    writer.start()
    try:
        # Held lock: everything submitted meanwhile queues, and goes in one batch (SQLite) once it is released.
        futures = []
        hold = lock or threading.Lock()
        with hold:
            for i in range(30):
                bad = i == 7
                futures.append(writer.submit(DeskCall(
                    CallIn(type="iseng", number=f"0812 3456 {i:04d}", incident_id=999_999 if bad else None),
                    actor=f"op{i % 3}")))
        results = []
        for i, f in enumerate(futures):
            if i == 7:
                with pytest.raises(NotFound):
                    f.result(timeout=30)
            else:
                results.append(f.result(timeout=30))
    finally:
        writer.stop()
    assert [r["caller_raw"] for r in results] == [f"0812 3456 {i:04d}" for i in range(30) if i != 7]
    assert [r["operator"] for r in results] == [f"op{i % 3}" for i in range(30) if i != 7]
    ids = [r["id"] for r in results]
    assert ids == sorted(ids) and len(set(ids)) == 29
    with db.sessions() as s:
        stored = s.scalars(select(PhoneCall.id).order_by(PhoneCall.id)).all()
        audits = s.scalars(select(AuditRecord.entity_id).where(AuditRecord.id > mark,
                                                              AuditRecord.action == "call.create")).all()
    assert stored == ids and sorted(map(int, audits)) == ids
    assert writer.written == 29


def test_each_stored_desk_call_is_announced(db) -> None:
    """One NOTIFY per call (pipelined on PostgreSQL), delivered after the batch's commit."""

    def write(hub: EventHub) -> list[dict]:
        with db.sessions() as s:
            return record_desk_calls(s, [DeskCall(CallIn(type="ghost", number=f"0525 2123{i}"), "op1")
                                         for i in range(3)], hub=hub)

    rows, events = asyncio.run(events_while(db, write))
    created = [e["data"] for e in events if e["kind"] == "call.created"]
    assert [e["id"] for e in created] == [r["id"] for r in rows]
    assert {e["callback_status"] for e in created} == {"perlu"}

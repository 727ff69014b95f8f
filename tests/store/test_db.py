"""Sessions: readers never queue behind a writer; writers serialise without losing either write."""

from __future__ import annotations

import math
import threading
import time

from sqlalchemy import func, select

from store.accounts import AuditRecord, record_audit
from store.db import load_json, make_read_sessionmaker


def test_a_reader_does_not_wait_for_an_open_write_transaction(db) -> None:
    writer = db.sessions()
    try:
        record_audit(writer, actor="t", action="hold", entity="test", entity_id=None)
        writer.flush()  # the write transaction is open (and holds SQLite's write lock)
        reader = make_read_sessionmaker(db.engine)()
        try:
            t = time.perf_counter()
            reader.scalar(select(func.count()).select_from(AuditRecord))
            assert time.perf_counter() - t < 5  # would wait busy_timeout (30 s) if it queued
        finally:
            reader.close()
    finally:
        writer.rollback()
        writer.close()


def test_two_writers_both_land(db) -> None:
    before_session = db.sessions()
    before = before_session.scalar(select(func.count()).select_from(AuditRecord))
    before_session.close()
    errors: list[Exception] = []

    def write(i: int) -> None:
        try:
            with db.sessions() as s:
                record_audit(s, actor="t", action=f"w{i}", entity="test", entity_id=i)
                s.flush()
                time.sleep(0.2)
                s.commit()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == before + 4


def test_json_columns_read_back_nan_written_by_the_standard_library() -> None:
    assert load_json('{"a": [1, 2.5, null], "b": "x"}') == {"a": [1, 2.5, None], "b": "x"}
    assert math.isnan(load_json('{"d": NaN}')["d"])
    assert load_json(b'{"k": 1}') == {"k": 1}

"""Sessions: readers never queue behind a writer; writers serialise without losing either write."""

from __future__ import annotations

import math
import threading

import pytest
from sqlalchemy import event, func, select

from store.accounts import AuditRecord, record_audit
from store.db import SpatiaLiteMissingError, check_spatialite, load_json, make_read_sessionmaker
from tests.waiting import wait_until


def _audit_count(db) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditRecord))


def test_a_reader_does_not_wait_for_an_open_write_transaction(db) -> None:
    before = _audit_count(db)
    writer = db.sessions()
    try:
        record_audit(writer, actor="t", action="hold", entity="test", entity_id=None)
        writer.flush()  # the write transaction is open (and holds SQLite's write lock)
        reader = make_read_sessionmaker(db.engine)()
        try:
            # This thread holds the write open until the read returns: a reader that queued for the write lock
            # could never get it and would fail with "database is locked" when busy_timeout ran out.
            assert reader.scalar(select(func.count()).select_from(AuditRecord)) == before  # not the open write
        finally:
            reader.close()
    finally:
        writer.rollback()
        writer.close()


def test_writers_queue_behind_an_open_write_and_all_land(db) -> None:
    before = _audit_count(db)
    errors: list[Exception] = []
    attempting: set[int] = set()
    writer_of_thread: dict[int, int] = {}  # thread ident -> writer; idents are reused once a thread ends
    lock = threading.Lock()

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        # A writer thread's first statement (SQLite: BEGIN IMMEDIATE, which waits for the lock; PostgreSQL:
        # the INSERT) is under way: it is now queued behind the open write, or about to be.
        with lock:
            if threading.get_ident() in writer_of_thread:
                attempting.add(writer_of_thread[threading.get_ident()])

    def write(i: int) -> None:
        with lock:
            writer_of_thread[threading.get_ident()] = i
        try:
            with db.sessions() as s:
                record_audit(s, actor="t", action=f"w{i}", entity="test", entity_id=i)
                s.commit()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    holder = db.sessions()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        record_audit(holder, actor="t", action="hold", entity="test", entity_id=None)
        holder.flush()  # an open write transaction the four writers meet
        threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(attempting) == 4, timeout=25,
                   message=lambda: f"{len(attempting)} of 4 writers started writing; errors: {errors}")
        holder.rollback()
        for t in threads:
            t.join(60)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
        holder.rollback()
        holder.close()
    assert not errors
    assert _audit_count(db) == before + 4


def test_json_columns_read_back_nan_written_by_the_standard_library() -> None:
    assert load_json('{"a": [1, 2.5, null], "b": "x"}') == {"a": [1, 2.5, None], "b": "x"}
    assert math.isnan(load_json('{"d": NaN}')["d"])
    assert load_json(b'{"k": 1}') == {"k": 1}


def test_the_spatialite_check_the_makefile_runs_finds_the_installed_library() -> None:
    """`make setup` asks check_spatialite() whether apt-get is needed: a broken check sent every setup to apt-get
    (and refused `make run` to anyone not root) though SpatiaLite was installed."""
    version = check_spatialite()
    assert version.split(".")[0].isdigit()
    with pytest.raises(SpatiaLiteMissingError):
        check_spatialite("/nonexistent/mod_spatialite")

"""Migration 0021: every incident stored before the call desk existed gets its call; nothing stored is lost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from store.db import make_engine
from store.migrate import upgrade
from tests.conftest import BACKENDS, make_test_database

INCIDENTS = [
    # id, number, caller_phone, created_by
    (1, "112-20261101-0001", "0812-3456-7890", "op1"),
    (2, "112-20261101-0002", "62 525 21234", "op2"),
    (3, "112-20261101-0003", None, None),
    (4, "112-20261101-0004", "=cmd|anonymous\u202e", "op1"),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_existing_incident_gets_its_call(backend: str, tmp_path) -> None:
    url, drop = make_test_database(backend, tmp_path)
    engine = make_engine(url)
    try:
        upgrade(engine, revision="0010_supervisor_role")
        upgrade(engine, revision="0003_incidents")
        at = datetime(2026, 11, 1, 1, 2, 3, tzinfo=UTC)
        with engine.begin() as conn:
            for id_, number, phone, by in INCIDENTS:
                conn.execute(text(
                    "INSERT INTO incident (id, number, category, status, caller_phone, created_by, version, "
                    "created_at, updated_at) VALUES (:id, :n, 'kebakaran', 'perlu_lokasi', :p, :b, 1, :at, :at)"
                ), {"id": id_, "n": number, "p": phone, "b": by, "at": at})
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT incident_id, type, caller_raw, caller_number, number_ok, operator, source, state, at "
                "FROM phone_call ORDER BY incident_id")).all()
            kept = conn.execute(text("SELECT count(*) FROM incident")).scalar()
        assert kept == len(INCIDENTS)
        assert [r.incident_id for r in rows] == [1, 2, 3, 4]
        assert {r.type for r in rows} == {"darurat"} and {r.source for r in rows} == {"migrasi"}
        by_id = {r.incident_id: r for r in rows}
        assert (by_id[1].caller_number, bool(by_id[1].number_ok), by_id[1].operator) == ("+6281234567890", True, "op1")
        assert by_id[2].caller_number == "+6252521234"
        assert by_id[3].caller_number is None and not by_id[3].number_ok
        assert by_id[4].caller_raw == "=cmd|anonymous" and not by_id[4].number_ok
    finally:
        engine.dispose()
        drop()

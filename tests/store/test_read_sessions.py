"""Read sessions end with COMMIT: on PostgreSQL the connection keeps its prepared statements (psycopg drops them
all on ROLLBACK); a read that failed is still rolled back and its connection stays usable, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from store.db import make_engine, make_read_sessionmaker


def test_a_read_ends_with_commit_and_postgis_keeps_its_prepared_statements(database) -> None:
    engine = make_engine(database.url)  # one request at a time: one pooled connection
    ends: list[str] = []
    event.listen(engine, "commit", lambda _conn: ends.append("commit"))
    event.listen(engine, "rollback", lambda _conn: ends.append("rollback"))
    try:
        reads = make_read_sessionmaker(engine)
        for _ in range(8):  # psycopg prepares a statement on its 5th run on a connection
            with reads() as s:
                s.execute(text("SELECT count(*) FROM app_user WHERE username = :u"), {"u": "t-dispatcher"}).one()
        assert ends == ["commit"] * 8
        if database.backend == "postgis":
            with reads() as s:
                assert s.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() >= 1
    finally:
        engine.dispose()


def test_a_failed_read_is_rolled_back_and_its_connection_reused(database) -> None:
    engine = make_engine(database.url)
    try:
        reads = make_read_sessionmaker(engine)
        with reads() as s, pytest.raises(DBAPIError):
            s.execute(text("SELECT no_such_column FROM app_user"))
        with reads() as s:
            assert s.execute(text("SELECT count(*) FROM app_user WHERE username = 't-admin'")).scalar() == 1
    finally:
        engine.dispose()

"""Database engines and sessions for SpatiaLite (embedded default) and PostGIS, from one code path."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "sigap_read_only"


class SpatiaLiteMissingError(RuntimeError):
    """The SpatiaLite extension module cannot be loaded into SQLite."""


def sqlite_module() -> Any:  # a DB-API module (sqlite3 or pysqlite3.dbapi2)
    """A sqlite3 DB-API module that can load extensions (some Python builds disable it)."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import pysqlite3.dbapi2 as pysqlite
    except ImportError as exc:  # pragma: no cover - depends on the Python build
        raise SpatiaLiteMissingError(
            "Python ini tidak bisa memuat ekstensi SQLite; pasang pysqlite3-binary / "
            "this Python cannot load SQLite extensions; install pysqlite3-binary"
        ) from exc
    return pysqlite


def raw_sqlite_connection(path: str) -> Any:
    """A plain connection (no SpatiaLite, autocommit) to a SQLite file, from the same SQLite library as the
    engine's: two SQLite libraries in one process break each other's file locks and can corrupt the file."""
    return sqlite_module().connect(path, isolation_level=None, check_same_thread=False, timeout=30)


def _on_spatialite_connect(module_path: str):  # noqa: ANN202 - SQLAlchemy listener
    # pyproj's wheel bundles its own PROJ and SQLite libraries; imported after mod_spatialite (linked to the
    # system's PROJ) was loaded, the process's heap gets corrupted and it aborts at exit ("double free").
    # Importing it before the first connection loads them in the order that works.
    import pyproj  # noqa: F401

    def connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.enable_load_extension(True)
        try:
            dbapi_conn.load_extension(module_path)
        except Exception as exc:
            raise SpatiaLiteMissingError(
                f"Modul SpatiaLite '{module_path}' tidak ditemukan; pasang libsqlite3-mod-spatialite / "
                f"SpatiaLite module '{module_path}' not found; install libsqlite3-mod-spatialite"
            ) from exc
        dbapi_conn.enable_load_extension(False)
        cur = dbapi_conn.cursor()
        # WAL lets readers work beside one writer and keeps every committed call across a crash.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        has_meta = cur.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='spatial_ref_sys'"
        ).fetchone()[0]
        if not has_meta:
            cur.execute("SELECT InitSpatialMetadata(1, 'WGS84')")
        cur.close()

    return connect


def dump_json(value: Any) -> str:
    """Serialise a JSON column with orjson (non-string keys become strings, as the standard library does)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def load_json(raw: str | bytes) -> Any:
    """Parse a JSON column with orjson, falling back to the standard parser for NaN and Infinity."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _without_row_detail(context) -> None:  # noqa: ANN001 - sqlalchemy.engine.ExceptionContext
    """Drop PostgreSQL's DETAIL ("Failing row contains (..., 0812...)") from an error's text: it holds row values."""
    orig = context.original_exception
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if primary:
        orig.args = (primary,)
        wrapped = context.sqlalchemy_exception
        if wrapped is not None and wrapped.args:
            wrapped.args = (f"({type(orig).__module__}.{type(orig).__name__}) {primary}", *wrapped.args[1:])


def make_engine(url: str, *, spatialite_library_path: str = "mod_spatialite", echo: bool = False) -> Engine:
    """An engine for a SpatiaLite file or a PostGIS database, ready for spatial SQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        on_disk = parsed.database not in (None, "", ":memory:")
        if parsed.database and on_disk:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Every request reads its account (token version) on a worker thread: a pool as large as everything
        # that holds a connection at once (anyio's 40 worker threads, the two group-commit writers, the event
        # poller) keeps connections, each of which loads SpatiaLite when it is opened, instead of opening and
        # closing overflow connections under load (py-spy under 50 recording operators: 3 % of the server's time
        # was SpatiaLite loading with a pool of 40). An in-memory database has one connection per thread.
        pool = {"pool_size": 48, "max_overflow": 20} if on_disk else {}
        engine = create_engine(
            parsed,
            module=sqlite_module(),
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=dump_json,
            json_deserializer=load_json,
            echo=echo,
            # Statement parameters hold callers' names and phones: never in an error message or a log line.
            hide_parameters=True,
            **pool,
        )
        event.listen(engine, "connect", _on_spatialite_connect(spatialite_library_path))

        # Writers take the write lock at BEGIN so two of them queue instead of failing to upgrade a read
        # lock; readers (sessions from `make_read_sessionmaker`) begin deferred and never wait for a writer.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # noqa: ANN001
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            parsed,
            # No ping per checkout (a round trip on every request): a connection found dead raises a
            # disconnect error, which the API answers with 503 and which makes SQLAlchemy recycle the
            # whole pool, so the next request after a PostgreSQL restart gets a fresh connection.
            pool_recycle=1800,
            json_serializer=dump_json,
            json_deserializer=load_json,
            # Connections kept open rather than made per request under load (an overflow connection is opened and
            # closed each time: a TCP handshake and a backend start); the ceiling stays at 30 per process.
            pool_size=20,
            max_overflow=10,
            pool_timeout=5,
            echo=echo,
            hide_parameters=True,
            connect_args={"connect_timeout": 5},
        )
        event.listen(engine, "handle_error", _without_row_detail)
        return engine
    raise ValueError(
        f"Basis data '{parsed.get_backend_name()}' tidak didukung; pakai sqlite:/// atau postgresql+psycopg:// / "
        f"database '{parsed.get_backend_name()}' is not supported; use sqlite:/// or postgresql+psycopg://"
    )


def backend_name(engine: Engine) -> str:
    """'spatialite' or 'postgis'."""
    return "spatialite" if engine.dialect.name == "sqlite" else "postgis"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to the engine, not expiring objects on commit."""
    return sessionmaker(engine, expire_on_commit=False)


class ReadSession(Session):
    """A session that only reads: it ends its transaction with COMMIT, not ROLLBACK.

    For a transaction that wrote nothing the two are the same, except to psycopg, which discards every
    prepared statement of the connection on ROLLBACK: with reads ending that way no statement of a pooled
    connection ever ran prepared on PostgreSQL, and each was parsed and planned again on every request.
    """

    def close(self) -> None:
        """Commit a read still open (a failed one is rolled back as before), then close."""
        tx = self.get_transaction()
        if tx is not None and tx.is_active and not (self.new or self.dirty or self.deleted):
            with suppress(Exception):  # whatever failed, close() below rolls back as it always did
                self.commit()
        super().close()


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read: on SpatiaLite they never queue behind a writer."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), class_=ReadSession, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def check_spatialite(module_path: str = "mod_spatialite") -> str:
    """The SpatiaLite version an in-memory database loads, or SpatiaLiteMissingError."""
    engine = make_engine("sqlite://", spatialite_library_path=module_path)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT spatialite_version()").scalar_one()
    finally:
        engine.dispose()

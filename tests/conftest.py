"""Shared fixtures: real databases on both backends (SpatiaLite file and PostGIS), the bundled layers."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

import store.accounts
import store.schema  # every table on Base.metadata, for clean()
from api.config import PROJECT_ROOT, Settings, get_settings
from geo.layers import Layers, read_bundled_layers
from geo.locate import Locator
from store.accounts import add_user
from store.db import make_engine, make_sessionmaker, session_scope
from store.events import EventHub
from store.layers import load_bundled
from store.migrate import upgrade
from store.models import Base

BACKENDS = ["spatialite", "postgis"]
T = TypeVar("T")
PG_ADMIN_URL = os.environ.get(
    "SIGAP_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGIS = os.environ.get("SIGAP_REQUIRE_POSTGIS") == "1"
# Boundaries, test accounts and the append-only audit log survive between tests.
STATIC_TABLES = {"kabupaten", "kecamatan", "desa", "river", "app_user", "audit_log"}
TEST_PASSWORD = "Sandi-Uji-112"
ROLES = ("dispatcher", "supervisor", "planner", "leader", "admin")


@dataclass
class Database:
    """A migrated test database holding the bundled layers."""

    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def clean(self) -> None:
        """Empty every table a test may write, keeping the boundary layers."""
        tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in STATIC_TABLES]
        with self.engine.begin() as conn:
            if self.backend == "postgis":
                # One round trip, and only the tables a test wrote to: a statement per table was ~50 ms a test.
                body = " ".join(f'IF EXISTS (SELECT FROM "{t.name}") THEN DELETE FROM "{t.name}"; END IF;'
                                for t in tables)
                conn.execute(text(f"DO $$ BEGIN {body} END $$"))
            else:
                for table in tables:
                    conn.execute(table.delete())


def _postgis_url(name: str) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    probe = create_engine(url)
    try:
        with probe.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    finally:
        probe.dispose()
    return url


def _drop_postgis(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def make_test_database(backend: str, tmp_dir: Path) -> tuple[str, callable]:
    """A fresh empty database URL for the backend and a function that removes it."""
    if backend == "spatialite":
        path = tmp_dir / f"sigap-{uuid.uuid4().hex[:8]}.sqlite"
        return f"sqlite:///{path}", lambda: None
    name = f"sigap_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        url = _postgis_url(name)
    except Exception as exc:  # noqa: BLE001 — any reason PostGIS is unusable is reported the same way
        message = f"PostGIS is not available at {PG_ADMIN_URL}: {exc}"
        if REQUIRE_POSTGIS:
            pytest.fail(message + " (SIGAP_REQUIRE_POSTGIS=1)")
        pytest.skip(message)
    return url, lambda: _drop_postgis(name)


@pytest.fixture(scope="session")
def bundled_layers() -> Layers:
    """The bundled Barito Selatan layers read straight from data/."""
    return read_bundled_layers(PROJECT_ROOT / "data")


@pytest.fixture(scope="session")
def locator(bundled_layers: Layers) -> Locator:
    """A locator over the bundled layers."""
    return Locator.from_layers(bundled_layers)


# Passwords are hashed with argon2id at the lowest cost argon2 allows while the tests run (the test accounts of the
# filled databases, every account a test adds in this process). A login verifies a hash at the cost written in it,
# so every login goes through the same code as in production; at the platform's own cost (test_auth pins it, with
# the real hasher) each of the suite's ~700 hashes and logins took ~0.2 s of CPU, a sixth of the run.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PLATFORM_HASHER = store.accounts._hasher


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    store.accounts._hasher = CHEAP_HASHER
    yield
    store.accounts._hasher = PLATFORM_HASHER


def fill_database(url: str) -> None:
    """Migrate the database at url, load the bundled layers and add one test account per role."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_scope(make_sessionmaker(engine)) as session:
            load_bundled(session, PROJECT_ROOT / "data")
            for role in ROLES:  # hashed at the suite's cost (`_cheap_password_hashes`: built inside the session)
                add_user(session, username=f"t-{role}", password=TEST_PASSWORD, role=role, full_name=f"Uji {role}")
    finally:
        engine.dispose()


def _template_key() -> str:
    """A digest of everything a filled test database is made of: the store, the bundled data and this file."""
    digest = hashlib.sha256()
    for root in ("store", "data"):
        for path in sorted((PROJECT_ROOT / root).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
                digest.update(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


TEMPLATE_DIR = PROJECT_ROOT / "var" / "test-templates"
TEMPLATE_LOCK = 112_021  # pg advisory lock: one process builds the PostGIS template, the others wait for it


def _spatialite_from_template(path: Path, key: str) -> None:
    """A filled SpatiaLite file at path, copied from a template built once per key."""
    template = TEMPLATE_DIR / f"spatialite-{key}.sqlite"
    if not template.exists():
        TEMPLATE_DIR.mkdir(parents=True, exist_ok=True)
        build = TEMPLATE_DIR / f"build-{os.getpid()}-{uuid.uuid4().hex[:6]}.sqlite"
        fill_database(f"sqlite:///{build}")
        single = build.with_suffix(".single")
        # The online backup API folds the WAL into one self-contained file that can be copied byte for byte.
        with sqlite3.connect(build) as source, sqlite3.connect(single) as target:
            source.backup(target)
        for stale in TEMPLATE_DIR.glob(f"{build.name}*"):  # the build and its -wal, -shm
            stale.unlink()
        os.replace(single, template)  # atomic: a concurrent builder's identical file may win, either is right
        for old in TEMPLATE_DIR.glob("spatialite-*.sqlite"):
            if old != template:
                old.unlink(missing_ok=True)
    shutil.copyfile(template, path)


def _postgis_from_template(key: str) -> tuple[str, Callable[[], None]]:
    """A filled PostGIS database cloned (CREATE DATABASE ... TEMPLATE) from one built once per key."""
    template = f"sigap_tpl_{key}"
    name = f"sigap_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:lock)"), {"lock": TEMPLATE_LOCK})
            try:
                exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": template}).first()
                if not exists:
                    stale = text("SELECT datname FROM pg_database WHERE datname LIKE 'sigap_tpl_%'")
                    for (old,) in conn.execute(stale).all():
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)'))
                    building = f"{template}_build"
                    fill_database(_postgis_url(building))
                    conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{template}"'))
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:lock)"), {"lock": TEMPLATE_LOCK})
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", lambda: _drop_postgis(name)


def filled_test_database(backend: str, tmp_dir: Path) -> tuple[str, Callable[[], None]]:
    """A migrated database holding the bundled layers and the test accounts, and a function that removes it.

    Built once per content of store/, data/ and this file, then copied (SpatiaLite) or cloned as a PostgreSQL
    template, so a pytest session (and each mutant of `make mutate`) starts in milliseconds, not seconds.
    """
    key = _template_key()
    if backend == "spatialite":
        path = tmp_dir / f"sigap-{uuid.uuid4().hex[:8]}.sqlite"
        _spatialite_from_template(path, key)
        return f"sqlite:///{path}", lambda: None
    try:
        return _postgis_from_template(key)
    except Exception as exc:  # noqa: BLE001 — any reason PostGIS is unusable is reported the same way
        message = f"PostGIS is not available at {PG_ADMIN_URL}: {exc}"
        if REQUIRE_POSTGIS:
            pytest.fail(message + " (SIGAP_REQUIRE_POSTGIS=1)")
        pytest.skip(message)


def open_test_database(backend: str, tmp_dir: Path) -> tuple[Database, Callable[[], None]]:
    """A filled test database of its own (see `filled_test_database`) with its engine, and what closes and drops it."""
    url, drop = filled_test_database(backend, tmp_dir)
    engine = make_engine(url)

    def close() -> None:
        engine.dispose()
        drop()

    return Database(backend, url, engine, make_sessionmaker(engine)), close


class Kept:
    """Resources made the first time a test asks for them and kept until the test session ends."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str], object] = {}
        self._closers: list[Callable[[], None]] = []

    def get(self, key: tuple[str, str], make: Callable[[], tuple[T, Callable[[], None]]]) -> T:
        """The resource under key, made (with its closer) on first use."""
        if key not in self._made:
            value, close = make()
            self._made[key] = value
            self._closers.append(close)
        return self._made[key]  # type: ignore[return-value]

    def close(self) -> None:
        """Close everything, the last made first (an app before the database it serves)."""
        while self._closers:
            self._closers.pop()()


@pytest.fixture(scope="session")
def kept() -> Iterator[Kept]:
    """Per-backend databases and apps, kept for the whole test session (see `database`)."""
    resources = Kept()
    yield resources
    resources.close()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, kept: Kept) -> Database:
    """A migrated database with the bundled layers, once per backend for the whole run.

    Kept outside this fixture: pytest tears a parametrised session fixture down whenever a test asks for its
    other parameter, and with tests run module by module that rebuilt both databases (and the apps on them)
    for every module.
    """

    def make() -> tuple[Database, Callable[[], None]]:
        # Not under pytest's temporary directory: another pytest run on the machine (a mutation run, say) prunes
        # old ones, and a SpatiaLite file deleted under this run's open engine fails every later test.
        home = Path(tempfile.mkdtemp(prefix=f"sigap-test-{request.param}-"))
        db, close = open_test_database(request.param, home)

        def close_and_remove() -> None:
            close()
            shutil.rmtree(home, ignore_errors=True)

        return db, close_and_remove

    return kept.get(("database", request.param), make)


@pytest.fixture
def db(database: Database) -> Iterator[Database]:
    """The backend's database, emptied of everything but the boundaries after the test."""
    yield database
    database.clean()


@pytest.fixture
def configured(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The backend's database as SIGAP_DATABASE_URL, for code that reads the environment's settings (the CLI)."""
    monkeypatch.setenv("SIGAP_DATABASE_URL", database.url)
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


def settings_for(url: str, **overrides: object) -> Settings:
    """Demo-mode settings pointing at a test database."""
    return Settings(database_url=url, **overrides)


@pytest.fixture(scope="session")
def app_client(database: Database, kept: Kept):
    """A TestClient of the full app on the backend's database (lifespan run once per backend)."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    def make() -> tuple[TestClient, Callable[[], None]]:
        client = TestClient(create_app(settings_for(database.url)))
        client.__enter__()
        return client, lambda: client.__exit__(None, None, None)

    return kept.get(("app", database.backend), make)


@pytest.fixture(scope="module")
def tokens(app_client, database: Database, kept: Kept) -> dict[str, str]:
    """A bearer token for each role's test account, still valid when the module starts.

    Kept for the run, but checked per module: a module may end a test account's sessions (a logout, a
    password change), which a token made for an earlier module would not survive.
    """
    out: dict[str, str] = kept.get(("tokens", database.backend), lambda: ({}, lambda: None))
    for role in ROLES:
        if role in out and app_client.get("/api/auth/me", headers=bearer(out[role])).status_code == 200:
            continue
        r = app_client.post("/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
        assert r.status_code == 200, r.text
        out[role] = r.json()["access_token"]
    return out


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app_client, tokens, database: Database) -> Iterator:
    """The app client logged in as a dispatcher; the database is emptied of test writes afterwards."""
    app_client.headers["Authorization"] = f"Bearer {tokens['dispatcher']}"
    app_client.cookies.clear()
    try:
        yield app_client
    finally:
        app_client.headers.pop("Authorization", None)
        app_client.cookies.clear()
        database.clean()


@pytest.fixture
def anon_client(app_client, database: Database) -> Iterator:
    """The app client with no credentials at all."""
    app_client.headers.pop("Authorization", None)
    app_client.cookies.clear()
    yield app_client
    database.clean()


async def events_until_marker(db: Database, hub: EventHub, sub, *, timeout: float = 15.0) -> list[dict]:
    """Every event delivered to `sub` before a marker event committed now (in its own transaction) arrives.

    Delivery follows commit order on both backends, so what was committed before the marker has arrived by
    the time the marker does: no quiet period to wait out. The marker is not returned.
    """
    with db.sessions() as session:
        marker = hub.publish(session, "test.marker", {})
        session.commit()
    got = []
    while (ev := await asyncio.wait_for(sub.queue.get(), timeout=timeout))["id"] != marker["id"]:
        got.append(ev)
    return got


async def events_while(db: Database, write: Callable[[EventHub], T]) -> tuple[T, list[dict]]:
    """Run `write(hub)` with a listening event hub; its result and every event delivered (both backends)."""
    hub = EventHub(db.engine)
    hub.start()
    try:
        if hub.postgres:
            assert hub.listening.wait(10), "listener did not connect to PostgreSQL"
        sub = hub.subscribe()
        result = write(hub)
        return result, await events_until_marker(db, hub, sub)
    finally:
        hub.stop()


def refusals(*attempts: Callable[[], object]) -> list[Exception]:
    """What each attempt raised, in order (an attempt that raises nothing adds nothing)."""
    refused: list[Exception] = []
    for attempt in attempts:
        try:
            attempt()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            refused.append(exc)
    return refused


# The longest modules first: pytest-xdist (--dist loadscope) hands modules to its processes in collection order,
# so a long module collected last would run alone at the end while the other process idles.
LONGEST_FIRST = (
    "tests/system/test_notify_queue.py", "tests/system/test_faults.py", "tests/system/test_multiworker_events.py",
    "tests/api/test_schemathesis.py", "tests/web/test_map_browser.py", "tests/system/test_front_door.py",
    "tests/system/test_pbx_player.py", "tests/web/", "tests/system/", "tests/jobs/test_reports.py",
    "tests/api/test_trust.py", "tests/api/test_reports_api.py", "tests/api/test_crew_notify.py",
    "tests/api/test_ogc.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the modules longest first (a stable sort: within a module, and for the rest, the order stays)."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)

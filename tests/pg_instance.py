"""A PostgreSQL instance of a test's own (initdb + pg_ctl on a free port in a temporary directory).

Fault tests stop and start the database; doing that to the machine's shared cluster would break every
other suite running at the same time, so they get an instance nobody else uses. PostgreSQL refuses to
run as root: as root the instance belongs to the `postgres` system user (runuser).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REQUIRE_POSTGIS
from tests.servers import free_port
from tests.waiting import wait_until

START_S = 60.0


def find_bindir() -> Path | None:
    """The newest PostgreSQL server bin directory with initdb and pg_ctl (SIGAP_TEST_PG_BINDIR overrides)."""
    candidates = [Path(os.environ["SIGAP_TEST_PG_BINDIR"])] if os.environ.get("SIGAP_TEST_PG_BINDIR") else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    for bindir in reversed(candidates):
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def _unavailable(message: str) -> None:
    """Fail under SIGAP_REQUIRE_POSTGIS=1 (CI), skip otherwise."""
    if REQUIRE_POSTGIS:
        pytest.fail(message + " (SIGAP_REQUIRE_POSTGIS=1)")
    pytest.skip(message)


class PostgresInstance:
    """One private PostgreSQL server: its data directory, socket directory and port are the test's alone."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        # Not under pytest's tmp_path: that is private to root (0700) and the server runs as `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="sigap-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.root)
                _unavailable("running PostgreSQL as root needs a `postgres` system user")
            self.user = "postgres"
            os.chown(self.root, owner.pw_uid, owner.pw_gid)

    def _run(self, *args: str, timeout: float = START_S) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout)

    def init(self) -> None:
        """Create the cluster: trust authentication for the `postgres` role, UTF-8."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        """Start the server and wait until it accepts connections (pg_ctl -w)."""
        # A throw-away cluster: durability settings off, a socket in its own directory, localhost only.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", str(int(START_S)),
                  "start")

    def stop(self) -> None:
        """Stop the server at once (fast shutdown: sessions are cut, as in a real restart)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        """Whether the server's postmaster is running (pg_ctl status)."""
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq connection string for a database of this instance."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of a database of this instance."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_postgis_database(self, name: str) -> str:
        """Create a database with the PostGIS extension; its SQLAlchemy URL."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            with psycopg.connect(self.conninfo(name), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error as exc:
            _unavailable(f"PostGIS is not installed for the server in {self.bindir}: {exc}")
        return self.url(name)

    def query(self, sql: str, params: tuple = (), *, dbname: str = "postgres") -> list[tuple]:
        """Rows of one statement, on a fresh connection."""
        with psycopg.connect(self.conninfo(dbname), autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def destroy(self) -> None:
        """Stop the server if it runs and remove its directory."""
        try:
            if self.data.exists() and self.running():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_instance() -> Iterator[PostgresInstance]:
    """A started private PostgreSQL instance, destroyed afterwards; fails (CI) or skips without the binaries."""
    bindir = find_bindir()
    if bindir is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) are missing: apt-get install postgresql")
    instance = PostgresInstance(bindir)
    try:
        try:
            instance.init()
            for attempt in range(3):
                try:
                    instance.start()
                    break
                except subprocess.CalledProcessError:
                    log = instance.log.read_text() if instance.log.exists() else ""
                    if "could not bind" not in log or attempt == 2:
                        raise
                    # Another test process took the free port between our probe and the server's bind.
                    instance.port = free_port()
        except subprocess.CalledProcessError as exc:
            log = instance.log.read_text() if instance.log.exists() else ""
            pytest.fail(f"private PostgreSQL did not start: {exc.stderr}\n{log[-2000:]}")
        wait_until(lambda: _accepts(instance), timeout=START_S, message="private PostgreSQL refuses connections")
        yield instance
    finally:
        instance.destroy()


def _accepts(instance: PostgresInstance) -> bool:
    try:
        instance.query("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True

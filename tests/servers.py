"""Real uvicorn server processes for tests that need more than a TestClient (workers, crashes, outages)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from api.config import PROJECT_ROOT
from store.accounts import add_user
from store.db import make_engine, make_sessionmaker, session_scope
from store.layers import load_bundled
from store.migrate import upgrade
from tests.conftest import ROLES, TEST_PASSWORD, make_test_database

SECRET = "server-test-secret-0123456789abcdef-0123"
READY_S = 90.0


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepared_database(backend: str, tmp_dir: Path) -> tuple[str, Callable[[], None]]:
    """A fresh migrated database with the bundled layers and the test accounts, and its remover."""
    url, drop = make_test_database(backend, tmp_dir)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_scope(make_sessionmaker(engine)) as session:
            load_bundled(session, PROJECT_ROOT / "data")
            for role in ROLES:
                add_user(session, username=f"t-{role}", password=TEST_PASSWORD, role=role)
    finally:
        engine.dispose()
    return url, drop


def start_server(url: str, *, port: int | None = None, extra_env: dict[str, str] | None = None) -> tuple[
        subprocess.Popen, str]:
    """Start uvicorn on the database and wait until /healthz answers; returns the process and base URL."""
    port = port or free_port()
    env = os.environ | {"SIGAP_DATABASE_URL": url, "SIGAP_SECRET_KEY": SECRET, "SIGAP_MODE": "demo"}
    env |= extra_env or {}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "jobs.server:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("server did not become ready")
        time.sleep(0.2)


@contextmanager
def server(url: str, **kwargs) -> Iterator[str]:
    """A real uvicorn process serving the app on `url`'s database; always killed afterwards."""
    proc, base = start_server(url, **kwargs)
    try:
        yield base
    finally:
        proc.kill()
        proc.wait(timeout=10)


def login(base: str, role: str = "dispatcher") -> dict[str, str]:
    """Authorization headers for the role's test account on a running server."""
    r = httpx.post(f"{base}/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}

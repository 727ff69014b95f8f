"""Real uvicorn server processes for tests that need more than a TestClient (workers, crashes, outages)."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from api.config import PROJECT_ROOT
from tests.conftest import TEST_PASSWORD, filled_test_database
from tests.server_forks import ForkedServer, ServerForks
from tests.waiting import wait_until

SECRET = "server-test-secret-0123456789abcdef-0123"
READY_S = 90.0
FORKS = ServerForks(PROJECT_ROOT)  # this test process's servers are forks of one process that imported the platform
EVENT_WAIT_S = 15.0


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepared_database(backend: str, tmp_dir: Path) -> tuple[str, Callable[[], None]]:
    """A fresh migrated database with the bundled layers and the test accounts, and its remover."""
    return filled_test_database(backend, tmp_dir)


def start_server(url: str, *, port: int | None = None, extra_env: dict[str, str] | None = None,
                 tree: Path | None = None) -> tuple[subprocess.Popen | ForkedServer, str]:
    """Start uvicorn on the database and wait until /healthz answers; returns the process and base URL.

    `tree`: serve the code of another checkout of the project (a benchmark's peer), not this one.
    """
    if port is not None:
        return _start_server(url, port=port, extra_env=extra_env, tree=tree)
    for attempt in range(3):
        try:
            return _start_server(url, port=free_port(), extra_env=extra_env, tree=tree)
        except PortTaken:
            # Another test process took the free port between our probe and uvicorn's bind: draw another.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    """uvicorn could not bind its port."""


def _start_server(url: str, *, port: int, extra_env: dict[str, str] | None,
                  tree: Path | None = None) -> tuple[subprocess.Popen | ForkedServer, str]:
    env = os.environ | {"SIGAP_DATABASE_URL": url, "SIGAP_SECRET_KEY": SECRET, "SIGAP_MODE": "demo",
                        # Links in answers (OGC) come from the configured public address, not the Host header.
                        "SIGAP_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env |= extra_env or {}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    # The server's log goes to a file, not a pipe: a pipe nobody reads fills up during an outage (every
    # failed request logs) and then blocks the server.
    fd, log_path = tempfile.mkstemp(prefix="sigap-uvicorn-", suffix=".log")
    argv = ["jobs.server:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    proc: subprocess.Popen | ForkedServer
    if tree is None and all(key.startswith("SIGAP_") for key in extra_env or {}):
        os.close(fd)
        proc = FORKS.start(argv, env=env, cwd=PROJECT_ROOT, log_path=Path(log_path))
    else:  # another checkout's code, or an environment that changes what Python imports: a process of its own
        with os.fdopen(fd, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "uvicorn", *argv], cwd=tree or PROJECT_ROOT, env=env,
                                    stdout=subprocess.DEVNULL, stderr=log)
        proc.log_path = Path(log_path)  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            err = proc.log_path.read_text(errors="replace")[-2000:]  # type: ignore[attr-defined]
            raise (PortTaken if "address already in use" in err else RuntimeError)(f"server exited: {err}")
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=READY_S, interval=0.1, message=f"server on port {port} did not answer /healthz")
    except BaseException:
        stop_server(proc)
        raise
    return proc, base


def stop_server(proc: subprocess.Popen | ForkedServer, *, killed: bool = False) -> None:
    """Kill a server started by `start_server` and remove its log.

    A server found already ended that the test did not kill (`killed`) died on its own: that fails, with the end
    of its log (kept), since every request the test made after it died was answered by nobody.
    """
    log = getattr(proc, "log_path", Path("/nonexistent"))
    ended = proc.poll()
    if ended is None:
        proc.kill()
    proc.wait(timeout=10)
    if ended is not None and not killed:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
        raise AssertionError(f"the server (pid {proc.pid}) ended on its own with code {ended}; log {log}:\n{tail}")
    log.unlink(missing_ok=True)


def start_cli(args: list[str], *, env: dict[str, str], log_path: Path, stdout: Path | None = None,
              stdin: Path | None = None) -> ForkedServer:
    """`python -m jobs.cli <args>` as a process of its own (a fork of the process that imported the platform) with
    exactly `env` as its environment; standard error to `log_path`. For long-running commands (`serve`)."""
    return FORKS.start(args, env=env, cwd=PROJECT_ROOT, log_path=log_path, program="cli", stdin=stdin, stdout=stdout)


def run_cli(args: list[str], *, env: dict[str, str], stdin_text: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m jobs.cli <args>` to its end, as `subprocess.run(..., capture_output=True, text=True)` does:
    a process of its own with exactly `env` as its environment, its exit code, standard output and error."""
    with tempfile.TemporaryDirectory(prefix="sigap-cli-") as tmp:
        out, err, given = Path(tmp) / "out", Path(tmp) / "err", None
        if stdin_text is not None:
            given = Path(tmp) / "in"
            given.write_text(stdin_text)
        proc = start_cli(args, env=env, log_path=err, stdout=out, stdin=given)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        read = lambda path: path.read_text(errors="replace") if path.exists() else ""  # noqa: E731
        return subprocess.CompletedProcess(["sigap", *args], code, read(out), read(err))


@contextmanager
def server(url: str, **kwargs) -> Iterator[str]:
    """A real uvicorn process serving the app on `url`'s database; always killed afterwards."""
    proc, base = start_server(url, **kwargs)
    try:
        yield base
    finally:
        stop_server(proc)


def login(base: str, role: str = "dispatcher") -> dict[str, str]:
    """Authorization headers for the role's test account on a running server."""
    r = httpx.post(f"{base}/api/auth/token", data={"username": f"t-{role}", "password": TEST_PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@contextmanager
def sse(base: str, headers: dict[str, str]) -> Iterator[queue.Queue]:
    """Events of the server's live stream (/api/events), parsed, on a queue filled by a background reader."""
    events: queue.Queue = queue.Queue()
    connected = threading.Event()
    client = httpx.Client(timeout=httpx.Timeout(5.0, read=None))

    def read() -> None:
        try:
            with client.stream("GET", f"{base}/api/events", headers=headers) as r:
                connected.set()
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        events.put(json.loads(line[6:]))
        except (httpx.HTTPError, RuntimeError):
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert connected.wait(10), "SSE stream did not open"
    try:
        yield events
    finally:
        client.close()


def create_incident(base: str, headers: dict[str, str], **fields: object) -> dict:
    """Create an incident over HTTP (a fire in Buntok unless told otherwise); the 201 answer."""
    body = {"category": "kebakaran", "location": {"lon": 114.85, "lat": -1.71}} | fields
    r = httpx.post(f"{base}/api/incidents", json=body, headers=headers, timeout=15)
    assert r.status_code == 201, r.text
    return r.json()


def wait_for_created(events: queue.Queue, incident_id: int, *, timeout: float = EVENT_WAIT_S) -> dict | None:
    """The `incident.created` event of the incident from the stream's queue, or None by the deadline."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            ev = events.get(timeout=left)
        except queue.Empty:
            return None
        if ev["kind"] == "incident.created" and ev["data"]["id"] == incident_id:
            return ev
    return None

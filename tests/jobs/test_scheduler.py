"""The FIRMS pull from a localhost server (never the internet): success, HTTP 500, timeout, run log, API."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from api.config import PROJECT_ROOT
from jobs.scheduler import FirmsPuller, Leadership, firms_url, redact, run_periodically
from store.hotspots import Hotspot, JobRun
from tests.conftest import bearer

FIX = PROJECT_ROOT / "tests" / "fixtures" / "firms"
CSV = (FIX / "viirs_snpp_nrt.csv").read_bytes()


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []
    release = threading.Event()

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        if "/fail/" in self.path:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"internal error")
            return
        if "/slow/" in self.path:
            type(self).release.wait(10)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(CSV)))
        self.end_headers()
        self.wfile.write(CSV)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def firms_server() -> Iterator[str]:
    # Backends run one after the other, so this module fixture starts twice: re-arm the slow handler.
    _Handler.release.clear()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    _Handler.release.set()
    srv.shutdown()
    srv.server_close()


def _puller(db, locator, url: str, **kw) -> FirmsPuller:
    return FirmsPuller(sessions=db.sessions, engine=db.engine, url=url, locator=locator, **kw)


def _runs(db) -> list[JobRun]:
    with db.sessions() as s:
        return list(s.scalars(select(JobRun).order_by(JobRun.id)))


def test_url_template_and_redaction() -> None:
    base = "https://firms.modaps.eosdis.nasa.gov/api/area/csv"
    assert firms_url(base, map_key="KEY123") == f"{base}/KEY123/VIIRS_SNPP_NRT/110.7,-3.6,116.0,0.8/1"
    assert firms_url(base + "/{map_key}/MODIS_NRT/{area}/{days}", map_key="K", days=3).endswith(
        "/K/MODIS_NRT/110.7,-3.6,116.0,0.8/3"
    )
    assert firms_url("http://127.0.0.1:9/firms.csv", map_key="K") == "http://127.0.0.1:9/firms.csv"
    assert "KEY123" not in redact(firms_url(base, map_key="KEY123"), "KEY123")


def test_pull_ok_then_idempotent(db, locator, firms_server) -> None:
    p = _puller(db, locator, f"{firms_server}/ok/VIIRS_SNPP_NRT.csv")
    first = asyncio.run(p.run_once())
    assert first["ok"] and first["counts"]["inserted"] == 4
    second = asyncio.run(p.run_once())
    assert second["ok"] and second["counts"]["inserted"] == 0 and second["counts"]["duplicate"] == 4
    runs = _runs(db)
    assert [r.ok for r in runs] == [True, True] and all(r.finished_at for r in runs)
    assert runs[0].counts["inserted"] == 4
    with db.sessions() as s:
        assert s.scalar(select(func.count(Hotspot.id))) == 4


def test_pull_http_500_logged_not_raised(db, locator, firms_server) -> None:
    p = _puller(db, locator, f"{firms_server}/fail/x.csv")
    out = asyncio.run(p.run_once())
    assert out["ok"] is False and "500" in out["message"]
    (run,) = _runs(db)
    assert run.ok is False and "500" in run.message and run.finished_at is not None


def test_pull_timeout_logged_not_raised(db, locator, firms_server) -> None:
    p = _puller(db, locator, f"{firms_server}/slow/x.csv", timeout_s=0.5)
    out = asyncio.run(p.run_once())
    assert out["ok"] is False and "timeout" in out["message"].lower()
    assert _runs(db)[0].ok is False


def test_periodic_loop_retries_with_backoff_after_failure(db, locator, firms_server) -> None:
    p = _puller(db, locator, f"{firms_server}/fail/x.csv")
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) >= 4:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run_periodically(p, interval_s=600, initial_delay_s=0, sleep=fake_sleep))
    # initial delay, then three failures: backoff doubles and never exceeds the interval.
    assert sleeps[0] == 0 and sleeps[1:] == [60.0, 120.0, 240.0]
    assert len(_runs(db)) == 3


def test_only_one_leader_on_postgis(db) -> None:
    a, b = Leadership(db.engine), Leadership(db.engine)
    try:
        assert a.check() is True
        assert b.check() is (db.backend == "spatialite")
        a.release()
        assert b.check() is True
    finally:
        a.release()
        b.release()


def test_app_starts_puller_and_api_lists_runs(database, locator, firms_server, tokens) -> None:
    from fastapi.testclient import TestClient

    from jobs.scheduler import firms_puller
    from jobs.server import create_server_app
    from tests.conftest import settings_for

    settings = settings_for(
        database.url,
        firms_url=f"{firms_server}/ok/{{map_key}}.csv",
        firms_map_key="SECRETKEY",
        firms_interval_minutes=60,
    )
    app = create_server_app(settings)
    try:
        with TestClient(app) as c:
            ctx = app.state.ctx
            assert ctx.task_running("firms")
            asyncio.run(firms_puller(ctx).run_once())  # the task's first pull waits 5 s; do one now
            r = c.get("/api/jobs", headers=bearer(tokens["planner"]))
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["firms"]["configured"] and body["firms"]["running"]
            assert body["runs"][0]["ok"] is True and body["runs"][0]["counts"]["inserted"] == 4
            assert "SECRETKEY" not in r.text
            assert c.get("/api/jobs", headers=bearer(tokens["dispatcher"])).status_code == 403
            assert c.get("/healthz").status_code == 200
    finally:
        database.clean()

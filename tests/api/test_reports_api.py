"""/api/reports on both backends: who may ask, bad periods (422), and a report made in the background by the
API process's report worker (a separate process), then downloaded."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from fastapi.testclient import TestClient

from geo.times import utcnow, wib_date
from store.db import session_scope
from store.reports import ReportFile
from tests.conftest import bearer, settings_for
from tests.waiting import wait_until


def test_who_may_ask_and_bad_periods(client, tokens) -> None:
    leader = bearer(tokens["leader"])
    assert client.post("/api/reports", json={"kind": "daily"}).status_code == 403  # the dispatcher
    r = client.post("/api/reports", json={"kind": "range", "from": "2024-01-01", "to": "2025-06-30"}, headers=leader)
    assert r.status_code == 422 and r.json()["field"] == "to" and "366" in r.json()["message_en"]
    r = client.post("/api/reports", json={"kind": "range", "from": "2026-11-02", "to": "2026-11-01"}, headers=leader)
    assert r.status_code == 422 and r.json()["field"] == "to"
    r = client.post("/api/reports", json={"kind": "range", "to": "2026-11-01"}, headers=leader)
    assert r.status_code == 422 and r.json()["field"] == "from"
    r = client.post("/api/reports", json={"kind": "monthly"}, headers=leader)
    assert r.status_code == 422 and "kind" in (r.json()["field"] or "")
    tomorrow = (wib_date(utcnow()) + timedelta(days=3)).isoformat()
    assert client.post("/api/reports", json={"kind": "daily", "date": tomorrow}, headers=leader).status_code == 422
    r = client.post("/api/reports", json={"kind": "weekly", "lang": "en"}, headers=leader)
    assert r.status_code == 202, r.text
    made = r.json()
    assert made["status"] == "pending" and made["files"] == [] and made["created_by"] == "t-leader"
    listed = client.get("/api/reports").json()  # any reader may list
    assert [x["id"] for x in listed["reports"]] == [made["id"]] and listed["report_time"] == "07:00"
    assert client.get(f"/api/reports/{made['id']}/pdf").status_code == 404  # not ready yet
    assert client.get(f"/api/reports/{made['id']}/docx").status_code == 422
    assert client.get("/api/reports/99999").status_code == 404


def test_a_report_asked_for_is_made_in_the_background(database, tokens) -> None:
    from jobs.server import create_server_app

    app = create_server_app(settings_for(database.url, report_time="off"))
    today = wib_date(utcnow())
    try:
        with TestClient(app) as c:
            h = bearer(tokens["leader"])
            body = {"kind": "range", "from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()}
            r = c.post("/api/reports", json=body, headers=h)
            assert r.status_code == 202, r.text
            report_id = r.json()["id"]
            got = wait_until(
                lambda: (g := c.get(f"/api/reports/{report_id}", headers=h).json())["status"] in ("ready", "failed")
                and g, timeout=180, interval=0.2, message="the report was neither made nor failed")
            assert got["status"] == "ready", got
            assert got["figures"]["incidents"] == 0 and [f["kind"] for f in got["files"]] == ["html", "pdf"]
            for f in got["files"]:
                d = c.get(f["url"], headers=h)
                assert d.status_code == 200 and d.headers["content-type"].startswith(f["media_type"].split(";")[0])
                assert f'filename="{f["name"]}"' in d.headers["content-disposition"]
                assert hashlib.sha256(d.content).hexdigest() == f["sha256"] and len(d.content) == f["size"]
            assert c.get(got["files"][1]["url"], headers=h).content.startswith(b"%PDF")
            assert date.fromisoformat(body["from"]).strftime("%d-%m-%Y") in got["period_wib"]
        with session_scope(database.sessions) as session:
            assert session.query(ReportFile).count() == 2
    finally:
        database.clean()

"""Issue 14, trust: demo state never reaches production, tokens can be revoked, streams are capped."""

from __future__ import annotations

import io
import secrets
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text

import store.trust
from api.app import create_app
from api.config import PROJECT_ROOT, Settings, UnsafeSettingsError, get_settings
from jobs.cli import main
from store.accounts import add_user, find_user, set_active
from store.db import session_scope
from tests.conftest import bearer
from tests.servers import run_cli, server
from tests.waiting import wait_until

PASSWORD = "Sandi-Kuat-2026"


def _user(database, role: str = "dispatcher", *, demo: bool = False) -> str:
    name = f"tr-{uuid.uuid4().hex[:8]}"
    with session_scope(database.sessions) as s:
        add_user(s, username=name, password=PASSWORD, role=role, demo=demo, full_name="Uji trust")
    return name


def _login(client, name: str, password: str = PASSWORD) -> str:
    r = client.post("/api/auth/token", data={"username": name, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


# -- 1. demo state never reaches production -------------------------------------------------------------

@pytest.mark.parametrize("secret", ["a" * 40, "ab" * 20, "sigap-112-demo-secret-not-for-production-use", "short"])
def test_production_refuses_weak_secrets_without_echoing_them(secret: str) -> None:
    with pytest.raises(UnsafeSettingsError) as info:
        Settings(mode="production", secret_key=secret)
    assert secret not in str(info.value) and "SIGAP_SECRET_KEY" in str(info.value)


def test_the_default_secret_on_a_public_address_is_refused() -> None:
    with pytest.raises(UnsafeSettingsError, match="0.0.0.0"):
        Settings(mode="demo", host="0.0.0.0")
    assert Settings(mode="demo", host="0.0.0.0", secret_key=secrets.token_urlsafe(32)).host == "0.0.0.0"
    assert Settings(mode="demo", host="127.0.0.1").demo_accounts_allowed


def test_the_cli_refuses_a_weak_production_secret_without_echoing_it(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SIGAP_MODE", "production")
    monkeypatch.setenv("SIGAP_SECRET_KEY", "a" * 40)
    get_settings.cache_clear()
    try:
        assert main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "SIGAP_SECRET_KEY" in err and "a" * 40 not in err


def test_serve_refuses_demo_or_the_default_secret_on_a_public_address(monkeypatch) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT), "SIGAP_DATABASE_URL": "sqlite:///nowhere.db"}
    for args in (["--demo", "--host", "0.0.0.0"], ["--host", "0.0.0.0"]):
        r = run_cli(["serve", *args], env=env, timeout=60)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "0.0.0.0" in r.stderr
        assert "running at" not in r.stdout


def test_demo_accounts_are_disabled_outside_demo_mode(database) -> None:
    demo_name = _user(database, "admin", demo=True)
    production = Settings(database_url=database.url, mode="production", secret_key=secrets.token_urlsafe(32))
    with TestClient(create_app(production)) as prod:
        r = prod.post("/api/auth/token", data={"username": demo_name, "password": PASSWORD})
        assert r.status_code == 401
    with database.sessions() as s:
        assert find_user(s, demo_name).active is False
    public = Settings(database_url=database.url, host="0.0.0.0", secret_key=secrets.token_urlsafe(32))
    with session_scope(database.sessions) as s:
        set_active(s, find_user(s, demo_name), True)  # re-enabled behind the platform's back
    with TestClient(create_app(public)) as pub:
        assert pub.post("/api/auth/token", data={"username": demo_name, "password": PASSWORD}).status_code == 401


def test_a_demo_token_from_demo_mode_is_refused_on_a_public_bind(database) -> None:
    demo_name = _user(database, "dispatcher", demo=True)
    secret = secrets.token_urlsafe(32)
    with TestClient(create_app(Settings(database_url=database.url, secret_key=secret))) as demo:
        token = _login(demo, demo_name)
        assert demo.get("/api/auth/me", headers=bearer(token)).status_code == 200
    public = Settings(database_url=database.url, host="0.0.0.0", secret_key=secret)
    with TestClient(create_app(public)) as pub:
        assert pub.get("/api/auth/me", headers=bearer(token)).status_code == 401
        assert pub.get("/api/incidents", headers=bearer(token)).status_code == 401


# -- 2. revocation ---------------------------------------------------------------------------------------

def test_logout_refuses_the_old_token_at_once(app_client, database) -> None:
    name = _user(database)
    token = _login(app_client, name)
    assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    assert app_client.post("/api/auth/logout", headers=bearer(token)).status_code == 200
    r = app_client.get("/api/auth/me", headers=bearer(token))
    assert r.status_code == 401
    assert _login(app_client, name)  # a new login works


def test_cli_disable_enable_passwd_delete_refuse_old_tokens(app_client, configured, monkeypatch, capsys) -> None:
    name = _user(configured, "supervisor")
    token = _login(app_client, name)
    assert main(["user", "list"]) == 0
    assert name in capsys.readouterr().out
    assert main(["user", "disable", name]) == 0
    assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    assert app_client.post("/api/auth/token", data={"username": name, "password": PASSWORD}).status_code == 401
    assert main(["user", "enable", name]) == 0
    assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 401  # old token stays dead
    token = _login(app_client, name)
    monkeypatch.setattr("sys.stdin", io.StringIO("Sandi-Baru-2027\n"))
    assert main(["user", "passwd", name, "--password-stdin"]) == 0
    assert "Sandi-Baru-2027" not in capsys.readouterr().out
    assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    token = _login(app_client, name, "Sandi-Baru-2027")
    assert main(["user", "delete", name]) == 0
    assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    # Re-created under the same name: the deleted account's token still does not work.
    with session_scope(configured.sessions) as s:
        add_user(s, username=name, password=PASSWORD, role="admin")
    assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 401
    assert main(["user", "disable", "no-such-user"]) == 1


def test_a_role_change_refuses_the_old_token(app_client, database) -> None:
    name = _user(database, "admin")
    token = _login(app_client, name)
    with session_scope(database.sessions) as s:
        add_user(s, username=name, password=PASSWORD, role="leader")
    assert app_client.get("/api/audit", headers=bearer(token)).status_code == 401


def test_a_token_without_version_is_refused(app_client, database) -> None:
    name = _user(database)
    secret = app_client.app.state.settings.secret_key
    forged = jwt.encode({"sub": name, "exp": int(time.time()) + 600}, secret, algorithm="HS256")
    assert app_client.get("/api/auth/me", headers=bearer(forged)).status_code == 401


def _app_user_reads(app_client) -> list[str]:
    """Statements of the app's own engine that read accounts, recorded from now on."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if "FROM app_user" in statement:
            seen.append(statement)

    event.listen(app_client.app.state.ctx.engine, "before_cursor_execute", record)
    return seen


def _listening(app_client) -> None:
    if app_client.app.state.ctx.engine.dialect.name != "postgresql":
        return  # SQLite: no listener; the account epoch is read per request
    wait_until(app_client.app.state.ctx.events.listening.is_set, timeout=15, message="event listener not up")


def test_a_known_account_is_not_read_again_per_request(app_client, database) -> None:
    name = _user(database)
    token = _login(app_client, name)
    _listening(app_client)
    assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    reads = _app_user_reads(app_client)
    for _ in range(20):
        assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    assert reads == []


def test_an_account_changed_by_any_writer_is_refused(app_client, database) -> None:
    """A change no session of this process made (another worker, a shell, a hand-written UPDATE) still ends the
    remembered grant: SQLite through the trigger-kept epoch, PostgreSQL through the trigger's NOTIFY."""
    name = _user(database)
    token = _login(app_client, name)
    _listening(app_client)
    assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 200

    def refused_after(sql: str, what: str) -> None:
        with database.engine.begin() as conn:
            conn.execute(text(sql), {"u": name})
        if database.backend == "spatialite":
            assert app_client.get("/api/auth/me", headers=bearer(token)).status_code == 401
        else:
            # PostgreSQL delivers the NOTIFY to this worker's listener at commit, on its own connection.
            wait_until(lambda: app_client.get("/api/auth/me", headers=bearer(token)).status_code == 401, timeout=10,
                       message=f"a hand-written {what} did not reach the account memory")

    refused_after("UPDATE app_user SET token_version = token_version + 1 WHERE username = :u", "revocation")
    token = _login(app_client, name)
    refused_after("UPDATE app_user SET active = false WHERE username = :u", "disabling")


@pytest.mark.parametrize("database", ["postgis"], indirect=True)
def test_a_lost_listener_forgets_every_account(database) -> None:
    """PostgreSQL: announcements sent while the listener is away are lost, so losing it forgets every account,
    nothing is remembered until it is back, and coming back forgets again. (SQLite has no listener to lose: it
    reads the account epoch on every request.)"""
    app = create_app(Settings(database_url=database.url, secret_key="x" * 8 + secrets.token_hex(24), mode="demo"))
    with TestClient(app) as worker:
        name = _user(database)
        token = _login(worker, name)
        ctx = app.state.ctx
        _listening(worker)
        assert worker.get("/api/auth/me", headers=bearer(token)).status_code == 200
        with database.sessions() as s:
            uid = find_user(s, name).id
        assert ctx.principals.cached(uid, name)[0]
        with database.engine.begin() as conn:
            killed = conn.execute(text(  # this app's listener only (its last statement LISTENs its own channel)
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query = 'LISTEN ' || :channel"), {"channel": ctx.events.stop_channel}).scalars().all()
        assert killed and all(killed)
        wait_until(lambda: not ctx.events.listening.is_set() or not ctx.principals.cached(uid, name)[0],
                   timeout=15, message="the lost listener left the account memory in place")
        assert not ctx.principals.cached(uid, name)[0]
        wait_until(ctx.events.listening.is_set, timeout=30, message="the listener did not come back")
        assert not ctx.principals.cached(uid, name)[0]
        assert worker.get("/api/auth/me", headers=bearer(token)).status_code == 200
        assert ctx.principals.cached(uid, name)[0]


# -- 2. live streams end and are capped (a real server) --------------------------------------------------

STREAM_ENV = {"SIGAP_STREAM_RECHECK_S": "0.3", "SIGAP_STREAMS_PER_USER": "2", "SIGAP_STREAMS_TOTAL": "3"}


@pytest.fixture(scope="module")
def stream_server(database) -> Iterator[str]:
    with server(database.url, extra_env=STREAM_ENV) as base:
        yield base


def _open_stream(base: str, token: str) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(timeout=httpx.Timeout(10.0, read=15.0))
    r = client.send(client.build_request("GET", f"{base}/api/events", headers=bearer(token)), stream=True)
    return client, r


def _read_until_end(r: httpx.Response) -> str:
    seen = []
    for line in r.iter_lines():
        seen.append(line)
        if line.startswith("data: {\"reason\""):
            break
    return "\n".join(seen)


def test_a_stream_ends_when_its_token_is_revoked(stream_server, database) -> None:
    name = _user(database)
    token = httpx.post(f"{stream_server}/api/auth/token", data={"username": name, "password": PASSWORD}).json()[
        "access_token"]
    client, r = _open_stream(stream_server, token)
    try:
        assert r.status_code == 200
        assert httpx.post(f"{stream_server}/api/auth/logout", headers=bearer(token)).status_code == 200
        text = _read_until_end(r)
        assert "event: session.ended" in text and "revoked" in text
    finally:
        r.close()
        client.close()


def test_a_stream_ends_when_its_token_expires(stream_server, database) -> None:
    name = _user(database)
    with database.sessions() as s:
        user = find_user(s, name)
        claims = {"sub": name, "uid": user.id, "ver": user.token_version, "exp": int(time.time()) + 2}
    from tests.servers import SECRET

    token = jwt.encode(claims, SECRET, algorithm="HS256")
    client, r = _open_stream(stream_server, token)
    try:
        assert r.status_code == 200
        text = _read_until_end(r)
        assert "expired" in text
    finally:
        r.close()
        client.close()


@pytest.fixture(scope="module")
def other_stream_server(database) -> Iterator[str]:
    """A second server process on the same database: another worker."""
    with server(database.url, extra_env=STREAM_ENV) as base:
        yield base


def test_streams_are_capped_per_account_and_in_total(stream_server, other_stream_server, database) -> None:
    """The caps hold across workers: streams opened in two server processes count against one account and one
    total (per-process counting would let each worker open its own two)."""
    tokens = []
    for _ in range(2):
        name = _user(database)
        tokens.append(httpx.post(f"{stream_server}/api/auth/token",
                                 data={"username": name, "password": PASSWORD}).json()["access_token"])
    opened = []
    try:
        for base in (stream_server, other_stream_server):
            opened.append(_open_stream(base, tokens[0]))
            assert opened[-1][1].status_code == 200
        third = _open_stream(stream_server, tokens[0])
        opened.append(third)
        assert third[1].status_code == 429
        body = third[1].read()
        assert b"this account" in body and third[1].headers["retry-after"]
        opened.append(_open_stream(other_stream_server, tokens[1]))
        assert opened[-1][1].status_code == 200
        over = _open_stream(stream_server, tokens[1])
        opened.append(over)
        assert over[1].status_code == 429 and b"server" in over[1].read()
        # Calls are still taken while the streams are full.
        r = httpx.post(f"{stream_server}/api/incidents", json={"category": "medis"}, headers=bearer(tokens[1]))
        assert r.status_code == 201, r.text
    finally:
        for client, resp in opened:
            resp.close()
            client.close()
        database.clean()
    # Closed streams give their slots back.
    wait_until(lambda: _open_stream_status(stream_server, tokens[0]) == 200, timeout=15,
               message="slots of closed streams were not given back")
    wait_until(lambda: _open_stream_status(other_stream_server, tokens[1]) == 200, timeout=15,
               message="slots of closed streams were not given back")


def test_a_dead_workers_stream_slots_lapse(database) -> None:
    """A lease nobody renews (its worker was killed) frees its slot once it expires; a renewed one holds."""
    from store.trust import renew_stream_lease, take_stream_lease

    caps = {"per_user": 1, "total": 2, "ttl_s": 60.0}
    database.clean()  # leases of streams other tests opened (real times, far after 1000) would fill the total
    try:
        with session_scope(database.sessions) as s:
            assert take_stream_lease(s, lease_id="dead", username="a", now=1000.0, **caps) is None
            assert take_stream_lease(s, lease_id="alive", username="b", now=1000.0, **caps) is None
        with session_scope(database.sessions) as s:
            assert take_stream_lease(s, lease_id="x", username="a", now=1030.0, **caps) == "total"
            renew_stream_lease(s, lease_id="alive", username="b", ttl_s=60.0, now=1050.0)
        with session_scope(database.sessions) as s:
            # "dead" lapsed at 1060; "alive" was renewed until 1110.
            assert take_stream_lease(s, lease_id="y", username="a", now=1070.0, **caps) is None
            assert take_stream_lease(s, lease_id="z", username="b", now=1070.0, **caps) == "total"
    finally:
        database.clean()


def _open_stream_status(base: str, token: str) -> int:
    client, r = _open_stream(base, token)
    try:
        return r.status_code
    finally:
        r.close()
        client.close()


# -- 3. no side data refuses a call -----------------------------------------------------------------------

def test_a_long_forwarded_for_never_refuses_a_call(stream_server, database) -> None:
    name = _user(database)
    token = httpx.post(f"{stream_server}/api/auth/token", data={"username": name, "password": PASSWORD}).json()[
        "access_token"]
    forwarded = "10.0.0." + "9" * 300 + ", ';--" + "x" * 80
    try:
        r = httpx.post(f"{stream_server}/api/incidents", json={"category": "medis"},
                       headers=bearer(token) | {"X-Forwarded-For": forwarded})
        assert r.status_code == 201, r.text
        with database.sessions() as s:
            from sqlalchemy import select

            from store.accounts import AuditRecord
            rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "incident.create",
                                                      AuditRecord.entity_id == str(r.json()["id"]))
                         .order_by(AuditRecord.id.desc())).first()
            assert rec.client is not None and len(rec.client) <= 64 and rec.client.isprintable()
    finally:
        database.clean()


@pytest.mark.parametrize("place", ["'", "-", "😀", "!!! ...", "\x00\x00", "Buntok\x00"])
def test_a_place_without_a_name_is_stored_as_perlu_lokasi_with_its_text(client, place: str) -> None:
    r = client.post("/api/incidents", json={"category": "medis", "location": {"place": place}})
    assert r.status_code == 201, r.text
    body = r.json()
    if place == "Buntok\x00":
        assert body["status"] == "baru"  # the NUL is dropped, the name still found
        return
    assert body["status"] == "perlu_lokasi"
    if place.replace("\x00", ""):
        assert body["location"]["place"]["query"] == place
    stored = client.get(f"/api/incidents/{body['id']}").json()
    assert stored["status"] == "perlu_lokasi"


def test_an_overlong_place_is_clipped_not_refused(client) -> None:
    r = client.post("/api/incidents", json={"category": "medis", "location": {"place": "-" * 5000}})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "perlu_lokasi"


@pytest.mark.parametrize("path", [
    "/api/audit?offset=100000000000000000000", "/ogc/collections/incidents/items?offset=100000000000000000000",
    "/api/incidents?offset=100000000000000000000",
])
def test_a_huge_offset_is_a_422_naming_it(app_client, tokens, path: str) -> None:
    r = app_client.get(path, headers=bearer(tokens["admin"]))
    assert r.status_code == 422 and r.json()["field"] == "offset"


@pytest.mark.parametrize("path", [
    "/api/audit?since=0001-01-01T00:00:00-12:00", "/api/audit?until=9999-12-31T23:59:59%2B14:00",
    "/ogc/collections/incidents/items?datetime=9999-12-31T23:59:59Z/..",
    "/ogc/collections/incidents/items?datetime=0001-01-01T00:00:00-12:00",
    "/api/incidents?until=9999-12-31T23:59:59%2B14:00", "/api/incidents?since=0001-01-01T00:00:00-12:00",
    "/api/hotspots?window=custom&since=0001-01-01T00:00:00-12:00&until=9999-12-31T23:59:59%2B14:00",
])
def test_extreme_times_are_answered_not_a_500(app_client, tokens, path: str) -> None:
    r = app_client.get(path, headers=bearer(tokens["admin"]))
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["field"]


@pytest.mark.parametrize(("path", "field"), [
    ("/api/audit?actor=a%00", "actor"), ("/api/audit?entity=%00", "entity"), ("/api/incidents?q=%00x", "q"),
    ("/ogc/collections/hotspots/items?datetime=%00", "datetime"), ("/api/places?q=a%00", "q"),
])
def test_nul_in_a_query_is_a_422_naming_the_field(app_client, tokens, path: str, field: str) -> None:
    r = app_client.get(path, headers=bearer(tokens["admin"]))
    assert r.status_code == 422 and r.json()["field"] == field


def test_nul_in_call_text_is_a_422_naming_the_field(client) -> None:
    r = client.post("/api/incidents", json={"category": "medis", "description": "a\x00b"})
    assert r.status_code == 422 and r.json()["field"] == "description"


def test_an_idempotency_key_makes_a_retry_return_the_same_call(client) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = client.post("/api/incidents", json={"category": "medis", "caller_phone": "0812"}, headers=key)
    again = client.post("/api/incidents", json={"category": "medis", "caller_phone": "0812"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    other = client.post("/api/incidents", json={"category": "medis"}, headers={"Idempotency-Key": "\x7f" * 500})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    plain = client.post("/api/incidents", json={"category": "medis"})
    assert plain.json()["id"] not in (first.json()["id"], other.json()["id"])
    listed = client.get("/api/incidents").json()
    assert listed["total"] == 3


def test_concurrent_retries_with_one_key_create_one_call(client) -> None:
    import concurrent.futures

    key = {"Idempotency-Key": f"burst-{uuid.uuid4()}"}
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: client.post("/api/incidents", json={"category": "medis"}, headers=key),
                                range(6)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1


# -- 4. pages, privacy, audit of bulk reads ----------------------------------------------------------------

def test_every_answer_carries_the_security_headers(app_client, tokens) -> None:
    for path in ("/login", "/api/incidents", "/healthz", "/static/js/sigap.js"):
        r = app_client.get(path, headers=bearer(tokens["admin"]))
        csp = r.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer" and r.headers["x-frame-options"] == "DENY"
    assert app_client.get("/api/incidents", headers=bearer(tokens["admin"])).headers["cache-control"] == "no-store"


def test_no_template_holds_inline_script() -> None:
    import re

    for html in (PROJECT_ROOT / "web" / "map" / "templates").glob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", html.read_text()):
            assert "src=" in tag or 'type="application/json"' in tag, (html.name, tag)
        assert not re.search(r"\son[a-z]+=\"", html.read_text()), html.name


def test_a_cookie_alone_cannot_write_but_the_pages_header_can(anon_client, database) -> None:
    name = _user(database)
    _login(anon_client, name)
    try:
        assert anon_client.post("/api/incidents", json={"category": "medis"}).status_code == 401
        r = anon_client.post("/api/incidents", json={"category": "medis"}, headers={"X-Sigap-Csrf": "1"})
        assert r.status_code == 201
    finally:
        anon_client.cookies.clear()


def test_docs_are_off_in_production_and_links_ignore_the_host_header(database) -> None:
    settings = Settings(database_url=database.url, mode="production", secret_key=secrets.token_urlsafe(32),
                        public_url="https://sigap.baritoselatankab.go.id/")
    with TestClient(create_app(settings)) as prod:
        assert prod.get("/docs").status_code in (401, 404, 303)
        assert prod.get("/redoc").status_code in (401, 404, 303)
        name = _user(database, "leader")
        token = _login(prod, name)
        r = prod.get("/ogc", headers=bearer(token) | {"Host": "evil.example"})
        hrefs = [link["href"] for link in r.json()["links"]]
        assert hrefs and all(h.startswith("https://sigap.baritoselatankab.go.id/") for h in hrefs)
        assert not any("evil" in h for h in hrefs)


@pytest.mark.parametrize("role", ["planner", "leader"])
def test_only_the_call_desk_sees_callers(client, tokens, role: str) -> None:
    made = client.post("/api/incidents", json={"category": "medis", "caller_name": "Siti", "caller_phone": "0812777"})
    assert made.status_code == 201
    for r in (client.get("/api/incidents", headers=bearer(tokens[role])),
              client.get(f"/api/incidents/{made.json()['id']}", headers=bearer(tokens[role]))):
        assert r.status_code == 200 and "0812777" not in r.text and "Siti" not in r.text
    for desk in ("dispatcher", "supervisor", "admin"):
        assert "0812777" in client.get("/api/incidents", headers=bearer(tokens[desk])).text


def test_bulk_reads_and_exports_are_audited(client, tokens, database) -> None:
    from sqlalchemy import select

    from store.accounts import AuditRecord

    client.post("/api/incidents", json={"category": "medis", "caller_phone": "0813"})
    assert client.get("/api/incidents", params={"category": "medis", "limit": 50}).status_code == 200
    assert client.get("/api/export/incidents.csv").status_code == 200
    with database.sessions() as s:
        recent = s.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(2)).all()
    export, bulk = recent
    assert (bulk.action, bulk.actor) == ("incident.bulk_read", "t-dispatcher")
    assert bulk.after["rows"] == 1 and bulk.after["filter"]["category"] == "medis"
    assert (export.action, export.entity, export.after["filter"]["format"]) == ("export", "incidents", "csv")


def test_sql_parameters_never_reach_an_error_message(database) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as info, database.engine.begin() as conn:
        conn.execute(text("INSERT INTO app_user (username) VALUES (:phone)"), {"phone": "0812-RAHASIA-99"})
    assert "0812-RAHASIA-99" not in str(info.value)


# -- 5. rate limits shared by every worker, per-account back-off, audited refusals -------------------------

def _last_audit(database, action: str):
    from sqlalchemy import select

    from store.accounts import AuditRecord

    with database.sessions() as s:
        return s.scalars(select(AuditRecord).where(AuditRecord.action == action)
                         .order_by(AuditRecord.id.desc())).first()


class StoppedClock:
    """The wall clock of the shared rate limits and login back-off, standing still while a test runs: on a slow
    machine attempts are slow, and a bucket refilling or a back-off running out between them would hide the limit."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def stopped_clock(monkeypatch: pytest.MonkeyPatch) -> StoppedClock:
    clock = StoppedClock()
    monkeypatch.setattr(store.trust, "time", clock)
    return clock


def test_login_rate_limit_is_shared_by_workers_and_audited(database, stopped_clock) -> None:
    database.clean()  # empty buckets: the limit counts from zero
    secret = secrets.token_urlsafe(32)
    # The default is 30 a minute; 6 shows the same sharing with a fifth of the attempts (each an argon2 hash).
    settings = Settings(database_url=database.url, secret_key=secret, login_attempts_per_minute=6)
    worker_a, worker_b = TestClient(create_app(settings)), TestClient(create_app(settings))
    try:
        with worker_a, worker_b:
            # 6 per minute from one client (the clock stopped: no refill), attempts alternating between the workers:
            # with a bucket per worker the first refusal would come after 12 attempts, with the shared one after 6.
            refused = None
            for i in range(15):
                worker = worker_a if i % 2 else worker_b
                r = worker.post("/api/auth/token", data={"username": f"nobody-{i}", "password": "x"})
                if r.status_code == 429:
                    refused = r
                    break
                assert r.status_code == 401
            assert refused is not None, "15 logins in a row from one client were not limited"
            assert i == 6 and int(refused.headers["retry-after"]) >= 1  # the 7th, whichever worker took it
    finally:
        database.clean()
    rec = _last_audit(database, "login_rate_limited")
    assert rec is not None and rec.client == "testclient"


FLOOD = {"type": "Feature", "properties": {"name": "Genangan uji batas"},
         "geometry": {"type": "Polygon", "coordinates": [[[114.83, -1.73], [114.86, -1.73], [114.86, -1.70],
                                                          [114.83, -1.70], [114.83, -1.73]]]}}


def test_flood_writes_are_rate_limited_across_workers(database, stopped_clock) -> None:
    """Three flood zones a minute from one client, spent alternately in two workers: the fourth is a 429 with
    Retry-After in either worker; a call from the same client still goes through."""
    secret = "x" * 8 + secrets.token_hex(24)
    settings = Settings(database_url=database.url, secret_key=secret, flood_writes_per_minute=3)
    worker_a, worker_b = TestClient(create_app(settings)), TestClient(create_app(settings))
    try:
        with worker_a, worker_b:
            token = _login(worker_a, _user(database, "planner"))
            codes = [(worker_a if i % 2 else worker_b).post("/api/floods", json=FLOOD, headers=bearer(token))
                     for i in range(4)]
            assert [r.status_code for r in codes] == [201, 201, 201, 429], [r.text for r in codes]
            refused = codes[-1]
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["message_id"] and "Too many requests" in refused.json()["message_en"]
            zone = codes[0].json()["id"]
            edit = worker_a.patch(f"/api/floods/{zone}", json={"status": "ended"}, headers=bearer(token))
            assert edit.status_code == 200, edit.text  # edits have their own bucket
            desk = _login(worker_b, _user(database, "dispatcher"))
            assert worker_b.post("/api/incidents", json={"category": "banjir"}, headers=bearer(desk)).status_code == 201
    finally:
        database.clean()


def test_failed_logins_back_off_per_account_in_every_worker(app_client, database, stopped_clock) -> None:
    name = _user(database)
    try:
        codes = [app_client.post("/api/auth/token", data={"username": name, "password": "salah-salah-1"}).status_code
                 for _ in range(5)]
        assert codes == [401] * 5
        r = app_client.post("/api/auth/token", data={"username": name, "password": "salah-salah-1"})
        assert r.status_code == 401  # the sixth failure starts the back-off
        refused = app_client.post("/api/auth/token", data={"username": name, "password": PASSWORD})
        assert refused.status_code == 429 and refused.json()["field"] == "username"
        assert int(refused.headers["retry-after"]) >= 1
        other = Settings(database_url=database.url, secret_key=app_client.app.state.settings.secret_key)
        with TestClient(create_app(other)) as worker_b:
            assert worker_b.post("/api/auth/token", data={"username": name, "password": PASSWORD}).status_code == 429
        rec = _last_audit(database, "login_backoff")
        assert rec.actor == name
        # Another account is not affected.
        assert app_client.post("/api/auth/token", data={"username": _user(database), "password": PASSWORD}) \
            .status_code == 200
    finally:
        database.clean()

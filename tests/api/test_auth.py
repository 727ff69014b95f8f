"""Accounts, login, roles and the append-only audit log on both backends."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

import store.accounts
from api.auth_cache import TokenCache
from api.config import Settings, UnsafeSettingsError
from store.accounts import AuditRecord, WeakPasswordError, add_user, authenticate, record_audit
from store.db import make_read_sessionmaker, session_scope, sqlite_module
from tests.conftest import PLATFORM_HASHER, TEST_PASSWORD, bearer
from tests.waiting import wait_until

STRONG_SECRET = "kJ3v9Qx_Lm2PzR8tWb5Yc7Nd4Hs6Gf1A-eUoIyTq0"


def test_login_returns_token_and_cookie(anon_client) -> None:
    r = anon_client.post("/api/auth/token", data={"username": "t-leader", "password": TEST_PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["user"]["role"] == "leader"
    assert "password" not in r.text and "hash" not in r.text
    assert "sigap_token" in r.cookies
    me = anon_client.get("/api/auth/me")  # the cookie works for reads
    assert me.json()["role"] == "leader"


def test_wrong_password_is_401_and_audited(anon_client, database) -> None:
    r = anon_client.post("/api/auth/token", data={"username": "t-admin", "password": "wrong-password-1"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    with session_scope(database.sessions) as s:
        last = s.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
        assert last.action == "login_failed" and last.actor == "t-admin"
        assert "wrong-password-1" not in str(last.before) + str(last.after)


def test_a_username_with_nul_is_a_wrong_login_not_a_database_error(anon_client, database) -> None:
    r = anon_client.post("/api/auth/token", data={"username": "t-admin\x00", "password": TEST_PASSWORD})
    assert r.status_code == 401 and r.json()["field"] == "password"
    with session_scope(database.sessions) as s:
        last = s.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
        assert (last.action, last.actor) == ("login_failed", "t-admin")


def test_successful_login_is_audited(anon_client, database) -> None:
    anon_client.post("/api/auth/token", data={"username": "t-planner", "password": TEST_PASSWORD})
    with session_scope(database.sessions) as s:
        last = s.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
        assert (last.action, last.actor) == ("login", "t-planner")


def test_reads_need_a_login(anon_client) -> None:
    assert anon_client.get("/api/locate", params={"lon": 114.8, "lat": -1.7}).status_code == 401
    assert anon_client.get("/api/layers/desa").status_code == 401
    assert anon_client.get("/api/auth/me").status_code == 401


def test_every_role_can_read(app_client, tokens) -> None:
    for role, token in tokens.items():
        r = app_client.get("/api/locate", params={"lon": 114.8, "lat": -1.7}, headers=bearer(token))
        assert r.status_code == 200, role


def test_expired_and_forged_tokens_are_refused(app_client, database) -> None:
    settings = Settings(database_url=database.url)
    expired = jwt.encode(
        {"sub": "t-admin", "role": "admin", "exp": int(time.time()) - 5}, settings.secret_key
    )
    r = app_client.get("/api/auth/me", headers=bearer(expired))
    assert r.status_code == 401 and "expired" in r.json()["message_en"]
    forged = jwt.encode({"sub": "t-admin", "role": "admin", "exp": int(time.time()) + 60}, "not-the-secret-" * 3)
    assert app_client.get("/api/auth/me", headers=bearer(forged)).status_code == 401


def test_weak_passwords_are_refused(db) -> None:
    with session_scope(db.sessions) as s:
        for weak in ("short1", "alllowercaseletters", "t-someone"):
            with pytest.raises(WeakPasswordError):
                add_user(s, username="t-someone", password=weak, role="dispatcher")


def test_passwords_are_hashed_with_argon2(db, monkeypatch) -> None:
    monkeypatch.setattr(store.accounts, "_hasher", PLATFORM_HASHER)  # the suite's cheap one (conftest) set aside
    with session_scope(db.sessions) as s:
        user = add_user(s, username="t-hash", password="Benar-Sekali-9", role="planner")
        # argon2id at RFC 9106's second recommended setting (64 MiB, 3 passes, 4 lanes), as argon2-cffi's default.
        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    readers = make_read_sessionmaker(db.engine)
    assert authenticate(readers, username="t-hash", password="Benar-Sekali-9") is not None
    assert authenticate(readers, username="t-hash", password="Salah-Sekali-9") is None


def test_audit_log_is_append_only_in_the_database(db) -> None:
    with session_scope(db.sessions) as s:
        rec = record_audit(s, actor="t-admin", action="test", entity="test", entity_id=1, after={"a": 1})
        s.flush()
        rec_id = rec.id
    for statement in (
        f"UPDATE audit_log SET action='x' WHERE id={rec_id}",
        f"DELETE FROM audit_log WHERE id={rec_id}",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))


def test_production_refuses_default_or_weak_secret() -> None:
    with pytest.raises(UnsafeSettingsError, match="SIGAP_SECRET_KEY"):
        Settings(mode="production")
    with pytest.raises(UnsafeSettingsError, match="SIGAP_SECRET_KEY"):
        Settings(mode="production", secret_key="short")
    assert Settings(mode="production", secret_key=STRONG_SECRET).mode == "production"


def test_demo_accounts_only_in_demo_mode_on_localhost() -> None:
    assert Settings(mode="demo", host="127.0.0.1").demo_accounts_allowed
    assert not Settings(mode="demo", host="0.0.0.0", secret_key=STRONG_SECRET).demo_accounts_allowed
    assert not Settings(mode="production", secret_key=STRONG_SECRET, host="127.0.0.1").demo_accounts_allowed


def test_admin_reads_and_exports_the_audit_log(app_client, tokens) -> None:
    app_client.post("/api/auth/token", data={"username": "t-dispatcher", "password": "=cmd|' /C calc'!A0"})
    r = app_client.get("/api/audit", params={"action": "login_failed", "limit": 5}, headers=bearer(tokens["admin"]))
    assert r.status_code == 200
    body = r.json()
    assert body["total"] >= 1 and body["items"][0]["action"] == "login_failed"
    assert body["items"][0]["at_wib"].endswith("WIB")
    csv_text = app_client.get("/api/audit/export.csv", headers=bearer(tokens["admin"])).text
    assert csv_text.splitlines()[0].startswith("id,at,at_wib,actor,action")
    assert "login_failed" in csv_text
    assert "calc" not in csv_text  # the attempted password is never logged


@pytest.mark.parametrize("role", ["dispatcher", "supervisor", "planner", "leader"])
def test_only_admins_see_the_audit_log(app_client, tokens, role) -> None:
    assert app_client.get("/api/audit", headers=bearer(tokens[role])).status_code == 403
    assert app_client.get("/api/audit/export.csv", headers=bearer(tokens[role])).status_code == 403


def test_csv_cells_cannot_become_formulas() -> None:
    from api.routes.audit import _safe_cell

    assert _safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _safe_cell("+62 812") == "'+62 812"
    assert _safe_cell("Buntok") == "Buntok"


def test_a_cached_token_still_expires() -> None:
    cache, secret = TokenCache(), "s" * 40
    exp = int(time.time()) + 2
    token = jwt.encode({"sub": "t-admin", "exp": exp}, secret)
    assert cache.verify(token, secret=secret) == "t-admin"
    assert cache.verify(token, secret=secret) == "t-admin"  # from memory this time
    wait_until(lambda: time.time() > exp, timeout=10, message="the clock did not pass the token's expiry")
    with pytest.raises(jwt.ExpiredSignatureError):
        cache.verify(token, secret=secret)
    with pytest.raises(jwt.InvalidTokenError):
        cache.verify(jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, "other" * 10), secret=secret)
    with pytest.raises(jwt.InvalidTokenError):  # a token without expiry is never accepted
        cache.verify(jwt.encode({"sub": "x"}, secret), secret=secret)


def test_a_supervisor_works_the_desk_but_is_no_admin(client, tokens) -> None:
    headers = bearer(tokens["supervisor"])
    assert client.get("/api/auth/me", headers=headers).json()["role_label_en"] == "Supervisor (shift lead)"
    r = client.post("/api/incidents", json={"category": "medis"}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["created_by"] == "t-supervisor"
    assert client.get("/api/audit", headers=headers).status_code == 403


def _open_write_transactions(database) -> int:
    """Transactions another client would wait for: SQLite's write lock taken, or PostgreSQL sessions idle in one."""
    if database.backend == "spatialite":
        # The app's own SQLite library: a second library in the process would drop its locks when closing.
        sqlite = sqlite_module()
        probe = sqlite.connect(database.url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return 0
        except sqlite.OperationalError:
            return 1
        finally:
            probe.close()
    with database.engine.connect() as conn:
        return conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%'"))


@pytest.mark.parametrize("password", [TEST_PASSWORD, "salah-salah-1"])
def test_the_password_hash_is_computed_outside_any_transaction(anon_client, database, monkeypatch, password) -> None:
    """A login storm must not hold the database while argon2 runs: on SQLite that is the one write lock every
    emergency call needs."""
    held = []
    real = store.accounts.verify_password

    def verifying(stored: str, given: str) -> bool:
        held.append(_open_write_transactions(database))
        return real(stored, given)

    monkeypatch.setattr(store.accounts, "verify_password", verifying)
    try:
        r = anon_client.post("/api/auth/token", data={"username": "t-planner", "password": password})
        assert r.status_code == (200 if password == TEST_PASSWORD else 401)
        assert held == [0]
    finally:
        with database.engine.begin() as conn:
            conn.execute(text("DELETE FROM login_failure"))

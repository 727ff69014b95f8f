"""Issue 14, the database: on PostGIS the platform runs as a non-superuser role made by `sigap migrate --app-role`,
which cannot change, delete or empty the audit log; TRUNCATE of the audit log is blocked for everyone."""

from __future__ import annotations

import io
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from api.config import Settings, get_settings
from jobs.cli import main
from tests.conftest import TEST_PASSWORD

ROLE_PASSWORD = "peran-aplikasi-" + uuid.uuid4().hex
# Roles and TRUNCATE are PostgreSQL's: these tests run on PostGIS only (never skipped there; SQLite has neither).
pytestmark = pytest.mark.parametrize("database", ["postgis"], indirect=True)


def test_audit_truncate_is_blocked_for_the_owner_too(database) -> None:
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_the_platform_runs_as_a_role_without_superuser_rights(database, monkeypatch, capsys) -> None:
    role = f"sigap_app_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SIGAP_DATABASE_URL", database.url)
    monkeypatch.setattr("sys.stdin", io.StringIO(ROLE_PASSWORD + "\n"))
    get_settings.cache_clear()
    try:
        assert main(["migrate", "--app-role", role, "--app-password-stdin"]) == 0
        out = capsys.readouterr().out
        assert role in out and ROLE_PASSWORD not in out
        app_url = make_url(database.url).set(username=role, password=ROLE_PASSWORD)
        app_engine = create_engine(app_url)
        try:
            with app_engine.connect() as conn:
                flags = conn.execute(text("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                                          "WHERE rolname = current_user")).one()
                assert tuple(flags) == (False, False, False)
            for statement in ("DELETE FROM audit_log", "UPDATE audit_log SET action = 'x'", "TRUNCATE audit_log",
                              "CREATE TABLE intruder (id int)", "DROP TABLE incident"):
                with pytest.raises(DBAPIError), app_engine.begin() as conn:
                    conn.execute(text(statement))
            # The whole platform works as that role: start-up, login, a call, the audit entry.
            settings = Settings(database_url=app_url.render_as_string(hide_password=False))
            with TestClient(create_app(settings)) as client:
                r = client.post("/api/auth/token", data={"username": "t-dispatcher", "password": TEST_PASSWORD})
                assert r.status_code == 200
                token = r.json()["access_token"]
                made = client.post("/api/incidents", json={"category": "medis", "caller_phone": "0812"},
                                   headers={"Authorization": f"Bearer {token}"})
                assert made.status_code == 201, made.text
                assert client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        finally:
            app_engine.dispose()
    finally:
        get_settings.cache_clear()
        database.clean()
        with database.engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


def test_a_weak_role_password_is_refused(database, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SIGAP_DATABASE_URL", database.url)
    monkeypatch.setenv("SIGAP_APP_PASSWORD", "pendek")
    get_settings.cache_clear()
    try:
        assert main(["migrate", "--app-role", "sigap_weak"]) == 2
    finally:
        get_settings.cache_clear()
    assert "pendek" not in capsys.readouterr().out

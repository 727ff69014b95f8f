"""Issue 14: `sigap backup` and `sigap restore` on both backends, and a restore drill into a fresh database that
compares every table's row count and checksum with the source."""

from __future__ import annotations

from jobs.cli import main
from store.backup import table_fingerprints
from store.db import make_engine
from store.migrate import upgrade
from tests.conftest import make_test_database


def test_restore_drill_into_a_fresh_database(client, configured, tmp_path, capsys) -> None:
    for phone in ("0812-1111", "0813-2222"):
        r = client.post("/api/incidents", json={"category": "kebakaran", "caller_phone": phone,
                                                "location": {"lon": 114.85, "lat": -1.71}})
        assert r.status_code == 201
    suffix = "dump" if configured.backend == "postgis" else "sqlite"
    out = tmp_path / f"drill.{suffix}"
    assert main(["backup", str(out)]) == 0
    assert out.is_file() and out.stat().st_size > 0
    source = table_fingerprints(configured.engine)
    assert source["incident"].rows == 2 and source["desa"].rows == 93 and source["audit_log"].rows > 0

    fresh_url, drop = make_test_database(configured.backend, tmp_path)
    try:
        assert main(["restore", str(out), "--database-url", fresh_url]) == 0
        restored_engine = make_engine(fresh_url)
        try:
            restored = table_fingerprints(restored_engine)
            assert restored == source
            upgrade(restored_engine)  # the restored copy is at the newest schema already: nothing to do
            assert table_fingerprints(restored_engine) == source
        finally:
            restored_engine.dispose()
        # A database that holds data is not overwritten by accident.
        assert main(["restore", str(out), "--database-url", fresh_url]) == 1
        assert "--force" in capsys.readouterr().err
    finally:
        drop()


def test_a_missing_backup_file_is_a_clear_error(configured, tmp_path, capsys) -> None:
    assert main(["restore", str(tmp_path / "nothing.dump")]) == 1
    assert "not found" in capsys.readouterr().err

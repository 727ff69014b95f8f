"""Backups and restores of either backend: SQLite's online backup API, pg_dump/pg_restore custom format for PostGIS.

A backup is taken while the platform runs (SQLite copies consistent pages under its own locks; pg_dump reads one
snapshot) and restored into a database the platform is not serving. `table_fingerprints` gives each table's row
count and a checksum of its rows, which the restore drill compares between the source and the restored copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from store.db import READ_ONLY, sqlite_module

__all__ = ["BackupError", "TableFingerprint", "backup", "restore", "table_fingerprints"]

# SpatiaLite's own bookkeeping tables change with every connection's metadata checks; our tables are compared.
_SKIP_PREFIXES = ("sqlite_", "spatial_ref_sys", "geometry_columns", "views_geometry", "virts_geometry",
                  "spatialite_history", "sql_statements_log", "data_licenses", "idx_", "SpatialIndex",
                  "ElementaryGeometries", "KNN", "spatialindex", "layer_statistics", "vector_layers", "raster_",
                  "geom_cols_ref_sys")


class BackupError(RuntimeError):
    """A backup or restore that could not be made; the message says why (never with a password)."""


@dataclass(frozen=True)
class TableFingerprint:
    """A table's row count and a SHA-256 over its rows in primary-key order."""

    rows: int
    sha256: str


def _pg_args(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment carrying it (never on the command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} tidak ditemukan; pasang postgresql-client / {name} not found; "
                          "install postgresql-client")
    return path


def backup(url: str, out: Path) -> Path:
    """Write a backup of the database at `url` to `out` (SQLite file, or pg_dump custom format); returns `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or not Path(parsed.database).is_file():
            raise BackupError(f"Basis data SQLite tidak ada / SQLite database not found: {parsed.database}")
        tmp = out.with_name(out.name + ".part")
        # The engine's SQLite library, not the standard one: two libraries in one process (a server, the tests)
        # drop each other's POSIX locks on the live file when one closes it (disk I/O errors, corruption).
        sqlite = sqlite_module()
        src = sqlite.connect(f"file:{parsed.database}?mode=ro", uri=True)
        dst = sqlite.connect(tmp)
        try:
            with dst:
                # One step under one read snapshot (WAL: writers go on meanwhile). A backup in steps restarts whenever
                # another connection writes, which on a busy platform may be forever.
                src.backup(dst)
        finally:
            dst.close()
            src.close()
        tmp.replace(out)
        return out
    conninfo, env = _pg_args(url)
    tmp = out.with_name(out.name + ".part")
    run = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(tmp), "--dbname", conninfo],
                         env=env, capture_output=True, text=True)
    if run.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"pg_dump gagal / failed: {run.stderr.strip()[-500:]}")
    tmp.replace(out)
    return out


def restore(backup_file: Path, url: str, *, replace: bool = False) -> None:
    """Restore a backup into the database at `url`; an existing non-empty target needs `replace`."""
    if not backup_file.is_file():
        raise BackupError(f"Berkas cadangan tidak ada / backup file not found: {backup_file}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        target = Path(parsed.database or "")
        if target.exists() and target.stat().st_size > 0 and not replace:
            raise BackupError(f"{target} sudah berisi data; pakai --force untuk menimpa / already holds data; "
                              "use --force to replace it")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".restore")
        sqlite = sqlite_module()  # the engine's library (see backup)
        src = sqlite.connect(f"file:{backup_file}?mode=ro", uri=True)
        dst = sqlite.connect(tmp)
        try:
            with dst:
                src.backup(dst)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
            src.close()
        if check != "ok":
            tmp.unlink(missing_ok=True)
            raise BackupError(f"Cadangan rusak / backup is damaged: {check}")
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        tmp.replace(target)
        return
    if not replace and _pg_has_tables(url):
        raise BackupError(f"{parsed.database} sudah berisi data; pakai --force untuk menimpa / already holds data; "
                          "use --force to replace it")
    conninfo, env = _pg_args(url)
    args = [_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction", "--dbname", conninfo]
    if replace:
        args[1:1] = ["--clean", "--if-exists"]
    run = subprocess.run([*args, str(backup_file)], env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise BackupError(f"pg_restore gagal / failed: {run.stderr.strip()[-800:]}")


def _pg_has_tables(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'")))
    finally:
        engine.dispose()


def table_fingerprints(engine: Engine) -> dict[str, TableFingerprint]:
    """Each of our tables with its row count and a checksum of its rows (ordered by the primary key)."""
    out: dict[str, TableFingerprint] = {}
    # A read connection (SQLite: deferred BEGIN, no write lock), inspected and read through the same connection.
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        insp = inspect(conn)
        for table in sorted(insp.get_table_names()):
            if table.startswith(_SKIP_PREFIXES):
                continue
            pk = insp.get_pk_constraint(table).get("constrained_columns") or []
            cols = [c["name"] for c in insp.get_columns(table)]
            order = ", ".join(f'"{c}"' for c in (pk or cols))
            digest = hashlib.sha256()
            count = 0
            result = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}'))
            for row in result:
                digest.update(repr(tuple(row)).encode())
                count += 1
            out[table] = TableFingerprint(count, digest.hexdigest())
    return out

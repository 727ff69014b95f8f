"""The PostgreSQL role the platform runs as: a login without superuser, database-creation or role-creation rights,
allowed to read and write the platform's tables, never to change or empty the audit log."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

__all__ = ["ensure_app_role"]

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def ensure_app_role(engine: Engine, *, role: str, password: str) -> None:
    """Create (or update) `role` and give it exactly what the running platform needs on this database."""
    if not _NAME.fullmatch(role):
        raise ValueError(f"Nama peran tidak sah / invalid role name: {role!r} (a-z, 0-9, _)")
    if len(password) < 16:
        raise ValueError("Kata sandi peran minimal 16 karakter / the role's password needs at least 16 characters")
    from psycopg import sql

    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        literal = sql.Literal(password).as_string(raw)
        exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        verb = "ALTER" if exists else "CREATE"
        conn.exec_driver_sql(
            f'{verb} ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
            f"PASSWORD {literal}"
        )
        database = conn.scalar(text("SELECT current_database()"))
        for statement in (
            f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{role}"',
            f'GRANT USAGE ON SCHEMA public TO "{role}"',
            f'REVOKE CREATE ON SCHEMA public FROM "{role}"',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"',
            f'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
            # The audit log is append-only for the platform: read and add, never change, delete or empty.
            f'REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM "{role}"',
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"',
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "{role}"',
        ):
            conn.exec_driver_sql(statement)

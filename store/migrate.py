"""Bring a database schema up to the newest Alembic revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the bundled migrations, no ini file needed."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, *, revision: str = "heads") -> None:
    """Apply every pending migration (PostGIS: the extension is created first when allowed)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            have = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first()
            if not have:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_tables(engine: Engine) -> set[str]:
    """Names of the tables that exist now."""
    return set(inspect(engine).get_table_names())

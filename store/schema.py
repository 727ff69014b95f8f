"""The whole SIGAP schema: importing this module puts every table on ``Base.metadata``.

Each model lives beside the queries of its concern (accounts, incidents, units...), so no single module
defines all tables. Anything that needs the whole schema (the Alembic environment, test fixtures, a tool
that creates or compares tables) imports this module instead of relying on whatever the API happens to
import. A new model module is added to the import list below; ``tests/test_migrations.py`` fails until it is.
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import alembic_helpers
from sqlalchemy import MetaData

from store import (  # noqa: F401
    accounts,
    calls,
    crew,
    data_version,
    dispatch,
    floods,
    ground_checks,
    heat_sources,
    hotspots,
    incidents,
    models,
    network,
    notify,
    reports,
    trust,
    units,
)
from store.models import Base

metadata: MetaData = Base.metadata

# Tables SpatiaLite 5 creates itself (``InitSpatialMetadata`` and its virtual tables) beyond the ones
# GeoAlchemy2's filter already knows (geometry_columns*, spatial_ref_sys*, idx_*...). They are not ours:
# without this, a comparison of the models with a SpatiaLite database would propose dropping them.
SPATIALITE_TABLES = frozenset({"ElementaryGeometries", "KNN", "KNN2", "SpatialIndex", "data_licenses",
                               "sql_statements_log"})


# The history search's text indexes (migration 0024): a pg_trgm GIN index on PostgreSQL, an FTS5 table (and the
# shadow tables FTS5 keeps) on SQLite. Backend-specific, so not model objects.
SEARCH_INDEXES = frozenset({"ix_incident_number_trgm"})
SEARCH_TABLE_PREFIX = "incident_number_fts"


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: everything but the internal tables of PostGIS and SpatiaLite and the search indexes."""
    if type_ == "table" and (name in SPATIALITE_TABLES or (name or "").startswith(SEARCH_TABLE_PREFIX)):
        return False
    if type_ == "index" and name in SEARCH_INDEXES:
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))

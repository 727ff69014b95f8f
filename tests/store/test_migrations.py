"""The migrations and the models describe the same schema, and every tool that loads the models sees all of it.

Regression (issue 13): the Alembic environment imported only ``store/models.py`` (4 of the tables), so
autogenerate proposed dropping every other table; the test fixtures imported ``api.app`` just to get the
tables registered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from api.config import PROJECT_ROOT
from tests.conftest import Database

PACKAGES = ("api", "geo", "store", "jobs", "web")


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter on this tree (nothing imported but what the code imports)."""
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300,
    )


def test_migrated_schema_matches_the_models(database: Database) -> None:
    """After `upgrade`, autogenerate finds nothing to add, drop or alter on either backend."""
    from store.schema import include_object, metadata

    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
        diffs = compare_metadata(context, metadata)
        stored = set(inspect(conn).get_table_names())
    assert diffs == []
    # The filter hides the spatial extension's own tables, never one of ours.
    ours = set(metadata.tables)
    assert ours <= stored
    assert all(include_object(metadata.tables[n], n, "table", False, None) for n in ours)
    theirs = stored - ours - {"alembic_version"}  # Alembic leaves its own table out of comparisons
    assert theirs and not any(include_object(None, n, "table", True, None) for n in theirs), theirs


def test_alembic_check_in_a_fresh_process(database: Database) -> None:
    """`alembic check` through store/migrations/env.py alone (no API imported) proposes no change."""
    result = _run(
        """
        import sys
        from alembic import command
        from store.db import make_engine
        from store.migrate import alembic_config

        engine = make_engine(sys.argv[1])
        try:
            with engine.connect() as conn:
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.check(cfg)
        finally:
            engine.dispose()
        """,
        database.url,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "No new upgrade operations detected" in result.stdout


def test_schema_module_registers_every_model_and_all_live_in_store() -> None:
    """Importing store.schema alone registers exactly the tables that importing every module does."""
    result = _run(
        """
        import importlib, json, pkgutil, sys
        import store.schema
        from store.models import Base

        alone = sorted(Base.metadata.tables)
        for package in sys.argv[1:]:
            root = importlib.import_module(package)
            for info in pkgutil.walk_packages(root.__path__, package + "."):
                if ".migrations" not in info.name:
                    importlib.import_module(info.name)
        print(json.dumps({
            "alone": alone,
            "everything": sorted(Base.metadata.tables),
            "model_modules": sorted({m.class_.__module__ for m in Base.registry.mappers}),
        }))
        """,
        *PACKAGES,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["alone"] == seen["everything"]
    assert len(seen["alone"]) >= 18
    # A table defined in api/ or jobs/ would have no migration home: every model is a store/ module.
    assert all(m.startswith("store.") for m in seen["model_modules"]), seen["model_modules"]

"""Alembic environment: runs on the connection handed over by `store.migrate.upgrade`."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

# The whole schema, not only store/models.py: autogenerate compares every table the migrations create.
from store.schema import include_object, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    include_object=include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

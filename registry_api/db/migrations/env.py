"""Alembic environment: migrations run on the connection that `registry_api.db.migrate` gives."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from registry_api.db.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through registry_api.db.migrate.upgrade(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

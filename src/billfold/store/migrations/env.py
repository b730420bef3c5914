"""Alembic environment: runs on the connection Billfold hands over (see store/migrate.py)."""

from __future__ import annotations

from alembic import context

from billfold.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - Billfold always passes its connection
    raise RuntimeError("run migrations through `billfold init` or `billfold db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

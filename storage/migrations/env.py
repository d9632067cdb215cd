"""Alembic environment: runs on the connection `storage.db.upgrade_schema` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from linernotes.storage.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from linernotes.storage.db import make_engine, resolve_url

        engine = make_engine(resolve_url(context.config.get_main_option("sqlalchemy.url")))
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch migrations copy and rename tables; without the legacy rename
        # behaviour SQLite rewrites the views that reference them and fails.
        connection.exec_driver_sql("PRAGMA legacy_alter_table=ON")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()

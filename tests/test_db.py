"""Schema creation and upgrades, URL handling, vector round trips on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from linernotes.storage import StorageError, Store, open_store, resolve_url
from linernotes.storage.models import Base, Vector
from linernotes.storage.vectors import from_blob, to_blob


def test_migrations_match_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    tables_only = [d for d in diff if d[0] in ("add_table", "remove_table", "add_column")]
    assert tables_only == []


def test_open_twice_is_a_noop(db_url: str) -> None:
    first = open_store(db_url)
    tables = set(inspect(first.engine).get_table_names())
    first.close()
    second = open_store(db_url)
    assert set(inspect(second.engine).get_table_names()) == tables
    assert {"documents", "artists", "tracks", "albums", "mentions", "descriptors"} <= tables
    second.close()


def test_vectors_round_trip(store: Store) -> None:
    now = datetime.now(UTC)
    with store.session() as s:
        s.add(
            Vector(
                entity_kind="track",
                entity_id="t",
                model="m",
                model_version="1",
                dim=4,
                vector=[0.5, -1.0, 2.0, 0.0],
                support=3,
                updated_at=now,
            )
        )
    with store.session() as s:
        got = s.get(Vector, ("track", "t", "m"))
        assert got is not None
        np.testing.assert_allclose(got.vector, [0.5, -1.0, 2.0, 0.0])
        assert got.vector.dtype == np.float32


def test_blob_is_compact_float32() -> None:
    blob = to_blob([1.0, 2.0, 3.0])
    assert len(blob) == 12
    assert from_blob(blob).tolist() == [1.0, 2.0, 3.0]


def test_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    assert resolve_url(None) == "sqlite:///linernotes.db"
    monkeypatch.setenv("LINERNOTES_DB", "sqlite:///x.db")
    assert resolve_url(None) == "sqlite:///x.db"
    assert resolve_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    with pytest.raises(StorageError, match="unsupported database"):
        resolve_url("mysql://u@h/db")
    with pytest.raises(StorageError, match="invalid database URL"):
        resolve_url("not a url")


def test_concurrent_first_opens_create_the_schema_once(db_url: str) -> None:
    """Workers starting together on a new database all succeed (no 'already exists')."""
    from concurrent.futures import ThreadPoolExecutor

    def opener(_: int) -> str:
        store = open_store(db_url)
        store.close()
        return "ok"

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(opener, range(4))) == ["ok"] * 4

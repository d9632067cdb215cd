"""`storage.frames.query_frame` on both backends: views by name, SQL with parameters."""

from __future__ import annotations

import pytest

from linernotes.storage import Store
from linernotes.storage.frames import query_frame
from tests.test_views import seed


def test_view_by_name_and_sql_with_params(store: Store) -> None:
    seed(store)
    frame = query_frame(store, "artist_descriptors")
    columns = ["artist_id", "artist", "term", "weight", "count", "source", "term_rank"]
    assert list(frame.columns) == columns
    assert sorted(frame["artist"]) == ["Cocteau Twins", "Slowdive"]

    top = query_frame(
        store,
        "SELECT track, weight FROM track_descriptors WHERE term = :term ORDER BY weight DESC",
        {"term": "dreamy"},
    )
    assert top["track"].tolist() == ["Heaven or Las Vegas", "Alison"]
    assert top["weight"].tolist() == [0.9, 0.4]


def test_unknown_bare_name_is_rejected(sqlite_store: Store) -> None:
    with pytest.raises(KeyError, match="no_such_view"):
        query_frame(sqlite_store, "no_such_view")

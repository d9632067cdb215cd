"""Bulk upserts behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from linernotes.storage import Store
from linernotes.storage.models import Artist, Descriptor
from linernotes.storage.upsert import dedupe_by_key, insert_rows, upsert


def _artist(i: str, name: str) -> dict[str, object]:
    return {"id": i, "name": name, "norm_name": name.lower(), "aliases": []}


def test_duplicate_keys_in_one_batch_last_wins(store: Store) -> None:
    with store.session() as s:
        sent = upsert(
            s, Artist, [_artist("a", "One"), _artist("a", "Two"), _artist("b", "B")], ["id"]
        )
    assert sent == 2
    with store.session() as s:
        assert s.get(Artist, "a").name == "Two"
        assert s.scalar(select(func.count()).select_from(Artist)) == 2


def test_upsert_updates_and_insert_or_ignore(store: Store) -> None:
    with store.session() as s:
        upsert(s, Artist, [_artist("a", "Old")], ["id"])
    with store.session() as s:
        upsert(s, Artist, [_artist("a", "Ignored")], ["id"], update=[])
    with store.session() as s:
        assert s.get(Artist, "a").name == "Old"
        upsert(s, Artist, [_artist("a", "New")], ["id"])
    with store.session() as s:
        assert s.get(Artist, "a").name == "New"


def test_large_batches_are_chunked(store: Store) -> None:
    rows = [_artist(f"id{i}", f"Name {i}") for i in range(12000)]
    with store.session() as s:
        upsert(s, Artist, rows, ["id"])
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Artist)) == 12000


def test_dedupe_merges_partial_rows() -> None:
    rows = dedupe_by_key([{"k": 1, "a": 1, "b": 1}, {"k": 1, "b": 2}], ["k"])
    assert rows == [{"k": 1, "a": 1, "b": 2}]


def test_insert_rows_applies_column_defaults_and_json_in_chunks(store: Store) -> None:
    rows = [
        {"entity_kind": "track", "entity_id": f"t{i}", "term": "dreamy", "weight": 0.5,
         "count": 1, "doc_freq": 2, "evidence_ids": [i, i + 1]}
        for i in range(7)
    ]  # fmt: skip
    with store.session() as s:
        assert insert_rows(s, Descriptor, rows, chunk_rows=3) == 7
    with store.session() as s:
        got = s.get(Descriptor, ("track", "t4", "dreamy"))
        assert got is not None and got.evidence_ids == [4, 5] and got.source == "text"
        assert s.scalar(select(func.count()).select_from(Descriptor)) == 7

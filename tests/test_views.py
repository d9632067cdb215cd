"""The SQL views (migration 0002) on both backends, over a tiny hand-written corpus.

`seed` is also imported by the other view/CLI/web tests, so every one of them
queries the same few rows and their expectations stay easy to read.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, inspect, text

from linernotes.storage import Store
from linernotes.storage.models import (
    Album,
    Artist,
    CrawlRun,
    Descriptor,
    DescriptorMonth,
    Document,
    EntityState,
    Evidence,
    Mention,
    Neighbor,
    Source,
    Track,
    Vector,
)
from linernotes.storage.vectors import to_blob
from linernotes.storage.views import VIEW_NAMES, VIEWS

REPO = Path(__file__).resolve().parents[1]

# Non-ASCII text before the mentions: offsets are characters, not bytes.
DOC1 = "Café notes. Cocteau Twins made Heaven or Las Vegas. It sounds dreamy. Blue Haze opened."
DOC2 = "Alison is a hazy song by Slowdive. Blue Haze sounds lush, like My Bloody Valentine."


def _dt(month: int, day: int) -> datetime:
    return datetime(2024, month, day, 12, 0, tzinfo=UTC)


def _mention(doc_id: int, doc: str, surface: str, label: str, entity: str | None) -> Mention:
    """A mention of `surface` with its sentence bounds found in the text (sentences end '. ')."""
    start = doc.index(surface)
    sent_start = doc.rfind(". ", 0, start)
    sent_start = 0 if sent_start < 0 else sent_start + 2
    sent_end = doc.find(".", start + len(surface))
    sent_end = len(doc) if sent_end < 0 else sent_end + 1
    return Mention(
        document_id=doc_id,
        start=start,
        end=start + len(surface),
        sent_start=sent_start,
        sent_end=sent_end,
        label=label,
        entity_id=entity,
        surface=surface,
        norm_surface=surface.lower(),
        confidence=1.0,
        method="gazetteer",
    )


def _catalogue() -> list[Any]:
    return [
        Artist(id="ar:cocteau", name="Cocteau Twins", norm_name="cocteau twins", aliases=[]),
        Artist(id="ar:slowdive", name="Slowdive", norm_name="slowdive", aliases=[]),
        Artist(
            id="ar:mbv", name="My Bloody Valentine", norm_name="my bloody valentine", aliases=[]
        ),
        Album(id="al:souvlaki", title="Souvlaki", norm_title="souvlaki", artist_id="ar:slowdive"),
    ]


def _tracks() -> list[Any]:
    return [
        Track(id="tr:heaven", title="Heaven or Las Vegas", norm_title="heaven or las vegas",
              artist_id="ar:cocteau"),
        Track(id="tr:alison", title="Alison", norm_title="alison", artist_id="ar:slowdive"),
        Track(id="tr:soon", title="Soon", norm_title="soon", artist_id="ar:mbv"),
    ]  # fmt: skip


def _corpus() -> list[Any]:
    now = _dt(3, 1)
    stats = {"fetched": 4, "stored": 2, "duplicates": 1, "errors": {"timeout": 1}}
    docs = [
        Document(id=1, url="https://blog.example/2024/01/heaven", canonical_url="c1",
                 source_id=1, crawl_run_id=1, status="stored", title="Heaven",
                 published_at=_dt(1, 10), language="en", text=DOC1, content_hash="h1",
                 extracted_hash="h1", fetched_at=now, metadata_json={}),
        Document(id=2, url="https://blog.example/2024/02/alison", canonical_url="c2",
                 source_id=1, crawl_run_id=1, status="stored", title="Alison",
                 published_at=_dt(2, 15), language="en", text=DOC2, content_hash="h2",
                 extracted_hash=None, fetched_at=now, metadata_json={}),
        Document(id=3, url="https://blog.example/tag/x", canonical_url="c3", source_id=1,
                 crawl_run_id=1, status="skipped", skip_reason="not allowed", fetched_at=now,
                 metadata_json={}),
        Document(id=4, url="https://blog.example/amp/heaven", canonical_url="c4", source_id=1,
                 crawl_run_id=1, status="stored", text=DOC1, content_hash="h1",
                 extracted_hash="h1", duplicate_of=1, fetched_at=now, metadata_json={}),
    ]  # fmt: skip
    return [
        Source(id=1, name="dream-blog", config={"schedule": "0 */6 * * *"}, created_at=now),
        CrawlRun(id=1, sources=["dream-blog"], started_at=now, finished_at=now,
                 status="finished", stats=stats),
        *docs,
    ]  # fmt: skip


def _mentions() -> list[Any]:
    return [
        _mention(1, DOC1, "Cocteau Twins", "ARTIST", "ar:cocteau"),
        _mention(1, DOC1, "Heaven or Las Vegas", "TRACK", "tr:heaven"),
        _mention(1, DOC1, "Blue Haze", "ARTIST", None),
        _mention(2, DOC2, "Alison", "TRACK", "tr:alison"),
        _mention(2, DOC2, "Slowdive", "ARTIST", "ar:slowdive"),
        _mention(2, DOC2, "Blue Haze", "ARTIST", None),
        _mention(2, DOC2, "My Bloody Valentine", "ARTIST", "ar:mbv"),
    ]


def _evidence() -> list[Any]:
    def ev(i: int, kind: str, eid: str, doc: int, sentence: str, month: int) -> Evidence:
        body = DOC1 if doc == 1 else DOC2
        start = body.index(sentence)
        return Evidence(id=i, entity_kind=kind, entity_id=eid, document_id=doc,
                        sent_start=start, sent_end=start + len(sentence), text=sentence,
                        sentence_hash=f"s{i}", published_at=_dt(month, 10),
                        via="mention")  # fmt: skip

    return [
        ev(1, "track", "tr:heaven", 1, "Cocteau Twins made Heaven or Las Vegas.", 1),
        ev(2, "track", "tr:heaven", 1, "It sounds dreamy.", 1),
        ev(3, "track", "tr:alison", 2, "Alison is a hazy song by Slowdive.", 2),
        ev(4, "artist", "ar:slowdive", 2, "Alison is a hazy song by Slowdive.", 2),
    ]


def _profiles() -> list[Any]:
    def d(kind: str, eid: str, term: str, weight: float, count: int) -> Descriptor:
        return Descriptor(entity_kind=kind, entity_id=eid, term=term, weight=weight,
                          count=count, doc_freq=1, evidence_ids=[])  # fmt: skip

    def dm(eid: str, month: str, term: str, weight: float) -> DescriptorMonth:
        return DescriptorMonth(entity_kind="track", entity_id=eid, month=month, term=term,
                               weight=weight, count=1)  # fmt: skip

    def nb(kind: str, eid: str, rank: int, other: str, score: float) -> Neighbor:
        return Neighbor(entity_kind=kind, entity_id=eid, rank=rank, neighbor_id=other,
                        score=score, model="minilm")  # fmt: skip

    def vec(eid: str, values: list[float]) -> Vector:
        return Vector(entity_kind="track", entity_id=eid, model="minilm", model_version="1",
                      dim=3, vector=values, support=2, updated_at=_dt(3, 1))  # fmt: skip

    def state(eid: str, evidence: str, profiled: str | None) -> EntityState:
        return EntityState(entity_kind="track", entity_id=eid, evidence_hash=evidence,
                           profiled_hash=profiled)  # fmt: skip

    return [
        d("track", "tr:heaven", "dreamy", 0.9, 3),
        d("track", "tr:heaven", "ethereal", 0.5, 1),
        d("track", "tr:alison", "hazy", 0.8, 2),
        d("track", "tr:alison", "dreamy", 0.4, 1),
        d("artist", "ar:slowdive", "shoegaze", 0.7, 2),
        d("artist", "ar:cocteau", "ethereal", 0.8, 2),
        d("album", "al:souvlaki", "lush", 0.6, 1),
        dm("tr:alison", "2024-01", "hazy", 0.3),
        dm("tr:alison", "2024-02", "hazy", 0.8),
        dm("tr:alison", "2024-02", "dreamy", 0.4),
        dm("tr:heaven", "2024-01", "dreamy", 0.9),
        nb("track", "tr:alison", 1, "tr:heaven", 0.8),
        nb("track", "tr:alison", 2, "tr:soon", 0.5),
        nb("track", "tr:heaven", 1, "tr:alison", 0.8),
        nb("artist", "ar:slowdive", 1, "ar:cocteau", 0.7),
        vec("tr:alison", [1.0, 0.0, 0.0]),
        vec("tr:heaven", [0.9, 0.1, 0.0]),
        state("tr:alison", "e1", "e1"),
        state("tr:heaven", "e2", "e-old"),
    ]


def _insert(conn: Connection, tables: dict[str, Table], obj: Any) -> None:
    """Insert the attributes set on a model object into the database's own table.

    Going through the reflected table, not the ORM, keeps the fixture valid
    while models gain columns ahead of their migrations.
    """
    name = obj.__table__.name
    if name not in tables:
        tables[name] = Table(name, MetaData(), autoload_with=conn)
    values = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    for column in obj.__table__.columns:  # the model's Python-side defaults
        default = column.default
        if column.key not in values and default is not None and hasattr(default, "arg"):
            values[column.key] = default.arg(None) if callable(default.arg) else default.arg
    present = set(tables[name].columns.keys())
    values = {k: v for k, v in values.items() if k in present}
    if "vector" in values:
        vec = values["vector"]
        pg = conn.dialect.name == "postgresql"
        values["vector"] = list(vec) if pg else to_blob(vec)
    conn.execute(tables[name].insert().values(values))


def seed(store: Store) -> None:
    """Insert the tiny corpus: 3 artists, 3 tracks, 1 album, 4 documents, profiles."""
    tables: dict[str, Table] = {}
    objects = _catalogue() + _tracks() + _corpus() + _mentions() + _evidence() + _profiles()
    with store.engine.begin() as conn:
        for obj in objects:
            _insert(conn, tables, obj)


def rows(store: Store, sql: str, **params: Any) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def test_every_view_exists_after_migration(store: Store) -> None:
    assert set(VIEW_NAMES) <= set(inspect(store.engine).get_view_names())


def test_migration_holds_the_same_sql_as_storage_views() -> None:
    """The newest frozen copy of each view, over every revision that holds VIEWS."""
    frozen: dict[str, str] = {}
    for path in sorted((REPO / "storage" / "migrations" / "versions").glob("0*.py")):
        spec = importlib.util.spec_from_file_location(f"mig_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        frozen.update(dict(getattr(module, "VIEWS", ())))
    assert {v.name: v.create_sql for v in VIEWS} == frozen, (
        "storage/views.py changed: add a migration that recreates the changed views"
    )


def test_top_descriptors_carry_names_and_rank(store: Store) -> None:
    seed(store)
    top = rows(store, "SELECT * FROM track_descriptors WHERE term_rank = 1 ORDER BY track_id")
    assert [(r["track"], r["artist"], r["term"]) for r in top] == [
        ("Alison", "Slowdive", "hazy"),
        ("Heaven or Las Vegas", "Cocteau Twins", "dreamy"),
    ]
    artist = rows(store, "SELECT artist, term FROM artist_descriptors WHERE artist_id = :a",
                  a="ar:slowdive")  # fmt: skip
    assert artist == [{"artist": "Slowdive", "term": "shoegaze"}]


def test_descriptor_entities_name_every_kind(store: Store) -> None:
    seed(store)
    found = rows(store, "SELECT entity_kind, name, artist_name FROM descriptor_entities "
                 "WHERE term IN ('lush', 'ethereal') ORDER BY weight DESC")  # fmt: skip
    assert found == [
        {"entity_kind": "artist", "name": "Cocteau Twins", "artist_name": "Cocteau Twins"},
        {"entity_kind": "album", "name": "Souvlaki", "artist_name": "Slowdive"},
        {"entity_kind": "track", "name": "Heaven or Las Vegas", "artist_name": "Cocteau Twins"},
    ]


def test_neighbor_names_on_both_sides(store: Store) -> None:
    seed(store)
    found = rows(store, "SELECT name, neighbor_name, neighbor_artist_name FROM neighbor_names "
                 "WHERE entity_id = 'tr:alison' ORDER BY rank")  # fmt: skip
    assert found == [
        {"name": "Alison", "neighbor_name": "Heaven or Las Vegas",
         "neighbor_artist_name": "Cocteau Twins"},
        {"name": "Alison", "neighbor_name": "Soon", "neighbor_artist_name": "My Bloody Valentine"},
    ]  # fmt: skip


def test_trends_by_month(store: Store) -> None:
    seed(store)
    found = rows(store, "SELECT month, weight FROM descriptor_trends "
                 "WHERE entity_id = 'tr:alison' AND term = 'hazy' ORDER BY month")  # fmt: skip
    assert found == [{"month": "2024-01", "weight": 0.3}, {"month": "2024-02", "weight": 0.8}]


def test_mention_sentence_matches_python_offsets(store: Store) -> None:
    seed(store)
    texts = {1: DOC1, 2: DOC2}
    found = rows(store, 'SELECT mention_id, document_id, start, "end", surface, sentence, '
                 "entity_name, url FROM mention_evidence ORDER BY mention_id")  # fmt: skip
    assert len(found) == 7
    spans = {(m.document_id, m.surface): m for m in _mentions()}
    for row in found:
        body = texts[row["document_id"]]
        source = spans[(row["document_id"], row["surface"])]
        assert body[row["start"] : row["end"]] == row["surface"]
        assert row["sentence"] == body[source.sent_start : source.sent_end]
        assert row["surface"] in row["sentence"]
    heaven = next(r for r in found if r["surface"] == "Heaven or Las Vegas")
    assert heaven["sentence"] == "Cocteau Twins made Heaven or Las Vegas."
    assert heaven["entity_name"] == "Heaven or Las Vegas"
    assert heaven["url"].endswith("/heaven")


def test_discoveries_count_unlinked_candidates(store: Store) -> None:
    seed(store)
    found = rows(store, "SELECT label, surface, mentions, documents FROM discoveries")
    assert found == [{"label": "ARTIST", "surface": "Blue Haze", "mentions": 2, "documents": 2}]


def test_downgrade_drops_views_and_upgrade_restores_them(sqlite_store: Store) -> None:
    from alembic import command
    from alembic.config import Config

    from linernotes.storage.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with sqlite_store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert not set(VIEW_NAMES) & set(inspect(sqlite_store.engine).get_view_names())
    with sqlite_store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert set(VIEW_NAMES) <= set(inspect(sqlite_store.engine).get_view_names())

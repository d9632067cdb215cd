"""The embed stage end to end on a tiny corpus, its incrementality, and its commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from linernotes.cli import main
from linernotes.nlp.profiles import CULTURAL, ProfileConfig, build_profiles
from linernotes.nlp.vocabulary import GENRE_FAMILIES
from linernotes.storage import Store
from linernotes.storage.models import (
    Artist,
    Descriptor,
    DescriptorMonth,
    Document,
    Evidence,
    Neighbor,
    SentenceEmbedding,
    Vector,
)
from tests.test_evidence import seed_corpus

# Every test here builds profiles, and the embed stage tags evidence with spaCy.
pytestmark = pytest.mark.slow


class FakeEncoder:
    """Deterministic unit vectors per text, counting what it was asked to encode."""

    name = "all-MiniLM-L6-v2"
    version = "fake-v1"
    dim = 384

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        self.encoded.extend(sentences)
        rows = []
        for s in sentences:
            seed = int(hashlib.sha1(s.encode()).hexdigest()[:8], 16)
            v = np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINERNOTES_CACHE", str(tmp_path / "cache"))


CFG = ProfileConfig(use_word2vec=False)
GENRE_FAMILIES_LIST = list(GENRE_FAMILIES)


def _count(store: Store, model: type, **where: str) -> int:
    with store.session() as session:
        q = select(func.count()).select_from(model)
        for col, value in where.items():
            q = q.where(getattr(model, col) == value)
        return int(session.execute(q).scalar_one())


def test_build_profiles_writes_everything(store: Store) -> None:
    seed_corpus(store)
    enc = FakeEncoder()
    summary = build_profiles(store, config=CFG, encoder=enc)
    assert summary.entities_recomputed == 3 and "3 entities profiled" in summary.format()
    with store.session() as session:
        terms = (
            session.execute(select(Descriptor.term).where(Descriptor.entity_id == "ar:glasswing"))
            .scalars()
            .all()
        )
        assert "dream pop" in terms and "shoegaze" in terms
        assert not any("ironhull" in t or "glasswing" in t for t in terms)
        vec = session.execute(
            select(Vector).where(Vector.entity_id == "tr:slow-tide", Vector.model == CULTURAL)
        ).scalar_one()
        assert vec.support == 1 and vec.backoff == 0  # no backoff by default (ProfileConfig)
        versions = dict(
            session.execute(
                select(Vector.model, Vector.model_version).where(Vector.entity_id == "ar:ironhull")
            ).all()
        )
        assert versions["minilm-mean"] == "all-MiniLM-L6-v2:fake-v1"
        assert {"tfidf-hash", "text-hash", "context-hash", "genre-family", CULTURAL} <= set(
            versions
        )
        assert "era" not in versions  # no years in its evidence: no era vector
        family = session.execute(
            select(Vector.vector).where(
                Vector.entity_id == "ar:ironhull", Vector.model == "genre-family"
            )
        ).scalar_one()
        assert family[GENRE_FAMILIES_LIST.index("metal")] > 0  # "doom metal", "heavy"
        nbrs = (
            session.execute(
                select(Neighbor.neighbor_id).where(
                    Neighbor.entity_kind == "artist", Neighbor.entity_id == "ar:glasswing"
                )
            )
            .scalars()
            .all()
        )
        assert nbrs == ["ar:ironhull"]
    assert _count(store, DescriptorMonth, month="2024-03") > 0
    # every distinct sentence embedded once, cached by hash
    assert len(enc.encoded) == len(set(enc.encoded)) == _count(store, SentenceEmbedding)


def test_second_run_recomputes_only_changed_entities(sqlite_store: Store) -> None:
    # one of three documents is a third of the corpus: past the drift share, which would
    # rewrite everything (tests/test_profiles_incremental.py); here only incrementality
    cfg = ProfileConfig(use_word2vec=False, refresh_share=1.0)
    seed_corpus(sqlite_store)
    build_profiles(sqlite_store, config=cfg, encoder=FakeEncoder())
    enc = FakeEncoder()
    nothing = build_profiles(sqlite_store, config=cfg, encoder=enc)
    assert nothing.entities_recomputed == 0 and enc.encoded == []
    with sqlite_store.session() as session:
        session.execute(
            update(Document)
            .where(Document.id == 3)
            .values(content_hash="new", text=Document.text + " Chiming guitars.")
        )
    again = build_profiles(sqlite_store, config=cfg, encoder=enc)
    assert again.documents_rebuilt == 1 and again.entities_recomputed == 1
    assert enc.encoded == ["Chiming guitars."]  # the other sentences came from the cache
    assert again.sentences_cached > 0


def test_commands(sqlite_store: Store, sqlite_url: str, tmp_path: Path) -> None:
    seed_corpus(sqlite_store)
    build_profiles(sqlite_store, config=CFG, encoder=FakeEncoder())
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["--db", sqlite_url, *args])
        assert result.exit_code == 0, result.output
        return result.output

    out = run("descriptors", "--artist", "glasswing", "-n", "5", "--evidence")
    assert "artist Glasswing" in out and "- [" in out
    data = json.loads(run("descriptors", "--track", "Slow Tide", "--json"))
    assert data["id"] == "tr:slow-tide" and data["terms"][0]["count"] >= 1
    sim = json.loads(run("similar", "--artist", "ar:ironhull", "-k", "1", "--json"))
    assert sim["similar"][0]["id"] == "ar:glasswing"
    assert run("export", "neighbors", "--kind", "artist", "-k", "1").splitlines() == [
        "ar:glasswing\tar:ironhull",
        "ar:ironhull\tar:glasswing",
    ]
    gold = tmp_path / "gold.tsv"
    gold.write_text("ar:glasswing\tar:ironhull\nar:nobody\tar:ironhull\n")
    out = run("eval", "similarity", "--gold", str(gold), "--kind", "artist", "-k", "1")
    assert "P@1\t0.5000" in out and "with vector\t1/2" in out
    gold.write_text("ar:glasswing\tar:ironhull\nar:ironhull ar:glasswing\n")
    broken = runner.invoke(
        main, ["--db", sqlite_url, "eval", "similarity", "--gold", str(gold), "--kind", "artist"]
    )
    assert broken.exit_code == 1 and f"{gold}: line 2: expected" in broken.output
    bad = runner.invoke(main, ["--db", sqlite_url, "similar", "--artist", "Nobody Here"])
    assert bad.exit_code == 1 and "unknown artist" in bad.output
    assert runner.invoke(main, ["--db", sqlite_url, "similar"]).exit_code != 0


def test_vector_search_on_both_backends(store: Store) -> None:
    """`similar` past the neighbour table's depth: pgvector HNSW on PostgreSQL, numpy on SQLite."""
    from linernotes.commands.profiles import vector_search

    seed_corpus(store)
    build_profiles(store, config=CFG, encoder=FakeEncoder())
    found = vector_search(store, "artist", "ar:ironhull", 5)
    assert [n for n, _ in found] == ["ar:glasswing"]
    assert -1.0 <= found[0][1] <= 1.0
    assert vector_search(store, "artist", "ar:unknown", 5) == []


def test_concurrent_embed_runs_never_do_the_work_twice(db_url: str) -> None:
    """Two embed workers on one database: one profiles everything, the other finds it done."""
    from concurrent.futures import ThreadPoolExecutor

    from linernotes.storage import open_store

    seeded = open_store(db_url)
    seed_corpus(seeded)
    seeded.close()
    encoders = [FakeEncoder(), FakeEncoder()]

    def worker(i: int) -> int:
        store = open_store(db_url)
        try:
            return build_profiles(store, config=CFG, encoder=encoders[i]).entities_recomputed
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = sorted(pool.map(worker, range(2)))
    assert done == [0, 3]
    encoded = encoders[0].encoded + encoders[1].encoded
    assert len(encoded) == len(set(encoded))


def test_postgres_workers_split_sentence_embedding(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL two embed workers share the sentence embedding, none encoded twice."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import linernotes.nlp.profiles.sentence_cache  # noqa: F401
    from linernotes import nlp
    from linernotes.storage import open_store

    monkeypatch.setattr(nlp.profiles.sentence_cache, "SENTENCE_CHUNK", 1)
    seeded = open_store(pg_url)
    seed_corpus(seeded)
    seeded.close()

    class SlowEncoder(FakeEncoder):
        def encode(self, sentences: Sequence[str]) -> np.ndarray:
            time.sleep(0.2)
            return super().encode(sentences)

    encoders = [SlowEncoder(), SlowEncoder()]

    def worker(i: int) -> int:
        store = open_store(pg_url)
        try:
            return build_profiles(store, config=CFG, encoder=encoders[i]).entities_recomputed
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert sorted(pool.map(worker, range(2))) == [0, 3]
    encoded = [s for e in encoders for s in e.encoded]
    assert len(encoded) == len(set(encoded))  # no sentence (or prototype) encoded twice
    assert "Later, Glasswing toured with Ironhull." in encoded  # shared by two entities
    assert all(e.encoded for e in encoders)  # both workers did part of the work


def test_track_backoff_towards_the_artist_when_configured(sqlite_store: Store) -> None:
    seed_corpus(sqlite_store)
    cfg = ProfileConfig(use_word2vec=False, track_backoff_k=5.0)
    build_profiles(sqlite_store, config=cfg, encoder=FakeEncoder())
    with sqlite_store.session() as session:
        vec = session.execute(
            select(Vector).where(Vector.entity_id == "tr:slow-tide", Vector.model == CULTURAL)
        ).scalar_one()
    assert vec.support == 1 and 0 < vec.backoff < 1  # one sentence: backs off to artist


def test_terms_inferred_from_neighbours_are_marked_and_touch_no_vector(
    sqlite_store: Store, sqlite_url: str, tmp_path: Path
) -> None:
    """Glasswing's only neighbour is Ironhull: it gets Ironhull's descriptive terms, marked."""
    seed_corpus(sqlite_store)
    build_profiles(sqlite_store, config=CFG, encoder=FakeEncoder())
    with sqlite_store.session() as session:
        rows = {
            d.term: d
            for d in session.execute(
                select(Descriptor).where(Descriptor.entity_id == "ar:glasswing")
            ).scalars()
        }
        ironhull_evidence = set(
            session.execute(
                select(Evidence.id).where(Evidence.entity_id == "ar:ironhull")
            ).scalars()
        )
        vectors = _vectors(session)
        neighbours = session.execute(select(Neighbor.entity_id, Neighbor.neighbor_id)).all()
    assert rows["dream pop"].source == "text" and rows["dream pop"].count >= 1
    inferred = {t for t, d in rows.items() if d.source == "neighbours"}
    assert "doom metal" in inferred and "sludgy" in inferred  # Ironhull's words, not its own
    assert not inferred & {"ironhull", "dirge", "dream pop"}  # no names, free words or own terms
    for term in inferred:
        assert rows[term].count == 0 and set(rows[term].evidence_ids) <= ironhull_evidence
    result = CliRunner().invoke(
        main, ["--db", sqlite_url, "descriptors", "--artist", "Glasswing", "-n", "50"]
    )
    assert "doom metal  (inferred from neighbours" in result.output
    shown = CliRunner().invoke(
        main, ["--db", sqlite_url, "descriptors", "--artist", "Glasswing", "-n", "50", "--evidence"]
    )
    # the sentences under an inferred term are Ironhull's, and say so; its own are not marked
    assert "- a neighbour's: [2] Ironhull play crushing doom metal" in shown.output
    assert "- [3] Glasswing are a dream pop band" in shown.output

    other = tmp_path / "off.db"
    from linernotes.storage import open_store

    off_store = open_store(f"sqlite:///{other}")
    seed_corpus(off_store)
    build_profiles(
        off_store, config=replace(CFG, infer_from_neighbours=False), encoder=FakeEncoder()
    )
    with off_store.session() as session:
        assert not session.execute(
            select(Descriptor).where(Descriptor.source == "neighbours")
        ).first()
        off_vectors = _vectors(session)
        assert session.execute(select(Neighbor.entity_id, Neighbor.neighbor_id)).all() == neighbours
    off_store.close()
    assert vectors.keys() == off_vectors.keys()
    assert all(np.array_equal(vectors[m], off_vectors[m]) for m in vectors)


def test_a_term_an_entity_stored_itself_is_never_inferred_for_it(sqlite_store: Store) -> None:
    """Ironhull's text row "sludgy" outlives a catalogue alias "Sludgy" (its evidence is
    unchanged, so it is not rewritten); when Glasswing starts saying "sludgy", Ironhull must
    not get it inferred too (one term twice: the embed stage used to fail on the key)."""
    cfg = replace(CFG, refresh_share=1.0)  # one post of three changed: no drift rewrite
    seed_corpus(sqlite_store)
    build_profiles(sqlite_store, config=cfg, encoder=FakeEncoder())
    with sqlite_store.session() as session:
        session.execute(update(Artist).where(Artist.id == "ar:ironhull").values(aliases=["Sludgy"]))
        session.execute(
            update(Document)
            .where(Document.id == 3)
            .values(content_hash="new", text=Document.text + " Sludgy guitars too.")
        )
    again = build_profiles(sqlite_store, config=cfg, encoder=FakeEncoder())
    assert again.entities_recomputed == 1  # Glasswing only
    with sqlite_store.session() as session:
        rows = session.execute(
            select(Descriptor.source, Descriptor.count).where(
                Descriptor.entity_id == "ar:ironhull", Descriptor.term == "sludgy"
            )
        ).all()
        inferred = session.execute(
            select(Descriptor.term).where(
                Descriptor.entity_id == "ar:ironhull", Descriptor.source == "neighbours"
            )
        ).scalars()
        assert rows == [("text", 1)]
        assert "dream pop" in set(inferred)  # the rest was still inferred


def _vectors(session: Any) -> dict[tuple[str, str], Any]:
    rows = session.execute(select(Vector.entity_id, Vector.model, Vector.vector)).all()
    return {(e, m): v for e, m, v in rows}

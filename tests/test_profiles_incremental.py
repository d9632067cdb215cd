"""An incremental embed gives what a from-scratch embed of the same store gives.

A corpus of a dozen posts about six artists and two tracks is profiled, one
post is rewritten, and the incremental run is compared with a fresh store
holding the final posts, embedded once: the neighbour table and every
changed entity's descriptors and vectors must match; the other entities keep
their rows (their weights are refreshed by the drift rule or `--full`, after
which everything matches too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from linernotes.nlp.profiles import ProfileConfig, build_profiles
from linernotes.storage import Store, open_store
from linernotes.storage.models import (
    Artist,
    Descriptor,
    DescriptorMonth,
    Document,
    EntityBag,
    Mention,
    Neighbor,
    SentenceTags,
    Track,
    Vector,
)
from tests.test_evidence import NOW, _mentions
from tests.test_profiles import FakeEncoder

pytestmark = pytest.mark.slow  # the stage tags evidence with spaCy

ARTISTS = {
    "ar:glasswing": "Glasswing",
    "ar:ironhull": "Ironhull",
    "ar:velvet-moth": "Velvet Moth",
    "ar:cinder-bloc": "Cinder Bloc",
    "ar:harbour-lights": "Harbour Lights",
    "ar:quiet-engines": "Quiet Engines",
}
TRACKS = {
    "tr:slow-tide": ("Slow Tide", "ar:ironhull"),
    "tr:paper-sun": ("Paper Sun", "ar:glasswing"),
}
POSTS = [
    "Glasswing released a dreamy shoegaze record. Their guitars drown in reverb.",
    "Ironhull play crushing doom metal with sludgy riffs. Slow Tide is a heavy dirge.",
    "Velvet Moth make lush dream pop with airy vocals and chiming guitars.",
    "Cinder Bloc is a noisy post-punk band with angular guitars and barked vocals.",
    "Harbour Lights write gentle folk songs with fingerpicked acoustic guitars.",
    "Quiet Engines build ambient drones from tape loops and warm synths.",
    "Glasswing toured with Velvet Moth, two dreamy bands sharing a reverb-heavy sound.",
    "Paper Sun by Glasswing is a hazy shoegaze song with a drowned melody.",
    "Ironhull and Cinder Bloc played a loud, heavy double bill of riffs and feedback.",
    "Harbour Lights and Quiet Engines share a calm, pastoral mood and soft textures.",
    "Velvet Moth returned with glossy synths and a dreamy, nocturnal pop sound.",
    "Cinder Bloc sound tense and wiry, post-punk guitars over a motorik beat.",
]
CHANGED = 3  # the post (index) rewritten between runs: Cinder Bloc's
REWRITE = "Cinder Bloc went electronic: cold synths, drum machines and a dark, industrial pulse."


def _names(text: str) -> list[tuple[str, str, str]]:
    found = [(n, "artist", a) for a, n in ARTISTS.items() if n in text]
    return found + [(t, "track", tid) for tid, (t, _a) in TRACKS.items() if t in text]


def _seed(store: Store, posts: list[str]) -> None:
    with store.session() as session:
        for aid, name in ARTISTS.items():
            session.add(Artist(id=aid, name=name, norm_name=name.lower(), aliases=[]))
        session.flush()
        for tid, (title, aid) in TRACKS.items():
            session.add(Track(id=tid, title=title, norm_title=title.lower(), artist_id=aid))
        for i, text in enumerate(posts, start=1):
            session.add(
                Document(
                    id=i,
                    url=f"https://blog.example/{i}",
                    canonical_url=f"https://blog.example/{i}",
                    text=text,
                    content_hash=f"h{i}:{hash(text)}",
                    published_at=NOW.replace(month=1 + i % 12),
                    fetched_at=NOW,
                )
            )
        session.flush()
        for i, text in enumerate(posts, start=1):
            session.add_all(_mentions(i, text, _names(text)))


def _rewrite(store: Store, doc_id: int, text: str) -> None:
    """The post changes as a re-crawl and re-extract would leave it."""
    with store.session() as session:
        session.execute(delete(Mention).where(Mention.document_id == doc_id))
        doc = session.get(Document, doc_id)
        assert doc is not None
        doc.text, doc.content_hash = text, f"h{doc_id}:{hash(text)}"
        session.add_all(_mentions(doc_id, text, _names(text)))


def _tables(store: Store) -> dict[str, dict[tuple[Any, ...], Any]]:
    """Descriptors, monthly descriptors, vectors and neighbours, keyed for comparison."""
    with store.session() as session:
        desc = {
            (r.entity_kind, r.entity_id, r.term, r.source): (r.weight, r.count, r.doc_freq)
            for r in session.execute(select(Descriptor)).scalars()
        }
        months = {
            (r.entity_kind, r.entity_id, r.month, r.term): (r.weight, r.count)
            for r in session.execute(select(DescriptorMonth)).scalars()
        }
        vecs = {
            (r.entity_kind, r.entity_id, r.model): np.asarray(r.vector, dtype=np.float32)
            for r in session.execute(select(Vector)).scalars()
        }
        nbrs = {
            (r.entity_kind, r.entity_id, r.rank): (r.neighbor_id, r.model, r.score)
            for r in session.execute(select(Neighbor)).scalars()
        }
    return {"descriptors": desc, "months": months, "vectors": vecs, "neighbors": nbrs}


def _of(rows: dict[tuple[Any, ...], Any], entities: set[tuple[str, str]]) -> dict:
    return {k: v for k, v in rows.items() if (k[0], k[1]) in entities}


def _inferred(rows: dict[tuple[Any, ...], Any], inferred: bool = True) -> dict:
    """Descriptor rows inferred from neighbours (or, with False, read in the text)."""
    return {k: v for k, v in rows.items() if (k[-1] == "neighbours") == inferred}


def _same(a: dict[tuple[Any, ...], Any], b: dict[tuple[Any, ...], Any], what: str) -> None:
    """Equal keys; numbers equal to float precision (row order and sums may differ)."""
    assert a.keys() == b.keys(), f"{what}: rows differ: {sorted(a.keys() ^ b.keys())[:5]}"
    for key, va in a.items():
        vb = b[key]
        if isinstance(va, np.ndarray):
            np.testing.assert_allclose(va, vb, rtol=1e-4, atol=1e-5, err_msg=f"{what} {key}")
            continue
        for x, y in zip(va, vb, strict=True):
            if isinstance(x, float):
                assert x == pytest.approx(y, rel=1e-4, abs=1e-5), f"{what} {key}"
            else:
                assert x == y, f"{what} {key}"


def _fresh(tmp_path: Path, posts: list[str]) -> dict[str, dict[tuple[Any, ...], Any]]:
    """A new store with the posts as they are now, embedded once."""
    store = open_store(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        _seed(store, posts)
        build_profiles(store, config=ProfileConfig(use_word2vec=False), encoder=FakeEncoder())
        return _tables(store)
    finally:
        store.close()


def _count(store: Store, model: type) -> int:
    with store.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_incremental_embed_equals_a_fresh_one(store: Store, tmp_path: Path) -> None:
    cfg = ProfileConfig(use_word2vec=False, refresh_share=1.0)  # no drift refresh here
    _seed(store, POSTS)
    build_profiles(store, config=cfg, encoder=FakeEncoder())
    tagged, bagged = _count(store, SentenceTags), _count(store, EntityBag)
    assert tagged >= len(POSTS) and bagged == len(ARTISTS) + len(TRACKS)
    before = _tables(store)

    _rewrite(store, CHANGED + 1, REWRITE)
    summary = build_profiles(store, config=cfg, encoder=FakeEncoder())
    after = _tables(store)
    posts = [REWRITE if i == CHANGED else p for i, p in enumerate(POSTS)]
    fresh = _fresh(tmp_path, posts)

    changed = {("artist", "ar:cinder-bloc")}
    assert summary.entities_recomputed == len(changed)
    assert _count(store, SentenceTags) == tagged + 1  # only the new sentence was tagged
    # the neighbour table is exact: every part it ranks by is recomputed for all entities
    _same(after["neighbors"], fresh["neighbors"], "neighbors")
    # the changed entity's rows are what a fresh embed writes
    for table in ("descriptors", "months", "vectors"):
        _same(_of(after[table], changed), _of(fresh[table], changed), table)
    # the others kept their rows (their weights follow at the next full pass) ...
    others = {(k, e) for k, e, *_ in before["vectors"]} - changed
    before["descriptors"] = _inferred(before["descriptors"], False)
    for table in ("months", "vectors"):
        _same(_of(after[table], others), _of(before[table], others), table)
    text_rows = _inferred(after["descriptors"], False)
    _same(_of(text_rows, others), _of(before["descriptors"], others), "descriptors")
    # ... but terms inferred from neighbours follow the (exact) neighbour table for everyone
    assert _inferred(fresh["descriptors"]), "the posts should give some inferred terms"
    _same(_inferred(after["descriptors"]), _inferred(fresh["descriptors"]), "inferred")

    build_profiles(store, config=cfg, encoder=FakeEncoder(), full=True)
    refreshed = _tables(store)
    for table in ("descriptors", "months", "vectors", "neighbors"):
        _same(refreshed[table], fresh[table], table)


def test_drift_past_the_share_rewrites_everything(sqlite_store: Store, tmp_path: Path) -> None:
    """With 1 of 12 posts changed under a 5% share, the run rewrites every entity."""
    cfg = ProfileConfig(use_word2vec=False, refresh_share=0.05)
    _seed(sqlite_store, POSTS)
    build_profiles(sqlite_store, config=cfg, encoder=FakeEncoder())
    _rewrite(sqlite_store, CHANGED + 1, REWRITE)
    summary = build_profiles(sqlite_store, config=cfg, encoder=FakeEncoder())
    assert summary.entities_recomputed == len(ARTISTS) + len(TRACKS)
    posts = [REWRITE if i == CHANGED else p for i, p in enumerate(POSTS)]
    fresh = _fresh(tmp_path, posts)
    now = _tables(sqlite_store)
    for table in ("descriptors", "months", "vectors", "neighbors"):
        _same(now[table], fresh[table], table)
    # the count restarted at that full pass: an unchanged re-run rewrites nothing
    again = build_profiles(sqlite_store, config=cfg, encoder=FakeEncoder())
    assert again.entities_recomputed == 0


def test_bags_extracted_piece_by_piece_write_the_same_profiles(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full bags too many to hold at once are re-extracted in pieces: same rows, same cache."""
    from linernotes.nlp.profiles import bags

    monkeypatch.setattr(bags, "FULL_BAG_ROWS", 2)  # a piece per entity or two
    cfg = ProfileConfig(use_word2vec=False)
    _seed(sqlite_store, POSTS)
    build_profiles(sqlite_store, config=cfg, encoder=FakeEncoder())
    pieces = _tables(sqlite_store)
    monkeypatch.setattr(bags, "FULL_BAG_ROWS", 10**9)  # every target's bag held at once
    whole = _fresh(tmp_path, POSTS)
    assert _inferred(whole["descriptors"]) and whole["months"]
    for table in ("descriptors", "months", "vectors", "neighbors"):
        _same(pieces[table], whole[table], table)
    assert _count(sqlite_store, EntityBag) == len(ARTISTS) + len(TRACKS)

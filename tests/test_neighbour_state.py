"""The embed stage's incremental neighbour update, end to end on a small store.

The update is forced on (its size floor lowered): an artist's post is
rewritten and another artist loses all its evidence; the table must lose the
removed artist everywhere, rank the same candidates as a fresh embed, and
the stored state must follow the update.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from linernotes.nlp.profiles import ProfileConfig, build_profiles
from linernotes.nlp.profiles import neighbours as neighbours_module
from linernotes.nlp.profiles.borrowed import NEIGHBOURS
from linernotes.nlp.profiles.neighbour_state import STATS_KEY
from linernotes.storage import Store
from linernotes.storage.models import Descriptor, KeyValue, Neighbor
from tests.test_profiles import FakeEncoder
from tests.test_profiles_incremental import CHANGED, POSTS, REWRITE, _fresh, _rewrite, _seed

pytestmark = pytest.mark.slow  # the stage tags evidence with spaCy

GONE = "ar:quiet-engines"  # named in posts 6 and 10 only
WITHOUT = {
    5: "Ambient drones from tape loops and warm synths.",
    9: "Harbour Lights share a calm, pastoral mood and soft textures.",
}


def _lists(store: Store) -> dict[tuple[str, str, str], list[str]]:
    out: dict[tuple[str, str, str], list[str]] = {}
    with store.session() as session:
        for kind, eid, nid, model in session.execute(
            select(
                Neighbor.entity_kind, Neighbor.entity_id, Neighbor.neighbor_id, Neighbor.model
            ).order_by(Neighbor.entity_kind, Neighbor.entity_id, Neighbor.rank)
        ):
            out.setdefault((kind, eid, model), []).append(nid)
    return out


def test_incremental_neighbours_drop_the_removed_and_rank_like_a_fresh_embed(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(neighbours_module, "INCREMENTAL_MIN", 0)
    monkeypatch.setattr(neighbours_module, "INCREMENTAL_SHARE", 1.0)
    cfg = ProfileConfig(use_word2vec=False, refresh_share=1.0)
    _seed(store, POSTS)
    build_profiles(store, config=cfg, encoder=FakeEncoder())
    with store.session() as session:
        state = session.get(KeyValue, STATS_KEY + "artist")
        assert state is not None and GONE in state.value["ids"]

    _rewrite(store, CHANGED + 1, REWRITE)
    for index, text in WITHOUT.items():
        _rewrite(store, index + 1, text)
    with caplog.at_level(logging.INFO, logger=neighbours_module.__name__):
        build_profiles(store, config=cfg, encoder=FakeEncoder())
    assert "neighbours artist: 2 changed, 1 removed" in caplog.text  # Cinder Bloc, Harbour L.

    after = _lists(store)
    posts = [REWRITE if i == CHANGED else WITHOUT.get(i, p) for i, p in enumerate(POSTS)]
    fresh_store_lists = _fresh_lists(tmp_path, posts)
    assert after.keys() == fresh_store_lists.keys()
    assert all(GONE not in v for v in after.values())
    for key, names in after.items():  # every candidate fits in k here: same sets
        assert set(names) == set(fresh_store_lists[key]), key
    with store.session() as session:
        state = session.get(KeyValue, STATS_KEY + "artist")
        assert state is not None and GONE not in state.value["ids"]
        borrowed_for_gone = session.execute(
            select(Descriptor.term).where(
                Descriptor.entity_id == GONE, Descriptor.source == NEIGHBOURS
            )
        ).all()
    assert borrowed_for_gone == []


def _fresh_lists(tmp_path: Path, posts: list[str]) -> dict[tuple[str, str, str], list[str]]:
    fresh = _fresh(tmp_path, posts)["neighbors"]
    out: dict[tuple[str, str, str], list[str]] = {}
    for (kind, eid, _rank), (nid, model, _score) in sorted(fresh.items()):
        out.setdefault((kind, eid, model), []).append(nid)
    return out

"""Linking: candidates by kind, prior, context from co-mentioned artists, common-word names."""

from __future__ import annotations

from linernotes.nlp import linking
from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer

CATALOG = [
    CatalogEntry("artist", "ar:adele", "Adele"),
    CatalogEntry("track", "tr:adele/hello", "Hello", "ar:adele", "Adele"),
    CatalogEntry("track", "tr:adele/skyfall", "Skyfall", "ar:adele", "Adele"),
    CatalogEntry("artist", "ar:richie", "Lionel Richie"),
    CatalogEntry("track", "tr:richie/hello", "Hello", "ar:richie", "Lionel Richie"),
    CatalogEntry("artist", "ar:air", "Air"),
]
GAZ = Gazetteer.from_entries(CATALOG)


def test_candidates_respect_the_label() -> None:
    assert linking.candidates(GAZ, "Hello", "ARTIST") == []
    assert len(linking.candidates(GAZ, "hello", "TRACK")) == 2


def test_prior_decides_without_context() -> None:
    res = linking.link(GAZ, "Hello", "TRACK", linking.LinkContext())
    assert res.entity_id == "tr:adele/hello"  # Adele has more catalogue rows


def test_artist_in_sentence_beats_prior() -> None:
    ctx = linking.LinkContext(sentence="Lionel Richie sang Hello in 1984.")
    res = linking.link(GAZ, "Hello", "TRACK", ctx)
    assert res.entity_id == "tr:richie/hello" and 0 < res.confidence <= 1


def test_co_mentioned_artist_beats_prior() -> None:
    ctx = linking.LinkContext(artist_ids=frozenset({"ar:richie"}))
    assert linking.link(GAZ, "Hello", "TRACK", ctx).entity_id == "tr:richie/hello"


def test_unknown_name_is_unresolved() -> None:
    res = linking.link(GAZ, "Zorblax", "ARTIST", linking.LinkContext())
    assert res.entity_id is None and res.confidence == 0.0


def test_common_word_names() -> None:
    assert linking.is_common_name("Air") and linking.is_common_name("Yes")
    assert linking.is_common_name("Home") and linking.is_common_name("Live")
    assert not linking.is_common_name("Lionel Richie")

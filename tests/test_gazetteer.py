"""Gazetteer: indexing, lookup by normalised key, n-gram matching, CSV helper with derived ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.gazetteer import CatalogEntry, Gazetteer, entries_from_csv
from storage.names import normalize_name

ENTRIES = [
    CatalogEntry("artist", "ar:beatles", "The Beatles"),
    CatalogEntry("track", "tr:beatles/help", "Help!", "ar:beatles", "The Beatles"),
    CatalogEntry("artist", "ar:sigur-ros", "Sigur Rós"),
    CatalogEntry("album", "al:sigur-ros/takk", "Takk...", "ar:sigur-ros", "Sigur Rós"),
    CatalogEntry("artist", "ar:guns", "Guns N' Roses"),
]


def test_from_entries_and_len() -> None:
    gaz = Gazetteer.from_entries(ENTRIES + ENTRIES[:2])  # duplicates are kept once
    assert len(gaz) == len(ENTRIES)


def test_lookup_is_normalised() -> None:
    gaz = Gazetteer.from_entries(ENTRIES)
    assert [e.id for e in gaz.lookup_name("the beatles")] == ["ar:beatles"]
    assert [e.id for e in gaz.lookup_name("Sigur Ros")] == ["ar:sigur-ros"]
    assert gaz.lookup_name("Nobody Here") == []


def test_find_ngrams_matches_multiword_names() -> None:
    gaz = Gazetteer.from_entries(ENTRIES)
    words = [normalize_name(w) for w in ["I", "saw", "Guns", "N'", "Roses", "and", "Sigur", "Rós"]]
    found = {(s, e) for s, e, _ in gaz.find_ngrams(words)}
    assert (2, 5) in found and (6, 8) in found


def test_prior_prefers_artists_with_more_rows() -> None:
    gaz = Gazetteer.from_entries(ENTRIES)
    beatles = gaz.lookup(normalize_name("The Beatles"))[0]
    guns = gaz.lookup(normalize_name("Guns N' Roses"))[0]
    assert gaz.prior(beatles) > gaz.prior(guns)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown catalogue kind"):
        Gazetteer.from_entries([CatalogEntry("label", "x", "Warp")])


def test_entries_from_csv_derives_ids(tmp_path: Path) -> None:
    path = tmp_path / "cat.csv"
    path.write_text(
        "artist_id,artist,track_id,track,album_id,album,artist_aliases\n"
        ",Sigur Rós,,Hoppípolla,,,\n"
        "mb-1,Björk,,,,Homogenic,Bjork Gudmundsdottir\n",
        encoding="utf-8",
    )
    entries = list(entries_from_csv(path))
    ids = {(e.kind, e.id, e.name) for e in entries}
    assert ("artist", "ar:sigur-ros", "Sigur Rós") in ids
    assert ("track", "tr:sigur-ros/hoppipolla", "Hoppípolla") in ids
    assert ("album", "al:bjork/homogenic", "Homogenic") in ids
    assert ("artist", "mb-1", "Bjork Gudmundsdottir") in ids
    track = next(e for e in entries if e.kind == "track")
    assert track.artist_id == "ar:sigur-ros"


def test_entries_from_csv_bad_header(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name\nfoo\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header lacks"):
        list(entries_from_csv(path))

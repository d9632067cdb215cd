"""Gazetteer: indexing, lookup by normalised key, n-gram matching, CSV helper with derived ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer, default_cache_dir, entries_from_csv
from linernotes.storage.names import normalize_name

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
    from linernotes.storage.catalog import CatalogError

    with pytest.raises(CatalogError, match="header lacks"):
        list(entries_from_csv(path))


def _same_index(a: Gazetteer, b: Gazetteer) -> None:
    for name in ("The Beatles", "help", "Takk", "sigur ros", "Guns N' Roses", "nothing"):
        assert a.lookup_name(name) == b.lookup_name(name)
    words = [normalize_name(w) for w in ["Guns", "N'", "Roses", "and", "Sigur", "Rós"]]
    assert list(a.find_ngrams(words)) == list(b.find_ngrams(words))
    assert [a.prior(i) for i in range(len(a))] == [b.prior(i) for i in range(len(b))]


def test_cache_hit_gives_identical_lookups(tmp_path: Path) -> None:
    built = Gazetteer.from_entries_cached(ENTRIES, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.pickle"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = Gazetteer.from_entries_cached(ENTRIES, cache_dir=tmp_path)
    assert files[0].stat().st_mtime_ns == stamp  # read, not rewritten
    assert again is not built
    _same_index(built, again)
    _same_index(Gazetteer.from_entries(ENTRIES), again)


def test_cache_key_follows_the_entries(tmp_path: Path) -> None:
    Gazetteer.from_entries_cached(ENTRIES, cache_dir=tmp_path)
    fewer = Gazetteer.from_entries_cached(ENTRIES[:2], cache_dir=tmp_path)
    assert len(fewer) == 2
    assert len(list(tmp_path.glob("*.pickle"))) == 2
    # row order does not matter
    Gazetteer.from_entries_cached(list(reversed(ENTRIES)), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.pickle"))) == 2


@pytest.mark.parametrize("garbage", [b"", b"not a pickle at all", b"\x80\x05\x95garbage"])
def test_corrupt_cache_is_rebuilt_and_overwritten(tmp_path: Path, garbage: bytes) -> None:
    Gazetteer.from_entries_cached(ENTRIES, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.pickle")
    path.write_bytes(garbage)
    gaz = Gazetteer.from_entries_cached(ENTRIES, cache_dir=tmp_path)
    _same_index(Gazetteer.from_entries(ENTRIES), gaz)
    assert path.read_bytes() != garbage
    _same_index(gaz, Gazetteer.from_entries_cached(ENTRIES, cache_dir=tmp_path))


def test_cache_of_wrong_type_is_rebuilt(tmp_path: Path) -> None:
    import pickle

    Gazetteer.from_entries_cached(ENTRIES, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.pickle")
    path.write_bytes(pickle.dumps({"not": "a gazetteer"}))
    assert len(Gazetteer.from_entries_cached(ENTRIES, cache_dir=tmp_path)) == len(ENTRIES)


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINERNOTES_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "gazetteer"
    Gazetteer.from_entries_cached(ENTRIES)
    assert len(list((tmp_path / "c" / "gazetteer").glob("*.pickle"))) == 1


def test_unwritable_cache_still_builds(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    gaz = Gazetteer.from_entries_cached(ENTRIES, cache_dir=blocker / "sub")
    assert len(gaz) == len(ENTRIES)


def test_entries_from_csv_use_the_importers_ids(tmp_path: Path) -> None:
    """Non-Latin names no longer share a placeholder id (all were "ar:x" before)."""
    path = tmp_path / "cat.csv"
    path.write_text(
        "artist_id,artist,track_id,track,album_id,album\n"
        ",Сплин,,Song,,\n,Кино,,Song,,\n,!!!,,,,\n,???,,,,\n",
        encoding="utf-8",
    )
    artists = {e.name: e.id for e in entries_from_csv(path) if e.kind == "artist"}
    assert artists["Сплин"] == "ar:splin" and artists["Кино"] == "ar:kino"
    assert len(set(artists.values())) == 4
    tracks = {e.id for e in entries_from_csv(path) if e.kind == "track"}
    assert tracks == {"tr:splin/song", "tr:kino/song"}

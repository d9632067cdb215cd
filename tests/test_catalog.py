"""Catalogue import: formats, derived ids, idempotency, all-or-nothing on bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from linernotes.storage import Store
from linernotes.storage.catalog import CatalogError, catalog_counts, catalog_names, import_catalog
from linernotes.storage.models import Album, Artist, Track
from tests.conftest import FIXTURES, SHARED, needs_shared

CAT = FIXTURES / "catalog"


def test_csv_import_merges_and_derives_stable_ids(store: Store) -> None:
    summary = import_catalog(store, CAT / "small.csv")
    assert (summary.artists, summary.tracks, summary.albums) == (4, 5, 2)
    with store.session() as s:
        bjork = s.get(Artist, "ar:bjork")
        assert bjork is not None and bjork.name == "Björk"
        assert bjork.aliases == ["Bjork"]
        # "radiohead" without an id merges into the artist with an explicit MBID
        track = s.get(Track, "tr:radiohead/paranoid-android")
        assert track is not None
        assert track.artist_id == "a74b1b7f-71a5-4011-9441-d0b5e4122711"
        assert s.get(Album, "al:radiohead/ok-computer") is not None
        assert s.get(Track, "tr:simon-and-garfunkel/the-boxer").norm_title == "boxer"


def test_reimport_changes_nothing(store: Store) -> None:
    import_catalog(store, CAT / "small.csv")
    with store.session() as s:
        before = sorted(s.execute(select(Artist.id, Artist.name, Artist.aliases)).all())
        counts = catalog_counts(s)
    import_catalog(store, CAT / "small.csv")
    with store.session() as s:
        assert sorted(s.execute(select(Artist.id, Artist.name, Artist.aliases)).all()) == before
        assert catalog_counts(s) == counts


def test_bad_row_names_its_line_and_commits_nothing(store: Store) -> None:
    import_catalog(store, CAT / "small.csv")
    with store.session() as s:
        before = catalog_counts(s)
    with pytest.raises(CatalogError, match="line 5: the artist name is empty"):
        import_catalog(store, CAT / "bad_line5.csv")
    with store.session() as s:
        assert catalog_counts(s) == before
        assert s.get(Artist, "ar:kate-bush") is None


def test_skip_bad_lists_and_skips(store: Store) -> None:
    summary = import_catalog(store, CAT / "bad_line5.csv", skip_bad=True)
    assert [bad.line for bad in summary.skipped] == [5]
    assert "line 5" in summary.format()
    assert (summary.artists, summary.tracks, summary.albums) == (3, 3, 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("artist,track\nA,B\n", "line 1: the header lacks artist_id"),
        ("artist_id,artist,track_id,track,album_id,album\n,A,,B,,,extra\n", "line 2: more fields"),
        ("artist_id,artist,track_id,track,album_id,album\n,A,t1,,,\n", "line 2: track_id 't1'"),
        ("artist_id,artist,track_id,track,album_id,album\n,A,,B\n", "line 2: fewer fields"),
    ],
)
def test_malformed_csv_messages(
    sqlite_store: Store, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text(content)
    with pytest.raises(CatalogError, match=message):
        import_catalog(sqlite_store, path)


def test_invalid_utf8_names_line(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"artist_id,artist,track_id,track,album_id,album\n,A,,B,,\n,\xff\xfe,,C,,\n")
    with pytest.raises(CatalogError, match="line 3: not valid UTF-8"):
        import_catalog(sqlite_store, path)


def test_musicbrainz_dump_keeps_mbids(store: Store) -> None:
    summary = import_catalog(store, CAT / "musicbrainz.jsonl")
    assert (summary.artists, summary.tracks, summary.albums) == (2, 1, 2)
    with store.session() as s:
        radiohead = s.get(Artist, "a74b1b7f-71a5-4011-9441-d0b5e4122711")
        assert radiohead is not None and radiohead.aliases == ["On a Friday"]
        track = s.get(Track, "2d3a5f28-7a9b-3d6e-8b4e-3c9f1e2a0b11")
        assert track is not None and track.title == "Paranoid Android"
        album = s.get(Album, "b1392450-e666-3926-a536-22c65f834433")
        assert album is not None and album.artist_id == radiohead.id


def test_musicbrainz_bad_line(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "mb.jsonl"
    path.write_text('{"id": "x", "name": "A", "sort-name": "A"}\n{"id": "y", "title": "T"}\n')
    with pytest.raises(CatalogError, match="line 2: no artist-credit"):
        import_catalog(sqlite_store, path, "musicbrainz")


def test_catalog_names_include_aliases_and_artist_names(sqlite_store: Store) -> None:
    import_catalog(sqlite_store, CAT / "small.csv")
    with sqlite_store.session() as s:
        names = list(catalog_names(s))
    assert ("artist", "ar:bjork", "Bjork", None, None) in names
    hyper = next(n for n in names if n.name == "Hyperballad")
    assert (hyper.kind, hyper.artist_id, hyper.artist_name) == ("track", "ar:bjork", "Björk")


@needs_shared
def test_shared_catalogue_imports_twice_with_same_counts(sqlite_store: Store) -> None:
    path = SHARED / "data/catalog/catalog.csv"
    first = import_catalog(sqlite_store, path)
    second = import_catalog(sqlite_store, path)
    assert (first.artists, first.tracks, first.albums) == (
        second.artists,
        second.tracks,
        second.albums,
    )
    assert first.artists > 20000 and first.tracks > 150000

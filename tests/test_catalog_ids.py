"""Catalogue ids: distinct names never share a derived id, explicit ids are checked, lengths fit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from linernotes.storage import Store
from linernotes.storage.catalog import CatalogError, import_catalog
from linernotes.storage.catalog_ids import MAX_ARTIST_ID, MAX_TRACK_ID, Claim, IdAllocator
from linernotes.storage.models import Artist, Track

HEADER = "artist_id,artist,track_id,track,album_id,album\n"


def _write(tmp_path: Path, lines: list[str], name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _artists(store: Store) -> dict[str, str]:
    with store.session() as s:
        return dict(s.execute(select(Artist.name, Artist.id)).tuples().all())


def test_non_latin_and_symbol_names_stay_distinct_artists(store: Store, tmp_path: Path) -> None:
    names = ["Сплин", "Кино", "坂本龍一", "!!!", "Ø", "???", "X"]
    path = _write(tmp_path, [f",{n},,Song,," for n in names])
    summary = import_catalog(store, path)
    assert summary.artists == len(names)
    ids = _artists(store)
    assert ids["Сплин"] == "ar:splin" and ids["Кино"] == "ar:kino"
    assert ids["坂本龍一"] == "ar:ban-ben-long-yi" and ids["X"] == "ar:x"
    assert len(set(ids.values())) == len(names)
    with store.session() as s:
        tracks = s.execute(select(Track.id, Track.artist_id)).all()
    assert len(tracks) == len(names)  # one "Song" per artist, none merged
    assert {artist for _, artist in tracks} == set(ids.values())
    import_catalog(store, path)  # the hashed ids are stable: a re-import adds nothing
    assert _artists(store) == ids


def test_slug_collision_between_different_names_is_not_merged(store: Store, tmp_path: Path) -> None:
    import_catalog(store, _write(tmp_path, [",AC DC,,Live,,"], "a.csv"))
    import_catalog(store, _write(tmp_path, [",AC/DC,,Live,,", ",AC DC,,Other,,"], "b.csv"))
    ids = _artists(store)
    assert ids["AC DC"] == "ar:ac-dc"  # the first owner keeps the readable id
    assert ids["AC/DC"].startswith("ar:ac-dc-") and ids["AC/DC"] != ids["AC DC"]
    with store.session() as s:
        stmt = select(Track.id, Track.artist_id).where(Track.title == "Live")
        live = dict(s.execute(stmt).tuples().all())
    assert sorted(live.values()) == sorted([ids["AC DC"], ids["AC/DC"]])


def test_database_owner_of_an_id_is_respected(store: Store, tmp_path: Path) -> None:
    """A database made before transliteration holds "Сплин" as ar:x; the band X is not merged."""
    with store.session() as s:
        s.add(Artist(id="ar:x", name="Сплин", norm_name="сплин", aliases=[]))
    import_catalog(store, _write(tmp_path, [",X,,Song,,"]))
    with store.session() as s:
        assert s.get(Artist, "ar:x").name == "Сплин"  # type: ignore[union-attr]
        x = s.scalars(select(Artist).where(Artist.name == "X")).one()
    assert x.id.startswith("ar:x-")


def test_ids_do_not_depend_on_row_order(sqlite_store: Store, tmp_path: Path) -> None:
    from linernotes.storage import open_store

    lines = [",AC/DC,,T,,", ",AC DC,,T,,", ",ac dc,,U,,"]
    import_catalog(sqlite_store, _write(tmp_path, lines))
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        import_catalog(other, _write(tmp_path, lines[::-1], "rev.csv"))
        assert _artists(other)["AC/DC"] == _artists(sqlite_store)["AC/DC"]
    finally:
        other.close()


def test_allocator_never_gives_one_id_to_two_keys() -> None:
    alloc = IdAllocator(40, lambda ids: {"ar:a": "owner"} if "ar:a" in ids else {})
    claims = [Claim("ar:a", "k1"), Claim("ar:a", "k2"), Claim("ar:a", "owner"), Claim("ar:b", "k")]
    got = alloc.allocate(claims)
    assert got[Claim("ar:a", "owner")] == "ar:a"
    assert len(set(got.values())) == len(claims)
    long = alloc.allocate([Claim("ar:" + "z" * 100, "long")])
    assert len(long[Claim("ar:" + "z" * 100, "long")]) <= 40


def test_duplicate_explicit_id_with_different_names_names_both_lines(
    store: Store, tmp_path: Path
) -> None:
    path = _write(tmp_path, ["id1,Kino,,,,", "id2,Сплин,,,,", "id1,Aquarium,,,,"])
    with pytest.raises(CatalogError, match=r"line 4: artist_id 'id1' names 'Aquarium' .*line 2"):
        import_catalog(store, path)
    assert _artists(store) == {}
    summary = import_catalog(store, path, skip_bad=True)
    assert [bad.line for bad in summary.skipped] == [4]
    assert "'Kino' on line 2" in summary.format()
    assert _artists(store) == {"Kino": "id1", "Сплин": "id2"}


def test_same_explicit_id_with_case_variants_is_one_artist(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, ["id1,aerosmith,,,,", "id1,Aerosmith,t1,Dream On,,"])
    assert import_catalog(store, path).artists == 1
    assert _artists(store) == {"Aerosmith": "id1"}


def test_duplicate_explicit_track_id_is_an_error(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, [",A,t1,One,,", ",A,t1,Two,,"])
    with pytest.raises(CatalogError, match=r"line 3: track_id 't1' names 'Two' here but 'One'"):
        import_catalog(store, path)


def test_long_names_import_on_both_backends(store: Store, tmp_path: Path) -> None:
    """A 300-character name used to fail the whole file on PostgreSQL (VARCHAR(200) ids)."""
    artist, track = "A" * 150 + " " + "Б" * 149, "t" * 300
    assert import_catalog(store, _write(tmp_path, [f",{artist},,{track},,"])).artists == 1
    with store.session() as s:
        stored = s.scalars(select(Artist)).one()
        song = s.scalars(select(Track)).one()
    assert stored.name == artist and len(stored.id) <= MAX_ARTIST_ID
    assert song.title == track and len(song.id) <= MAX_TRACK_ID
    assert song.artist_id == stored.id


def test_too_long_explicit_id_names_its_line(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, ["ok,Fine,,,,", f"{'i' * 250},Long,,,,"])
    with pytest.raises(CatalogError, match=rf"line 3: artist_id is longer than {MAX_ARTIST_ID}"):
        import_catalog(store, path)
    summary = import_catalog(store, path, skip_bad=True)
    assert [bad.line for bad in summary.skipped] == [3]


def test_name_without_letters_is_not_merged_into_another_explicit_one(
    sqlite_store: Store, tmp_path: Path
) -> None:
    """ "!!!" and "???" both have an empty matching key; they are still two artists."""
    import_catalog(sqlite_store, _write(tmp_path, ["mb-q,???,,,,", ",!!!,,,,", ",Kino,,,,"]))
    ids = _artists(sqlite_store)
    assert ids["???"] == "mb-q" and ids["!!!"] != "mb-q"

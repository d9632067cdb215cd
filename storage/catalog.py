"""Catalogue import (CSV and MusicBrainz JSON dumps) and catalogue name listing.

An import is one transaction: a bad row fails the whole file (naming its
line) and leaves the database as it was, unless `skip_bad` is set, in which
case bad rows are collected and reported. Rows are merged in memory first,
so the same artist on 10,000 lines is written once, then bulk-upserted:
importing the same file twice changes nothing.

Ids: where a row gives one (e.g. a MusicBrainz id) it is kept; otherwise a
stable, readable id is derived from the names (`ar:<artist>`,
`tr:<artist>/<track>`, `al:<artist>/<album>`). An artist row without an id
whose normalised name matches an artist that has an explicit id (in the file
or already in the database) is merged into that artist. Derived ids never
join two different names (storage.catalog_ids), and an explicit id given
twice in a file with different names is a bad row naming both lines.

Lengths: names up to MAX_NAME characters and ids up to their column's width,
the same on SQLite and PostgreSQL, so a file that imports on one imports on
the other; a longer explicit id is a bad row naming its line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linernotes.storage.catalog_ids import MAX_ALBUM_ID, MAX_ARTIST_ID, MAX_TRACK_ID, IdCollision
from linernotes.storage.catalog_merge import merge_existing_aliases, merge_rows
from linernotes.storage.db import StorageError, Store
from linernotes.storage.models import Album, Artist, Track
from linernotes.storage.names import name_key
from linernotes.storage.upsert import upsert

log = logging.getLogger("linernotes.catalog")
REQUIRED_COLUMNS = ("artist_id", "artist", "track_id", "track", "album_id", "album")
OPTIONAL_COLUMNS = ("artist_aliases",)
MAX_NAME = 1000


class CatalogError(StorageError):
    """A catalogue file that cannot be imported as a whole (the message names file and line)."""


class BadRow(Exception):
    """One unusable row; `line` is the 1-based line number in the file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass
class CatalogRow:
    """One parsed row: an artist, optionally with a track and/or an album."""

    line: int
    artist: str
    artist_id: str | None = None
    track: str | None = None
    track_id: str | None = None
    album: str | None = None
    album_id: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass
class ImportSummary:
    """What an import did: rows read, bad rows skipped, entity counts after the import."""

    path: str
    rows: int = 0
    skipped: list[BadRow] = field(default_factory=list)
    artists: int = 0
    tracks: int = 0
    albums: int = 0

    def format(self) -> str:
        lines = [
            f"imported {self.rows} rows from {self.path}: "
            f"{self.artists} artists, {self.tracks} tracks, {self.albums} albums in the catalogue"
        ]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} bad rows:")
            lines.extend(f"  {bad}" for bad in self.skipped)
        return "\n".join(lines)


class CatalogName(NamedTuple):
    """One name the mention linker can match: aliases come as extra artist names."""

    kind: str
    id: str
    name: str
    artist_id: str | None
    artist_name: str | None


# ---------------------------------------------------------------- reading


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CatalogError(f"{path}: line {line}: not valid UTF-8 text") from None


def _clean(value: str | None, line: int, column: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if "\x00" in value:
        raise BadRow(line, f"column {column!r} contains a NUL byte")
    if len(value) > MAX_NAME:
        raise BadRow(line, f"column {column!r} is longer than {MAX_NAME} characters")
    return value


def parse_csv_row(line: int, row: dict[str | None, Any]) -> CatalogRow:
    """Validate one CSV row (as read by DictReader) into a CatalogRow."""
    if row.get(None):
        raise BadRow(line, f"more fields than the header has ({len(row[None])} extra)")
    missing = [c for c in REQUIRED_COLUMNS if row.get(c) is None]
    if missing:
        raise BadRow(line, f"fewer fields than the header has (no {', '.join(missing)})")
    vals = {c: _clean(row.get(c), line, c) for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    if not vals["artist"]:
        raise BadRow(line, "the artist name is empty")
    for kind in ("track", "album"):
        if vals[f"{kind}_id"] and not vals[kind]:
            raise BadRow(line, f"{kind}_id {vals[kind + '_id']!r} is given without a {kind} name")
    aliases = tuple(a.strip() for a in (vals["artist_aliases"] or "").split("|") if a.strip())
    return CatalogRow(
        line=line,
        artist=vals["artist"],  # type: ignore[arg-type]
        artist_id=vals["artist_id"],
        track=vals["track"],
        track_id=vals["track_id"],
        album=vals["album"],
        album_id=vals["album_id"],
        aliases=aliases,
    )


def read_csv(text: str, path: Path) -> Iterator[CatalogRow | BadRow]:
    """Yield parsed rows, or BadRow for rows that fail validation (the caller decides)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    absent = [c for c in REQUIRED_COLUMNS if c not in header]
    if absent:
        raise CatalogError(
            f"{path}: line 1: the header lacks {', '.join(absent)} "
            f"(expected {','.join(REQUIRED_COLUMNS)}[,artist_aliases])"
        )
    line = reader.line_num
    try:
        for row in reader:
            line = reader.line_num
            try:
                yield parse_csv_row(line, row)
            except BadRow as bad:
                yield bad
    except csv.Error as exc:
        # the bad record starts after the last good one (csv's line_num may not count it yet)
        raise CatalogError(f"{path}: line {line + 1}: malformed CSV: {exc}") from None


def _credit(obj: dict[str, Any], line: int) -> tuple[str, str]:
    credits = obj.get("artist-credit") or []
    if not credits or not isinstance(credits[0], dict) or not credits[0].get("artist"):
        raise BadRow(line, "no artist-credit with an artist")
    artist = credits[0]["artist"]
    if not artist.get("id") or not artist.get("name"):
        raise BadRow(line, "the artist-credit's artist lacks an id or a name")
    return str(artist["id"]), str(artist["name"])


def parse_musicbrainz_line(line: int, raw: str) -> CatalogRow:
    """One line of a MusicBrainz JSON data dump: an artist, recording or release group."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRow(line, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict) or not obj.get("id"):
        raise BadRow(line, "expected a JSON object with an 'id'")
    mbid = str(obj["id"])
    if "sort-name" in obj:
        name = _clean(obj.get("name"), line, "name")
        if not name:
            raise BadRow(line, "artist without a name")
        aliases = tuple(a["name"] for a in obj.get("aliases") or [] if a.get("name"))
        return CatalogRow(line=line, artist=name, artist_id=mbid, aliases=aliases)
    title = _clean(obj.get("title"), line, "title")
    if not title:
        raise BadRow(line, "recording or release group without a title")
    artist_id, artist = _credit(obj, line)
    if "primary-type" in obj or "secondary-types" in obj:
        return CatalogRow(line, artist, artist_id, album=title, album_id=mbid)
    if "length" in obj or "isrcs" in obj or "video" in obj:
        return CatalogRow(line, artist, artist_id, track=title, track_id=mbid)
    raise BadRow(line, "cannot tell the entity type (expected artist, recording or release-group)")


def read_musicbrainz(text: str) -> Iterator[CatalogRow | BadRow]:
    """Yield parsed rows of a MusicBrainz JSON-lines dump (blank lines ignored)."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            try:
                yield parse_musicbrainz_line(number, raw)
            except BadRow as bad:
                yield bad


# ---------------------------------------------------------------- importing


def detect_format(path: Path) -> str:
    """'musicbrainz' for JSON-lines files, else 'csv'."""
    return "musicbrainz" if path.suffix.lower() in (".json", ".jsonl", ".ndjson") else "csv"


def read_catalog(path: Path, fmt: str | None = None) -> Iterator[CatalogRow | BadRow]:
    """Rows of a catalogue file in either format."""
    if path.is_dir():
        raise CatalogError(f"{path}: is a directory, not a catalogue file")
    if not path.is_file():
        raise CatalogError(f"{path}: no such file")
    text = _decode(path.read_bytes(), path)
    chosen = fmt or detect_format(path)
    if chosen == "csv":
        return read_csv(text, path)
    if chosen == "musicbrainz":
        return read_musicbrainz(text)
    raise CatalogError(f"unknown catalogue format {chosen!r} (use csv or musicbrainz)")


_ID_LIMITS = (("artist", MAX_ARTIST_ID), ("track", MAX_TRACK_ID), ("album", MAX_ALBUM_ID))


def check_ids(row: CatalogRow) -> CatalogRow | BadRow:
    """The row, or a BadRow when an explicit id is longer than its column allows."""
    for kind, limit in _ID_LIMITS:
        given = getattr(row, f"{kind}_id")
        if given and len(given) > limit:
            return BadRow(row.line, f"{kind}_id is longer than {limit} characters")
    return row


def id_conflicts(rows: list[CatalogRow]) -> list[BadRow]:
    """Rows giving an explicit id that an earlier line gave to a different name.

    Names that differ only in ways matching ignores ("aerosmith", "Aerosmith")
    are one name; anything else would silently merge two entities.
    """
    first: dict[tuple[str, str], tuple[str, int]] = {}
    bad: list[BadRow] = []
    for row in rows:
        for kind, name in (("artist", row.artist), ("track", row.track), ("album", row.album)):
            given = getattr(row, f"{kind}_id")
            if not given or not name:
                continue
            seen = first.setdefault((kind, given), (name, row.line))
            if name_key(seen[0]) != name_key(name):
                bad.append(
                    BadRow(
                        row.line,
                        f"{kind}_id {given!r} names {name!r} here "
                        f"but {seen[0]!r} on line {seen[1]}",
                    )
                )
                break
    return bad


def _read_rows(
    path: Path, fmt: str | None, summary: ImportSummary, skip_bad: bool
) -> list[CatalogRow]:
    """Valid rows of the file; bad ones fail the import or, with skip_bad, are listed."""
    rows: list[CatalogRow] = []
    bad: list[BadRow] = []
    for item in read_catalog(path, fmt):
        item = check_ids(item) if isinstance(item, CatalogRow) else item
        (bad if isinstance(item, BadRow) else rows).append(item)  # type: ignore[arg-type]
    bad.extend(id_conflicts(rows))
    if bad and not skip_bad:
        first = min(bad, key=lambda b: b.line)
        raise CatalogError(f"{path}: {first} (nothing was imported; --skip-bad skips it)")
    skipped = {b.line for b in bad}
    summary.skipped = sorted(bad, key=lambda b: b.line)
    return [row for row in rows if row.line not in skipped]


def import_catalog(
    store: Store, path: Path | str, fmt: str | None = None, *, skip_bad: bool = False
) -> ImportSummary:
    """Import a catalogue file in one transaction; see the module docstring for the rules."""
    path = Path(path)
    summary = ImportSummary(path=str(path))
    rows = _read_rows(path, fmt, summary, skip_bad)
    summary.rows = len(rows)
    with store.session() as session:
        try:
            merged = merge_rows(rows, session)
        except IdCollision as exc:
            raise CatalogError(f"{path}: {exc} (nothing was imported)") from None
        merge_existing_aliases(session, merged.artists)
        upsert(session, Artist, merged.artists.values(), ["id"])
        upsert(session, Track, merged.tracks.values(), ["id"])
        upsert(session, Album, merged.albums.values(), ["id"])
        counts = catalog_counts(session)
    summary.artists, summary.tracks, summary.albums = counts
    return summary


def catalog_counts(session: Session) -> tuple[int, int, int]:
    """Number of artists, tracks and albums stored."""
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Artist, Track, Album)
    )


def file_catalog_names(
    path: Path | str, fmt: str | None = None, *, skip_bad: bool = True
) -> Iterator[CatalogName]:
    """The names `catalog_names` would list after importing this file into an empty database.

    Why here: `eval mentions`, `annotate` and the extract stage must link to the very same ids,
    so a catalogue file is read, validated and merged by the importer's own code (ids derived by
    `merge_rows`), never by a second reader. Bad rows are skipped with a warning naming the line
    (or, without `skip_bad`, raise CatalogError).
    """
    path = Path(path)
    rows: list[CatalogRow] = []
    for item in read_catalog(path, fmt):
        if isinstance(item, BadRow):
            if not skip_bad:
                raise CatalogError(f"{path}: {item}")
            log.warning("%s: %s (row skipped)", path, item)
        else:
            rows.append(item)
    merged = merge_rows(rows, None)
    for artist in merged.artists.values():
        yield CatalogName("artist", artist["id"], artist["name"], None, None)
        for alias in artist["aliases"]:
            yield CatalogName("artist", artist["id"], alias, None, None)
    for kind, table in (("track", merged.tracks), ("album", merged.albums)):
        for work in table.values():
            owner = merged.artists.get(work["artist_id"])
            owner_name = str(owner["name"]) if owner else None
            yield CatalogName(kind, work["id"], work["title"], work["artist_id"], owner_name)


def catalog_names(session: Session) -> Iterator[CatalogName]:
    """Every matchable name: artists (and their aliases), tracks and albums with their artist."""
    artist_names: dict[str, str] = {}
    for artist_id, name, aliases in session.execute(
        select(Artist.id, Artist.name, Artist.aliases)
    ).yield_per(20000):
        artist_names[artist_id] = name
        yield CatalogName("artist", artist_id, name, None, None)
        for alias in aliases or []:
            yield CatalogName("artist", artist_id, alias, None, None)
    for kind, model in (("track", Track), ("album", Album)):
        stmt = select(model.id, model.title, model.artist_id)
        for work_id, title, artist_id in session.execute(stmt).yield_per(20000):
            artist = artist_names.get(artist_id) if artist_id else None
            yield CatalogName(kind, work_id, title, artist_id, artist)

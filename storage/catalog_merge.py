"""Merging parsed catalogue rows into one record per entity, with ids resolved.

Split from storage.catalog (which reads files and runs the import) so that
each stays short; the id rules are described in storage.catalog_ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from linernotes.storage import names
from linernotes.storage.catalog_ids import (
    MAX_ALBUM_ID,
    MAX_ARTIST_ID,
    MAX_TRACK_ID,
    Claim,
    IdAllocator,
    OwnerLookup,
)
from linernotes.storage.chunks import chunked
from linernotes.storage.models import Album, Artist, Track

# A catalogue repeats each artist name on many rows: memoised, the keys and slugs of
# a 200k-row file are computed once per distinct name (half the merge time otherwise).
_CACHE = 1 << 18
name_key = lru_cache(maxsize=_CACHE)(names.name_key)
normalize_name = lru_cache(maxsize=_CACHE)(names.normalize_name)
slugify = lru_cache(maxsize=_CACHE)(names.slugify)

if TYPE_CHECKING:
    from linernotes.storage.catalog import CatalogRow


def _better_name(old: str, new: str) -> str:
    """Prefer a cased spelling over an all-lower-case one ("aerosmith" -> "Aerosmith")."""
    return new if old.islower() and not new.islower() else old


@dataclass
class _Merged:
    """Entities collected from a file, keyed by id, ready to upsert."""

    artists: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    albums: dict[str, dict[str, Any]] = field(default_factory=dict)


def _explicit_artist_ids(rows: list[CatalogRow], session: Session | None) -> dict[str, str]:
    """Name key -> explicit artist id, from the database (if any) and then the file."""
    known: dict[str, str] = {}
    stmt = select(Artist.norm_name, Artist.name, Artist.id).where(~Artist.id.startswith("ar:"))
    for norm, name, artist_id in session.execute(stmt) if session else ():
        known.setdefault(norm or name_key(name), artist_id)
    for row in rows:
        if row.artist_id:
            known.setdefault(name_key(row.artist), row.artist_id)
    return known


def _add_artist(merged: _Merged, artist_id: str, row: CatalogRow) -> None:
    entry = merged.artists.get(artist_id)
    if entry is None:
        merged.artists[artist_id] = {
            "id": artist_id,
            "name": row.artist,
            "norm_name": normalize_name(row.artist),
            "aliases": list(row.aliases),
        }
        return
    entry["name"] = _better_name(entry["name"], row.artist)
    entry["aliases"].extend(a for a in row.aliases if a not in entry["aliases"])


def _add_work(table: dict[str, dict[str, Any]], work_id: str, title: str, artist_id: str) -> None:
    entry = table.get(work_id)
    if entry is None:
        table[work_id] = {
            "id": work_id,
            "title": title,
            "norm_title": normalize_name(title),
            "artist_id": artist_id,
        }
    else:
        entry["title"] = _better_name(entry["title"], title)


def _artist_owners(session: Session | None) -> OwnerLookup | None:
    """Which of some artist ids the database holds, for which name key.

    The key is recomputed from the stored name, not read from `norm_name`, so
    a later change to the matching rules cannot make an artist a stranger to
    its own id.
    """
    if session is None:
        return None

    def owners(ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunked(list(ids), 5000):
            stmt = select(Artist.id, Artist.name).where(Artist.id.in_(chunk))
            for artist_id, name in session.execute(stmt):
                found[artist_id] = name_key(name)
        return found

    return owners


def _work_key(artist_id: str | None, title: str) -> str:
    """A track's or album's identity: its artist and its title's key."""
    return f"{artist_id or ''}\x1f{name_key(title)}"


def _work_owners(session: Session | None, model: type[Track] | type[Album]) -> OwnerLookup | None:
    if session is None:
        return None

    def owners(ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunked(list(ids), 5000):
            stmt = select(model.id, model.artist_id, model.title).where(model.id.in_(chunk))
            for work_id, artist_id, title in session.execute(stmt):
                found[work_id] = _work_key(artist_id, title)
        return found

    return owners


def _artist_ids(rows: list[CatalogRow], session: Session | None) -> tuple[list[str], list[str]]:
    """Each row's artist id, and the artist part of its derived track/album ids."""
    explicit = _explicit_artist_ids(rows, session)
    alloc = IdAllocator(MAX_ARTIST_ID, _artist_owners(session))
    alloc.reserve({r.artist_id: name_key(r.artist) for r in rows if r.artist_id})
    claims: list[Claim | None] = []
    for row in rows:
        key = name_key(row.artist)
        derive = not row.artist_id and key not in explicit
        claims.append(Claim(f"ar:{slugify(row.artist)}", key) if derive else None)
    derived = alloc.allocate(c for c in claims if c)
    ids: list[str] = []
    parts: list[str] = []
    for row, claim in zip(rows, claims, strict=True):
        if claim is None:
            ids.append(row.artist_id or explicit[name_key(row.artist)])
            parts.append(slugify(row.artist))
        else:
            ids.append(derived[claim])
            parts.append(derived[claim].removeprefix("ar:"))
    return ids, parts


def _work_ids(
    rows: list[CatalogRow],
    artist_ids: list[str],
    parts: list[str],
    kind: str,
    session: Session | None,
) -> list[str | None]:
    """Each row's track (or album) id: explicit, else derived under its artist's part."""
    model: type[Track] | type[Album] = Track if kind == "track" else Album
    alloc = IdAllocator(
        MAX_TRACK_ID if kind == "track" else MAX_ALBUM_ID, _work_owners(session, model)
    )
    prefix = "tr" if kind == "track" else "al"
    given: dict[str, str] = {}
    claims: list[Claim | None] = []
    for row, artist_id, part in zip(rows, artist_ids, parts, strict=True):
        title = row.track if kind == "track" else row.album
        work_id = row.track_id if kind == "track" else row.album_id
        if not title:
            claims.append(None)
            continue
        key = _work_key(artist_id, title)
        if work_id:
            given.setdefault(work_id, key)
            claims.append(None)
        else:
            claims.append(Claim(f"{prefix}:{part}/{slugify(title)}", key))
    alloc.reserve(given)
    derived = alloc.allocate(c for c in claims if c)
    return [
        derived[claim] if claim else (row.track_id if kind == "track" else row.album_id)
        for row, claim in zip(rows, claims, strict=True)
    ]


class RowIds(NamedTuple):
    """The ids one catalogue row resolves to."""

    artist: str
    track: str | None
    album: str | None


def resolve_ids(rows: list[CatalogRow], session: Session | None = None) -> list[RowIds]:
    """Each row's artist, track and album ids, by the rules of storage.catalog_ids.

    Without a session the file alone decides (as for a gazetteer built straight
    from a CSV); with one, ids and explicit artists already stored count too.
    """
    artist_ids, parts = _artist_ids(rows, session)
    track_ids = _work_ids(rows, artist_ids, parts, "track", session)
    album_ids = _work_ids(rows, artist_ids, parts, "album", session)
    return [RowIds(*ids) for ids in zip(artist_ids, track_ids, album_ids, strict=True)]


def merge_rows(rows: list[CatalogRow], session: Session | None) -> _Merged:
    """Resolve ids and fold duplicate lines into one record per entity.

    Without a session the file is merged as if imported into an empty database.
    """
    merged = _Merged()
    for row, (artist_id, track_id, album_id) in zip(rows, resolve_ids(rows, session), strict=True):
        _add_artist(merged, artist_id, row)
        if row.track and track_id:
            _add_work(merged.tracks, track_id, row.track, artist_id)
        if row.album and album_id:
            _add_work(merged.albums, album_id, row.album, artist_id)
    return merged


def merge_existing_aliases(session: Session, artists: dict[str, dict[str, Any]]) -> None:
    """Keep aliases already stored, so a later file without aliases loses none."""
    for chunk in chunked(list(artists), 5000):
        stmt = select(Artist.id, Artist.aliases, Artist.name).where(Artist.id.in_(chunk))
        for artist_id, aliases, name in session.execute(stmt):
            rec = artists[artist_id]
            rec["name"] = _better_name(name, rec["name"])
            rec["aliases"] = sorted(set(aliases or []) | set(rec["aliases"]))
    for rec in artists.values():
        rec["aliases"] = sorted(set(rec["aliases"]))

"""Catalogue ids: explicit ids checked, derived ids that never join two different names.

A derived id is readable (`ar:<slug>`, `tr:<artist>/<slug>`), but slugs are
lossy: "AC/DC" and "AC DC", or two names an older version slugged alike,
would share one. Each derived id therefore has an owner, the identity key of
the name it was made for (`storage.names.name_key`; for tracks and albums
the artist id too). An id already owned by another key, in the database or
elsewhere in the file, is not taken: the name gets its slug plus a short hash
of its key instead. Which name keeps the plain slug does not depend on row
order: the database's owner, else the smallest key.

Ids are bounded by their columns (the same widths on SQLite and PostgreSQL):
an explicit id that is too long is a bad row naming its line; a derived one
is cut and given a hash, so a 300-character name imports on both backends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from linernotes.storage.models import Album, Artist, Track
from linernotes.storage.names import short_hash

MAX_ARTIST_ID: int = Artist.__table__.c.id.type.length  # type: ignore[attr-defined]
MAX_TRACK_ID: int = Track.__table__.c.id.type.length  # type: ignore[attr-defined]
MAX_ALBUM_ID: int = Album.__table__.c.id.type.length  # type: ignore[attr-defined]

HASH_LENGTHS = (8, 16, 32)  # a longer hash only when a shorter one is already owned


class IdCollision(Exception):
    """Two different names would get one id even with the longest hash (never in practice)."""


class Claim(NamedTuple):
    """A name asking for a derived id: `base` is the readable id, `key` its identity."""

    base: str
    key: str


def fit(base: str, key: str, max_len: int, length: int = HASH_LENGTHS[0]) -> str:
    """`base` if it fits in `max_len`, else cut with `-<hash of key>` appended."""
    if len(base) <= max_len:
        return base
    return f"{base[: max_len - length - 1].rstrip('-/')}-{short_hash(key, length)}"


def _hashed(base: str, key: str, max_len: int, length: int) -> str:
    return fit(f"{base}-{short_hash(key, length)}", key, max_len, length)


OwnerLookup = Callable[[Iterable[str]], Mapping[str, str]]


class IdAllocator:
    """Hands out derived ids of one kind, each owned by exactly one key.

    `owners(ids)` says which of `ids` the database already holds, and for which key.
    """

    def __init__(self, max_len: int, owners: OwnerLookup | None = None) -> None:
        self.max_len = max_len
        self._lookup = owners
        self.owner: dict[str, str] = {}  # id -> key, the database's and this run's

    def reserve(self, ids: Mapping[str, str]) -> None:
        """Ids taken without derivation (explicit ids in the file), with their keys."""
        for id_, key in ids.items():
            self.owner.setdefault(id_, key)

    def _load(self, ids: Iterable[str]) -> None:
        fresh = [i for i in ids if i not in self.owner]
        if self._lookup and fresh:
            for id_, key in self._lookup(fresh).items():
                self.owner.setdefault(id_, key)

    def allocate(self, claims: Iterable[Claim]) -> dict[Claim, str]:
        """An id for every claim: equal keys share one, different keys never do."""
        groups: dict[str, set[Claim]] = defaultdict(set)
        for claim in claims:
            groups[fit(claim.base, claim.key, self.max_len)].add(claim)
        self._load(groups)
        result: dict[Claim, str] = {}
        losers: list[Claim] = []
        for id_ in sorted(groups):
            members = groups[id_]
            if len(members) == 1:  # the usual case: one name wants this id
                (claim,) = members
                if self.owner.setdefault(id_, claim.key) == claim.key:
                    result[claim] = id_
                else:
                    losers.append(claim)
                continue
            keep = self.owner.setdefault(id_, min(c.key for c in members))
            for claim in members:
                if claim.key == keep:
                    result[claim] = id_
                else:
                    losers.append(claim)
        for claim in sorted(losers):
            result[claim] = self._hashed_id(claim)
        return result

    def _hashed_id(self, claim: Claim) -> str:
        for length in HASH_LENGTHS:
            candidate = _hashed(claim.base, claim.key, self.max_len, length)
            self._load([candidate])
            if self.owner.setdefault(candidate, claim.key) == claim.key:
                return candidate
        raise IdCollision(f"no free id for {claim.base!r}: every hashed form is taken")

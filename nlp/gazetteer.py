"""The catalogue as an in-memory name index for mention finding and linking.

Why not a spaCy PhraseMatcher: building one Doc per name costs minutes and gigabytes for a few
million names. Here every name is reduced once to its matching key (`storage.names.normalize_name`)
and kept in one dict; the matcher walks the document's tokens and looks up token n-grams, bounded by
the longest name that starts with each first word. Entries are stored column-wise (parallel lists of
interned strings), so 2M names stay well under a gigabyte.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from linernotes.storage.names import normalize_name

log = logging.getLogger("linernotes.gazetteer")

KINDS = ("artist", "track", "album")
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
MAX_NAME_TOKENS = 12
# Bump when the Gazetteer's attributes change; the source hashes below also invalidate old caches
# automatically whenever this module or the name normaliser is edited.
CACHE_FORMAT = 2


@dataclass(frozen=True)
class CatalogEntry:
    """One catalogue name: an artist, or a track/album with the artist it belongs to."""

    kind: str  # "artist" | "track" | "album"
    id: str
    name: str
    artist_id: str | None = None
    artist_name: str | None = None


# version parts of a title: "(A Deal with God)", "[Remastered 2011]", " - Live", " - 2011 Remaster"
_BRACKETED = re.compile(r"\s*[(\[][^)\]]*[)\]]")
_VERSION_SUFFIX = re.compile(
    r"\s+[-\u2013\u2014]\s+[^-\u2013\u2014]*\b(?:live|remaster(?:ed)?|remix|mix|edit|version|"
    r"mono|stereo|demo|acoustic|single|radio|bonus|deluxe|edition|(?:19|20)\d\d)\b[^-\u2013\u2014]*$",
    re.I,
)


def title_base(title: str) -> str:
    """A title without its bracketed parts and version suffix; the title itself if nothing is left.

    "Running Up That Hill (A Deal with God)" -> "Running Up That Hill";
    "Heroes - 2017 Remaster" -> "Heroes"; "(I Can't Get No) Satisfaction" -> "Satisfaction".
    """
    base = _VERSION_SUFFIX.sub("", _BRACKETED.sub("", title)).strip()
    return base or title


def name_tokens(key: str) -> list[str]:
    """Split a matching key into the word keys the token matcher compares."""
    return key.split()


class Gazetteer:
    """Normalised-name index over artists, tracks and albums.

    `lookup(key)` returns entry indices for a normalised key; `entry(i)` rebuilds the CatalogEntry.
    `prior(i)` is a popularity prior: for artists the number of catalogue rows they own, for works
    the prior of their artist, so a title shared by several artists prefers the better-known one.
    """

    def __init__(self) -> None:
        self._kind = bytearray()
        self._id: list[str] = []
        self._name: list[str] = []
        self._artist_id: list[str | None] = []
        self._artist_name: list[str | None] = []
        self._index: dict[str, int | tuple[int, ...]] = {}
        self._max_len: dict[str, int] = {}
        self._artist_rows: Counter[str] = Counter()
        self._artist_by_id: dict[str, int] = {}
        self._starts_with_the: set[int] = set()
        # `fingerprint` of the entries when built by from_entries_cached: what caches of results
        # computed against this catalogue are keyed on (nlp.blocks); None for an ad-hoc index
        self.fingerprint: str | None = None

    # construction ------------------------------------------------------------------------------
    @classmethod
    def from_entries(cls, entries: Iterable[CatalogEntry]) -> Gazetteer:
        """Index entries; duplicates (same kind, id and key) are kept once."""
        gaz = cls()
        seen: set[tuple[int, str, str]] = set()
        for entry in entries:
            gaz._add(entry, seen)
        return gaz

    @classmethod
    def from_entries_cached(
        cls, entries: list[CatalogEntry], cache_dir: Path | None = None
    ) -> Gazetteer:
        """Like `from_entries`, but reuse a pickled index built from the very same entries.

        Why: indexing the 200k-row catalogue costs ~20 s on every CLI run, unpickling a fraction
        of that. The file name is a fingerprint of the entries and of the code that builds the
        index, so a changed catalogue or normaliser simply misses. A missing, unreadable or
        corrupt cache file is rebuilt and overwritten, never an error.
        """
        directory = cache_dir if cache_dir is not None else default_cache_dir()
        key = fingerprint(entries)
        path = directory / f"{key}.pickle"
        cached = _read_cache(path)
        if cached is not None:
            cached.fingerprint = key
            return cached
        gaz = cls.from_entries(entries)
        gaz.fingerprint = key
        _write_cache(path, gaz)
        return gaz

    def _add(self, entry: CatalogEntry, seen: set[tuple[int, str, str]]) -> None:
        code = _KIND_CODE.get(entry.kind)
        if code is None:
            raise ValueError(f"unknown catalogue kind {entry.kind!r} for {entry.id!r}")
        key = normalize_name(entry.name)
        if not key:
            return
        marker = (code, entry.id, key)
        if marker in seen:
            return
        seen.add(marker)
        idx = len(self._id)
        self._kind.append(code)
        self._id.append(sys.intern(entry.id))
        self._name.append(entry.name)
        self._artist_id.append(sys.intern(entry.artist_id) if entry.artist_id else None)
        self._artist_name.append(sys.intern(entry.artist_name) if entry.artist_name else None)
        if code == 0:
            self._artist_by_id.setdefault(entry.id, idx)
        elif entry.artist_id:
            self._artist_rows[entry.artist_id] += 1
        if entry.name.casefold().startswith("the "):
            self._starts_with_the.add(idx)
        self._index_key(key, idx)
        if code:  # a title is also found without its version parts ("(Remastered 2011)")
            plain = normalize_name(title_base(entry.name))
            if plain and plain != key and (code, entry.id, plain) not in seen:
                seen.add((code, entry.id, plain))
                self._index_key(plain, idx)

    def _index_key(self, key: str, idx: int) -> None:
        old = self._index.get(key)
        if old is None:
            self._index[key] = idx
        elif isinstance(old, int):
            self._index[key] = (old, idx)
        else:
            self._index[key] = (*old, idx)
        words = name_tokens(key)
        first = words[0]
        if len(words) > self._max_len.get(first, 0):
            self._max_len[first] = min(len(words), MAX_NAME_TOKENS)

    # queries ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._id)

    def lookup(self, key: str) -> tuple[int, ...]:
        """Entry indices whose name normalises to `key` (already normalised)."""
        hit = self._index.get(key)
        if hit is None:
            return ()
        return (hit,) if isinstance(hit, int) else hit

    def lookup_name(self, name: str) -> list[CatalogEntry]:
        """Entries for a free-form name (normalised here)."""
        return [self.entry(i) for i in self.lookup(normalize_name(name))]

    def max_tokens(self, first_word: str) -> int:
        """Longest name (in words) starting with this word key; 0 when none does."""
        return self._max_len.get(first_word, 0)

    def kind(self, idx: int) -> str:
        return KINDS[self._kind[idx]]

    def entry_id(self, idx: int) -> str:
        return self._id[idx]

    def artist_of(self, idx: int) -> str | None:
        return self._artist_id[idx]

    def name_of(self, idx: int) -> str:
        return self._name[idx]

    def starts_with_the(self, idx: int) -> bool:
        """Whether the catalogue name itself begins with "The" (so the span should include it)."""
        return idx in self._starts_with_the

    def entry(self, idx: int) -> CatalogEntry:
        return CatalogEntry(
            KINDS[self._kind[idx]],
            self._id[idx],
            self._name[idx],
            self._artist_id[idx],
            self._artist_name[idx],
        )

    def prior(self, idx: int) -> float:
        """Popularity prior in (0, 1): more catalogue rows for the artist -> closer to 1."""
        artist = self._id[idx] if self._kind[idx] == 0 else self._artist_id[idx]
        rows = self._artist_rows.get(artist, 0) if artist else 0
        return rows / (rows + 5.0) * 0.5 + 0.5

    def artist_index(self, artist_id: str) -> int | None:
        return self._artist_by_id.get(artist_id)

    def find_ngrams(self, words: Sequence[str]) -> Iterator[tuple[int, int, tuple[int, ...]]]:
        """All (start, end, entries) word n-grams of `words` (word keys) that are catalogue names.

        Empty word keys (punctuation) are skipped inside a name but never start or end one.
        """
        n = len(words)
        for start in range(n):
            first = words[start]
            if not first:
                continue
            limit = self._max_len.get(first, 0)
            if not limit:
                continue
            parts: list[str] = []
            count = 0
            end = start
            while end < n and count < limit:
                word = words[end]
                end += 1
                if not word:
                    continue
                parts.append(word)
                count += 1
                hit = self.lookup(" ".join(parts))
                if hit:
                    yield start, end, hit


def default_cache_dir() -> Path:
    """$LINERNOTES_CACHE/gazetteer, else ~/.cache/linernotes/gazetteer."""
    root = os.environ.get("LINERNOTES_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "linernotes"
    return base / "gazetteer"


def fingerprint(entries: Iterable[CatalogEntry]) -> str:
    """sha1 over the sorted entry fields plus the source of the code that indexes them.

    Sorting makes the key independent of database row order; one joined string per entry keeps
    it to a single C-level sort and hash (well under a second for 200k catalogue rows).
    """
    digest = hashlib.sha1(f"format={CACHE_FORMAT}\n".encode())
    for module in (sys.modules[__name__], sys.modules[normalize_name.__module__]):
        source = getattr(module, "__file__", None)
        if source:
            digest.update(Path(source).read_bytes())
    rows = sorted(
        "\x1f".join((e.kind, e.id, e.name, e.artist_id or "", e.artist_name or "")) for e in entries
    )
    digest.update("\x1e".join(rows).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _read_cache(path: Path) -> Gazetteer | None:
    """The cached gazetteer, or None when absent or unusable (any unpickling failure)."""
    try:
        with open(path, "rb") as handle:
            gaz = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as exc:  # corrupt/truncated/incompatible file: rebuild instead
        log.warning("ignoring unreadable gazetteer cache %s: %s", path, exc)
        return None
    if not isinstance(gaz, Gazetteer):
        log.warning("ignoring gazetteer cache %s: not a Gazetteer", path)
        return None
    return gaz


def _write_cache(path: Path, gaz: Gazetteer) -> None:
    """Write atomically (temp file + rename) so a killed run never leaves a half file behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(gaz, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:  # read-only home, full disk: the index still works uncached
        log.warning("could not write gazetteer cache %s: %s", path, exc)


def entries_from_file(path: str | Path, fmt: str | None = None) -> Iterator[CatalogEntry]:
    """Catalogue entries of a CSV or MusicBrainz file, read by the importer's own code.

    Why not a reader here: ids must be the ones the database gets (`storage.catalog.merge_rows`:
    explicit ids kept, ar:/tr:/al: ids derived by `storage.names.slugify`, an id-less artist row
    merged into a same-named artist with an explicit id), or `eval mentions` and `annotate`
    would link to ids the database does not have. Bad rows are skipped with a warning.
    """
    from linernotes.storage.catalog import file_catalog_names

    for name in file_catalog_names(path, fmt):
        yield CatalogEntry(*name)


def entries_from_csv(path: str | Path) -> Iterator[CatalogEntry]:
    """Entries of a CONTRACT catalogue CSV (see `entries_from_file`)."""
    return entries_from_file(path, "csv")


def load_csv(path: str | Path) -> Gazetteer:
    """Gazetteer straight from a catalogue file (CSV, or MusicBrainz JSON lines)."""
    return Gazetteer.from_entries(entries_from_file(path))

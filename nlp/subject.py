"""Page subject: the artist, track or album a page's title names, and the sentences about it.

A review titled "Björk: Vespertine" is about that album; its sentences saying "the album" or "she"
describe the subject even without naming it. Those sentence spans are returned so the profile stage
can credit their descriptors to the subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from linernotes.storage.names import normalize_name

_ANAPHORA = {
    "ARTIST": r"\b(?:she|he|they|her|his|their|hers|the band|the group|the duo|the trio|"
    r"the singer|the rapper|the artist|the musician|the songwriter|the producer|the quartet)\b",
    "TRACK": r"\b(?:it|its|the song|the track|the single|the tune|the cut|"
    r"this song|this track)\b",
    "ALBUM": r"\b(?:it|its|the album|the record|the lp|the ep|the mixtape|"
    r"this album|this record)\b",
}
_ANAPHORA_RE = {label: re.compile(rx, re.IGNORECASE) for label, rx in _ANAPHORA.items()}
_PRIORITY = {"ALBUM": 0, "TRACK": 1, "ARTIST": 2}


class _Mention(Protocol):
    start: int
    end: int
    label: str
    entity_id: str | None
    name: str | None
    surface: str
    confidence: float


def choose_subject(title_mentions: Sequence[_Mention]) -> _Mention | None:
    """The title's main mention: a linked one first, then a work (album/track) over its artist.

    Review headlines usually read "Artist: Album" or "Artist - Track", so a work in the title is
    the subject and the artist is its context; a title naming only an artist is about the artist.
    """
    if not title_mentions:
        return None
    return min(
        title_mentions,
        key=lambda m: (m.entity_id is None, _PRIORITY.get(m.label, 3), m.start),
    )


def subject_sentences(
    text: str,
    sentences: Sequence[tuple[int, int]],
    subject_label: str,
    other_mentions: Sequence[_Mention],
    subject_key: str | None,
) -> list[tuple[int, int]]:
    """Sentences that refer to the subject by pronoun or description ("she", "the song").

    A sentence that names a *different* entity of the subject's label is skipped: there the
    pronoun most likely points at that entity instead.
    """
    regex = _ANAPHORA_RE.get(subject_label)
    if regex is None:
        return []
    out = []
    for start, end in sentences:
        if not regex.search(text[start:end]):
            continue
        rivals = [
            m
            for m in other_mentions
            if m.label == subject_label
            and start <= m.start < end
            and (m.entity_id or m.surface.casefold()) != subject_key
        ]
        if not rivals:
            out.append((start, end))
    return out


# A page's title often dresses the work's name: quotes, "(song)", a site name after a bar,
# "Artist - Title" or "Artist: Title". These are the pieces tried against the catalogue.
_QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"
_DESCRIPTOR = re.compile(
    r"\s*[(\[](?:[^)\]]*\b)?(?:song|single|track|b-side|cover|version|remaster(?:ed)?|"
    r"live|demo|lyrics|official (?:video|audio))\b[^)\]]*[)\]]\s*",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"\s+[-\u2013\u2014|\u00b7]\s+|:\s+")
_QUOTED = re.compile(r"[\"\u201c\u2018']([^\"\u201c\u201d\u2018\u2019]{2,120})[\"\u201d\u2019']")


def title_keys(title: str) -> list[str]:
    """Catalogue keys (`normalize_name`) a page title may name a work by, most specific first.

    >>> title_keys('"Blue Monday" (song) - Example Wiki')
    ['blue monday', 'example wiki', 'blue monday example wiki']
    """
    pieces = [m.group(1) for m in _QUOTED.finditer(title)]
    pieces += _SEPARATORS.split(title)
    pieces.append(title)
    out: list[str] = []
    for piece in pieces:
        key = normalize_name(_DESCRIPTOR.sub(" ", piece).strip().strip(_QUOTES))
        if len(key) >= 2 and key not in out:
            out.append(key)
    return out


def quoted_keys(text: str) -> set[str]:
    """`normalize_name` of every quoted stretch of a text ("“Blue Monday” is ...")."""
    return {normalize_name(m.group(1)) for m in _QUOTED.finditer(text)}


def names_in(text: str, name: str) -> bool:
    """Whether `name` occurs in `text` as whole words, whatever the case."""
    if not name:
        return False
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE) is not None


def pick_title_work(
    candidates: Sequence[tuple[str, str, str | None, str | None]],
    text: str,
    mentioned_artists: set[str],
) -> str | None:
    """The one catalogue work (id, title, artist id, artist name) a page's title names.

    A title alone is weak evidence (a page called "Home" or "About" matches some song),
    so the page must also back it: it names the work's artist (or one of a credit's
    names), quotes the title, or repeats a title of several words as its headline
    (first line). Several candidates backed equally: none is chosen.
    """
    in_quotes = quoted_keys(text)
    first_line = normalize_name(text.lstrip().split("\n", 1)[0][:200])

    def backing(c: tuple[str, str, str | None, str | None]) -> int:
        _id, work_title, artist_id, artist_name = c
        key = normalize_name(work_title)
        by_artist = (artist_id is not None and artist_id in mentioned_artists) or any(
            names_in(text, part) for part in credit_names(artist_name or "")
        )
        headline = " " in key and first_line == key
        return 2 * by_artist + (key in in_quotes or headline)

    scored = sorted(((backing(c), c[0]) for c in candidates), reverse=True)
    if not scored or scored[0][0] == 0:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1]


_CREDIT_SPLIT = re.compile(r"\s*(?:,|&|/|;|\band\b|\bwith\b|\bfeat\.?|\bft\.)\s*", re.I)


def credit_names(name: str) -> list[str]:
    """The names of a credit ("Jay Livingston & Ray Evans" -> both), whole name first.

    Single short words are dropped: "Ray" alone would be found in too many texts.
    """
    parts = [name.strip(), *(p.strip() for p in _CREDIT_SPLIT.split(name))]
    out = []
    for part in parts:
        if part and part not in out and (" " in part or len(part) >= 5):
            out.append(part)
    return out

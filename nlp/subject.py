"""Page subject: the artist, track or album a page's title names, and the sentences about it.

A review titled "Björk: Vespertine" is about that album; its sentences saying "the album" or "she"
describe the subject even without naming it. Those sentence spans are returned so the profile stage
can credit their descriptors to the subject.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

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

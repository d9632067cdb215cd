"""Surface patterns music writing uses to name titles and artists.

Why regexes over the raw text rather than spaCy Matcher patterns: quotes, possessives and
capitalised title runs are character-level facts ("Title" by Artist, Artist's "Title"), and a
handful of compiled regexes over the sentence costs far less than token patterns. Each match yields
a PatternHit with a label, char offsets and a confidence that says how strongly the cue implies
the label.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_OPEN = "\"\u201c\u2018'"
_CLOSE = "\"\u201d\u2019'"
# a capitalised word, incl. O'Connor, AC/DC, 2Pac, Sgt., "N.W.A"
_CAP = r"(?:[A-Z0-9][\w'\u2019./&!?+-]*)"
# also the clitics of tokenised text ("Don 't Stop", "I 'm a Believer"), but not possessive 's
_JOIN = r"(?:of|the|a|an|in|on|and|to|for|at|with|from|de|la|le|&|n'|'n'|x|'t|'m|'re|'ll|'ve|'d)"
# "Stayin ' Alive": a dropped g before a tokenised apostrophe joins too
CAP_RUN = rf"{_CAP}(?:(?:[ ]|(?<=in)[ ]'[ ])(?:{_JOIN}[ ])*{_CAP})*"
QUOTED = r"[\"\u201c\u2018](?P<q>[^\"\u201c\u201d\u2018\u2019\n]{1,80}?)[\"\u201d\u2019]"
_ARTIST_AFTER = rf"(?P<artist>{CAP_RUN})"

_WORK_WORDS_TRACK = r"(?:single|song|track|tune|hit|ballad|anthem|cut|number|b-side)"
_WORK_WORDS_ALBUM = r"(?:album|LP|EP|record|mixtape|full-length|debut|sophomore effort|compilation)"


@dataclass(frozen=True)
class PatternHit:
    """A span the patterns propose: label, char offsets, confidence and which pattern fired."""

    start: int
    end: int
    label: str
    confidence: float
    pattern: str


_RULES: list[tuple[re.Pattern[str], str, str, float]] = [
    # "Title" by Artist
    (re.compile(rf"{QUOTED},?\s+by\s+{_ARTIST_AFTER}"), "TRACK", "quoted_by", 0.9),
    # Artist's "Title"
    (
        re.compile(rf"(?P<artist>{CAP_RUN})['\u2019]s?\s+{QUOTED}"),
        "TRACK",
        "possessive_quoted",
        0.85,
    ),
    # the single/song/track "X"
    (re.compile(rf"\b{_WORK_WORDS_TRACK}s?,?\s+{QUOTED}", re.I), "TRACK", "work_word_quoted", 0.9),
    # the album/LP/EP "X"
    (re.compile(rf"\b{_WORK_WORDS_ALBUM}s?,?\s+{QUOTED}"), "ALBUM", "album_word_quoted", 0.9),
    # "X" album / "X" LP
    (re.compile(rf"{QUOTED}\s+(?:album|LP|EP|mixtape)\b"), "ALBUM", "quoted_album_word", 0.85),
    # from the album X / the LP X / the EP X (unquoted capitalised title)
    (
        re.compile(
            rf"\b(?:[Tt]he|their|his|her|its|debut|new|studio|live|solo|[a-z]+th|first|second|third"
            rf"|[a-z]+|\d{{4}})\s+(?:album|LP|EP|mixtape|EPs),?\s+(?P<t>{CAP_RUN})"
        ),
        "ALBUM",
        "album_word",
        0.96,
    ),
    # her debut X / 2000 debut X / on the CD X
    (re.compile(rf"\b(?:debut|the CD),?\s+(?P<t>{CAP_RUN})"), "ALBUM", "debut", 0.85),
    # released X / the release of X / released on X: in biographies, mostly an album
    (
        re.compile(rf"\b(?:released(?: on)?|release of)\s+(?P<t>{CAP_RUN})"),
        "ALBUM",
        "released",
        0.85,
    ),
    # the single X / the song X (unquoted)
    (
        re.compile(
            rf"\b(?:[Tt]he|their|his|her|its|lead|new|hit|debut|[0-9]+|first|second|third|[a-z]+th)"
            rf"\s+(?:single|song|track),?\s+(?P<t>{CAP_RUN})"
        ),
        "TRACK",
        "track_word",
        0.96,
    ),
    # 1983's Eye of the Storm
    (re.compile(rf"\b(?:19|20)\d\d ?['\u2019]s (?P<t>{CAP_RUN})"), "ALBUM", "year_work", 0.9),
    # their Graveyard Classics album
    (
        # (not a year: "his 1989 album"; not a chart: "the Billboard 200 album chart")
        re.compile(
            rf"\b(?:their|his|her|its|the|a|an) (?!(?:19|20)\d\d )(?P<t>{CAP_RUN})"
            rf" (?:album|LP|EP)\b(?! charts?\b)"
        ),
        "ALBUM",
        "title_album_word",
        0.9,
    ),
]
# the number-one hit X / Top 10 hit X / hit singles X (and Y: several, so split at "and")
_HIT = re.compile(rf"\b(?:[a-z0-9-]+|Top \d+) hit(?: single(?P<several>s)?)?,?\s+(?P<t>{CAP_RUN})")

_LIST_CUE = re.compile(
    rf"\b(?P<kind>albums|LPs|EPs|records|singles|songs|tracks|hits)\b"
    rf"(?:(?!\bby\b|artists|bands|acts|musicians)[^.;:]){{0,80}}?"
    rf"(?:such as|including|includes?|like|:|\s[-\u2013\u2014])\s+"
    rf"(?P<list>{CAP_RUN}(?:\s*(?:\([^)]*\))?\s*(?:,|,?\s+and|,?\s+or)\s+{CAP_RUN})+)"
)
_LIST_ITEM = re.compile(CAP_RUN)
_LIST_SPLIT = re.compile(r"\s*\([^)]*\)\s*|,\s*(?:and|or)\s+|,\s*|\s+(?:and|or)\s+")
_GENERIC_QUOTED = re.compile(QUOTED)
# tokenised text spaces out single quotes: "' Paranoid ' and ' War Pigs '"
_SPACED_SINGLE = re.compile(r"(?:(?<=\s)|^)' (?P<q>[^'\n]{1,80}?) '(?=[\s,.;:)]|$)")


def _title_like(text: str) -> bool:
    """Whether a quoted string looks like a title rather than a quotation."""
    words = text.split()
    if not words or len(words) > 10 or text.endswith((".", ",")):
        return False
    caps = sum(1 for w in words if w[:1].isupper() or w[:1].isdigit())
    return (caps >= max(1, (len(words) + 1) // 2) and words[0][:1].isupper()) or (
        len(words) == 1 and words[0][:1].isupper()
    )


def _trim(text: str, start: int, end: int) -> int:
    """End offset without trailing sentence punctuation ("Radiohead." -> "Radiohead")."""
    while end > start + 1 and text[end - 1] in ".,;:!?'\u2019" and not text[end - 2].isupper():
        end -= 1
    return end


def find_patterns(text: str) -> Iterator[PatternHit]:
    """All pattern hits in `text` (may overlap; the caller resolves overlaps)."""
    for regex, label, name, conf in _RULES:
        for match in regex.finditer(text):
            group = "q" if "q" in match.groupdict() and match.group("q") else "t"
            if match.groupdict().get(group):
                start, end = match.span(group)
                title = text[start:end].strip()
                start = start + text[start:end].index(title) if title else start
                end = start + len(title) if group == "q" else _trim(text, start, start + len(title))
                if title and (group == "t" or _title_like(title)):
                    yield PatternHit(start, end, label, conf, name)
            if match.groupdict().get("artist"):
                a_start, a_end = match.span("artist")
                a_end = _trim(text, a_start, a_end)
                yield PatternHit(a_start, a_end, "ARTIST", conf - 0.1, name + "_artist")
    yield from _hit_hits(text)
    yield from _list_hits(text)
    # a bare quoted title is weak evidence; a spaced-out single-quoted one is a song title in
    # (tokenised) encyclopaedic text, where album titles go unquoted
    for regex, conf in ((_GENERIC_QUOTED, 0.55), (_SPACED_SINGLE, 0.85)):
        for match in regex.finditer(text):
            title = match.group("q").strip()
            if title and _title_like(title):
                start = match.start("q") + match.group("q").index(title)
                yield PatternHit(start, start + len(title), "TRACK", conf, "quoted")


def _hit_hits(text: str) -> Iterator[PatternHit]:
    """Titles after "hit" / "hit single(s)"; after "hit singles" the run "A and B" is two."""
    for match in _HIT.finditer(text):
        start, end = match.span("t")
        parts = [(start, end)]
        if match.group("several"):
            cut = text.rfind(" and ", start, end)
            if cut > start:
                parts = [(start, cut), (cut + 5, end)]
        for s, e in parts:
            yield PatternHit(s, _trim(text, s, e), "TRACK", 0.9, "hit_word")


_ANY_LIST = re.compile(rf"{CAP_RUN}(?:\s*(?:\([^)]*\))?\s*(?:,|,?\s+and|,?\s+or)\s+{CAP_RUN})+")


def coordinated_runs(text: str) -> Iterator[list[tuple[int, int]]]:
    """Char spans of the items of each "A, B, C and D" list of capitalised runs.

    Why: writers list works of one kind together ("the singles X, Y and Z"), so a list with a
    known title in it is a list of titles; the caller decides the label from the known items.
    """
    for match in _ANY_LIST.finditer(text):
        items: list[tuple[int, int]] = []
        pos = 0
        body = match.group(0)
        for piece in _LIST_SPLIT.split(body):
            stripped = piece.strip()
            if not stripped:
                continue
            offset = body.index(stripped, pos)
            pos = offset + len(stripped)
            start = match.start() + offset
            end = start + len(stripped)
            while end > start + 1 and text[end - 1] in ".,;:":  # "!"/"?" belong to titles
                end -= 1
            items.append((start, end))
        if len(items) >= 2:
            yield items


def _list_hits(text: str) -> Iterator[PatternHit]:
    for match in _LIST_CUE.finditer(text):
        kind = match.group("kind").lower()
        label = "ALBUM" if kind in ("albums", "lps", "eps", "records") else "TRACK"
        base = match.start("list")
        pos = 0
        for piece in _LIST_SPLIT.split(match.group("list")):
            offset = match.group("list").index(piece, pos)
            pos = offset + len(piece)
            item = _LIST_ITEM.match(piece.strip())
            if item is None or not piece.strip():
                continue
            start = base + offset + piece.index(piece.strip())
            end = _trim(text, start, start + item.end())
            yield PatternHit(start, end, label, 0.9, "list")

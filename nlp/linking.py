"""Resolve a labelled mention to a catalogue id: candidates by name key, ranked by context.

Score of a candidate = popularity prior (Gazetteer.prior) + context evidence:
  * a track/album whose artist is linked elsewhere in the document, or is the page subject;
  * a track/album whose artist's name appears in the same sentence ("Title" by Artist);
  * an artist whose works are mentioned in the document (co-mentions).
Names that are common words ("Yes", "Low", "Home") are linked only when the mention already has
evidence (a pattern, the NER, or a context hit); the caller passes that in `has_evidence`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nlp.gazetteer import Gazetteer
from storage.names import normalize_name

KIND_OF_LABEL = {"ARTIST": "artist", "TRACK": "track", "ALBUM": "album"}

# Frequent English words that are also artist or title names; with spaCy's stop words they decide
# whether a name needs evidence beyond a dictionary hit.
_COMMON_TEXT = """
    yes no low high hello home live air love time world life heart fire water light night
    day dream dreams rain sun moon star stars blue red black white gold green summer winter
    spring fall angel angels baby girl boy man woman people friends family money power free
    freedom hope peace war god heaven hell soul rock roll pop jazz blues house music song
    songs sound sounds dance party happy sad alone together forever tonight today tomorrow
    yesterday now again away back down up out over under open closed run stay go come hold
    help intro outro interlude skit remix edit mix version demo bonus acoustic original
    instrumental radio single album record track tape side one two three four five six seven
    eight nine ten new old young wild sweet crazy lost found real true good bad better best
    last first next more less stop start end beginning change changes always never
    everything nothing something anything yeah oh hey ok okay la da na wow thanks sorry
    please beautiful perfect broken alive dead gone runaway america city country road roads
    street streets paradise ocean sea river heat ice snow storm thunder rainbow shadow
    shadows ghost ghosts memories memory story stories faith trust truth lies secrets secret
    silence noise echo echoes wonder wonderful grace glory honey sugar fever magic mystery
    reason reasons promise promises problem problems why what who how where when this that
    these those here there everybody somebody nobody you me we us them her him it they she
    he i my your our their mine yours hers
"""
COMMON_WORDS = frozenset(_COMMON_TEXT.split())


def is_common_name(name: str) -> bool:
    """True when every word of the name is a frequent English word (needs extra evidence)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words = normalize_name(name).split()
    return bool(words) and all(w in COMMON_WORDS or w in STOP_WORDS for w in words)


@dataclass(frozen=True)
class LinkResult:
    """The chosen entry index (None: unresolved), the catalogue id and name, and a confidence."""

    index: int | None
    entity_id: str | None
    name: str | None
    confidence: float


@dataclass
class LinkContext:
    """What the document tells the linker: linked artist ids, subject artist, sentence text."""

    artist_ids: frozenset[str] = frozenset()
    subject_artist_id: str | None = None
    sentence: str = ""
    work_artist_ids: frozenset[str] = frozenset()


def candidates(gaz: Gazetteer, surface: str, label: str) -> list[int]:
    """Entry indices of the right kind whose name normalises like `surface`."""
    kind = KIND_OF_LABEL.get(label)
    key = normalize_name(surface)
    return [i for i in gaz.lookup(key) if gaz.kind(i) == kind] if key else []


def link(gaz: Gazetteer, surface: str, label: str, ctx: LinkContext) -> LinkResult:
    """Choose the best catalogue entry for a mention, or none."""
    found = candidates(gaz, surface, label)
    if not found:
        return LinkResult(None, None, None, 0.0)
    sentence_key = f" {normalize_name(ctx.sentence)} " if ctx.sentence else ""
    scored = [(_score(gaz, i, label, ctx, sentence_key), i) for i in found]
    scored.sort(key=lambda pair: (-pair[0], gaz.entry_id(pair[1])))
    best_score, best = scored[0]
    margin = best_score - scored[1][0] if len(scored) > 1 else 0.5
    confidence = min(1.0, 0.45 * best_score + 0.5 * min(margin, 0.5) + 0.1)
    return LinkResult(best, gaz.entry_id(best), gaz.name_of(best), round(confidence, 3))


def _score(gaz: Gazetteer, idx: int, label: str, ctx: LinkContext, sentence_key: str) -> float:
    score = gaz.prior(idx)
    if label == "ARTIST":
        entry_id = gaz.entry_id(idx)
        if entry_id == ctx.subject_artist_id:
            score += 0.4
        if entry_id in ctx.work_artist_ids:
            score += 0.3
        return score
    artist = gaz.artist_of(idx)
    if artist is None:
        return score
    if artist in ctx.artist_ids:
        score += 0.5
    if artist == ctx.subject_artist_id:
        score += 0.4
    artist_idx = gaz.artist_index(artist)
    if artist_idx is not None and sentence_key:
        key = normalize_name(gaz.name_of(artist_idx))
        if key and f" {key} " in sentence_key:
            score += 0.3
    return score


def artist_ids_of(gaz: Gazetteer, indices: Iterable[int | None]) -> frozenset[str]:
    """Artist ids behind linked entries (an artist's own id, a work's artist id)."""
    out: set[str] = set()
    for idx in indices:
        if idx is None:
            continue
        artist = gaz.entry_id(idx) if gaz.kind(idx) == "artist" else gaz.artist_of(idx)
        if artist:
            out.add(artist)
    return frozenset(out)

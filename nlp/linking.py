"""Resolve a labelled mention to a catalogue id: candidates by name key, ranked by context.

A title is linked to the candidate the nearest context supports (`_work_scores`): the possessor
in "X's Title" first (and alone: "Caribou's Honey" is never Robyn's album), then an artist named in
the same sentence, then artists linked elsewhere in the document, then the page's subject; the
popularity prior (Gazetteer.prior) only breaks ties within one level. Artists score by prior plus
co-mentions (their works in the document, or being the page subject). Every candidate's score is
returned with the link (`LinkResult.alternatives`) so an ambiguous name is stored with the others.
Names that are common words ("Yes", "Low", "Home") are linked only when the mention already has
evidence (a pattern, the NER, or a context hit); the caller passes that in `has_evidence`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from linernotes.nlp.gazetteer import Gazetteer, title_base
from linernotes.storage.names import normalize_name

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
    """The chosen entry index (None: unresolved), the catalogue id and name, and a confidence.

    `alternatives` lists every catalogue candidate (id, score) best first when the name had more
    than one, so an ambiguous link can be stored with the others it was chosen from.
    """

    index: int | None
    entity_id: str | None
    name: str | None
    confidence: float
    alternatives: tuple[tuple[str, float], ...] = ()


NO_LINK = LinkResult(None, None, None, 0.0)


@dataclass
class LinkContext:
    """What the document tells the linker about a mention, nearest first.

    `possessor_ids`: catalogue ids of X in "X's Title" (None: no possessor; empty: a possessor
    the catalogue does not know, which still rules out every other artist's title);
    `sentence_artist_ids` and `sentence`: artists named in the same sentence; `artist_ids`:
    artists linked anywhere in the document; `subject_artist_id`: the page subject's artist.
    """

    artist_ids: frozenset[str] = frozenset()
    subject_artist_id: str | None = None
    sentence: str = ""
    work_artist_ids: frozenset[str] = frozenset()
    possessor_ids: frozenset[str] | None = None
    sentence_artist_ids: frozenset[str] = frozenset()


# How much each source of context is worth, nearest first; a title with no context at all is
# linked by popularity alone at the last weight.
POSSESSOR, SENTENCE, DOCUMENT, SUBJECT, PRIOR_ONLY = 0.95, 0.85, 0.7, 0.65, 0.6
_AGAINST = 0.05  # a candidate the possessor rules out


def candidates(gaz: Gazetteer, surface: str, label: str) -> list[int]:
    """Entry indices of the right kind whose name normalises like `surface`.

    A title written with a version suffix the catalogue lacks ("Heaven (Live)", "X - 2011
    Remaster") also matches the plain title; the gazetteer indexes catalogue titles both with
    and without such parts, so the other direction works too.
    """
    kind = KIND_OF_LABEL.get(label)
    key = normalize_name(surface)
    if not key:
        return []
    found = [i for i in gaz.lookup(key) if gaz.kind(i) == kind]
    if not found and kind != "artist":
        plain = normalize_name(title_base(surface))
        if plain and plain != key:
            found = [i for i in gaz.lookup(plain) if gaz.kind(i) == kind]
    return found


def link(gaz: Gazetteer, surface: str, label: str, ctx: LinkContext) -> LinkResult:
    """Choose the best catalogue entry for a mention, or none."""
    found = candidates(gaz, surface, label)
    if not found:
        return NO_LINK
    if label == "ARTIST":
        scored = [(_artist_score(gaz, i, ctx), i) for i in found]
    else:
        scored = _work_scores(gaz, found, ctx)
    scored.sort(key=lambda pair: (-pair[0], gaz.entry_id(pair[1])))
    alternatives = (
        tuple((gaz.entry_id(i), round(s, 3)) for s, i in scored) if len(scored) > 1 else ()
    )
    best_score, best = scored[0]
    if label != "ARTIST" and ctx.possessor_ids is not None and best_score <= _AGAINST:
        return LinkResult(None, None, None, 0.0, alternatives)  # "Caribou's Honey": not Robyn's
    if label == "ARTIST":
        margin = best_score - scored[1][0] if len(scored) > 1 else 0.5
        confidence = min(1.0, 0.45 * best_score + 0.5 * min(margin, 0.5) + 0.1)
    else:
        confidence = best_score
    return LinkResult(
        best, gaz.entry_id(best), gaz.name_of(best), round(confidence, 3), alternatives
    )


def _artist_score(gaz: Gazetteer, idx: int, ctx: LinkContext) -> float:
    score = gaz.prior(idx)
    entry_id = gaz.entry_id(idx)
    if entry_id == ctx.subject_artist_id:
        score += 0.4
    if entry_id in ctx.work_artist_ids:
        score += 0.3
    return score


def _work_scores(gaz: Gazetteer, found: list[int], ctx: LinkContext) -> list[tuple[float, int]]:
    """Each title candidate's score: the nearest context that speaks for its artist.

    The possessor in "X's Y" decides alone; then an artist named in the same sentence, then one
    linked elsewhere in the document, then the page subject; popularity only breaks ties
    within a level (and decides when no context speaks at all).
    """
    sentence_key = f" {normalize_name(ctx.sentence)} " if ctx.sentence else ""
    weights = [_level(gaz, i, ctx, sentence_key) for i in found]
    out = []
    for weight, idx in zip(weights, found, strict=True):
        peers = [j for w, j in zip(weights, found, strict=True) if w == weight]
        share = gaz.prior(idx) / sum(gaz.prior(j) for j in peers)
        out.append((weight * (0.6 + 0.4 * share), idx))
    return out


def _level(gaz: Gazetteer, idx: int, ctx: LinkContext, sentence_key: str) -> float:
    artist = gaz.artist_of(idx)
    if ctx.possessor_ids is not None:
        return POSSESSOR if artist in ctx.possessor_ids else _AGAINST
    if artist is None:
        return PRIOR_ONLY
    if artist in ctx.sentence_artist_ids or _named_in(gaz, artist, sentence_key):
        return SENTENCE
    if artist in ctx.artist_ids:
        return DOCUMENT
    if artist == ctx.subject_artist_id:
        return SUBJECT
    return PRIOR_ONLY


def _named_in(gaz: Gazetteer, artist: str, sentence_key: str) -> bool:
    """Whether the artist's catalogue name appears in the (normalised) sentence."""
    artist_idx = gaz.artist_index(artist)
    if artist_idx is None or not sentence_key:
        return False
    key = normalize_name(gaz.name_of(artist_idx))
    return bool(key) and f" {key} " in sentence_key


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

"""NER candidate rules: the music NER's ARTIST/TRACK/ALBUM spans, vetted.

`ner` reads doc.ents (the CNN music NER of nlp.train_ner). `ner_spans` reads the span group
`doc.spans["ner_candidates"]` that any other NER component may fill (the hook for a transformer
token classifier: add its component before ours and it becomes one more rule, with its span
scores in `doc.spans["ner_candidates"].attrs["scores"]`); how its spans are merged with the
music NER's is told in `ner_spans_rule`.

Vetting: an NER artist the catalogue does not know is kept only when the stock NER calls it a
PERSON outside film/award sentences, or a context vouches for it; otherwise it is mostly a place,
venue or label. An NER "album" the catalogue knows only as a track becomes a TRACK; an unknown NER
album the stock NER calls a place/event is kept only if something else confirms it.
"""

from __future__ import annotations

import re
from typing import Any

from linernotes.nlp.candidates import (
    MUSIC_LABELS,
    NER_SPANS_KEY,
    Candidate,
    RuleContext,
    rule,
)
from linernotes.storage.names import normalize_name

# stock-NER labels under which an NER "artist" that is not in the catalogue is still believed
_ARTIST_BASE_LABELS = frozenset({"PERSON"})
_NOT_TITLE_LABELS = frozenset({"GPE", "LOC", "FAC", "EVENT", "LAW", "NORP"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC", "NORP"})
_POSSESSIVE_AT = re.compile(r" ?['\u2019]s? ")
_BAND_CUE = re.compile(
    r"\b(?:band|group|duo|trio|members? of|labelmate|frontman|singer|rapper),?\s*$", re.I
)
_FILM_WORDS = re.compile(
    r"Academy Award|\bfilms?\b|\bactor|\bactress|Best Director|Screenplay|Emmy|Golden Globe"
)
# Sentences about prizes, films and sport events: they name categories, films, shows, games
# and venues, which the music NER takes for titles ("Titanic", "Best Film Editing", "Team USA")
_EVENT_SENTENCE = re.compile(
    _FILM_WORDS.pattern + r"|\bAwards?\b|\bnominat|Hall of Fame|Walk of Fame|\bOlympic|\bGames\b"
    r"|\bExpo\b"
)
_ALBUM_WORD = re.compile(r"\b(?:albums?|LPs?|EPs?|records?)\b", re.I)
_SONG_WORD = re.compile(r"\b(?:songs?|singles?|hits?|tracks?)\b", re.I)
NER_CONFIDENCE = 0.8
# Extra NER spans (the transformer's) count only when confident: ">= 0.9" was the floor chosen
# on the CrossNER tuning half (nlp/models/music-ner-int8/PROVENANCE.json, chosen_on_tuning); on
# their own they fill only the gaps the rules leave (the lowest confidence of all).
GAP_SCORE = 0.9
GAP_CONFIDENCE = 0.05


@rule("ner")
def ner_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """The pipeline NER's music entities (doc.ents), vetted."""
    return [
        _vetted(ctx, ent, NER_CONFIDENCE, "ner") for ent in doc.ents if ent.label_ in MUSIC_LABELS
    ]


@rule("ner_spans")
def ner_spans_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """Spans another NER component left in doc.spans["ner_candidates"] (no-op when absent).

    The merge chosen on the CrossNER tuning half (docs/mentions.md): only spans scoring at
    least GAP_SCORE count. Where the music NER tagged the same span as an artist and the
    extra NER as a work, or the other way round, the extra NER's label wins unless the
    catalogue knows the span under the music NER's label (`relabel_ner`); where it reads a
    longer name around the music NER's unknown one, the longer name wins (`widen_ner`).
    Its other spans fill the gaps the other rules leave (the lowest confidence of all);
    an artist is believed unless a film sentence or the stock NER's place label speaks
    against it (`unsure_extra_artist`), titles are vetted like the music NER's.
    """
    if NER_SPANS_KEY not in doc.spans:
        return []
    group = doc.spans[NER_SPANS_KEY]
    scores = group.attrs.get("scores") if hasattr(group, "attrs") else None
    out = []
    for i, span in enumerate(group):
        score = float(scores[i]) if scores is not None and i < len(scores) else NER_CONFIDENCE
        span = _without_punct(span)
        if (
            span is None
            or span.label_ not in MUSIC_LABELS
            or score < GAP_SCORE
            or relabel_ner(ctx, span)
        ):
            continue
        if widen_ner(ctx, span):
            continue
        narrow_ner(ctx, span)
        if span.label_ == "ARTIST":
            sure = not unsure_extra_artist(ctx, span)
            out.append(
                Candidate(span.start_char, span.end_char, "ARTIST", GAP_CONFIDENCE, "ner", sure)
            )
        else:
            out.append(_vetted(ctx, span, GAP_CONFIDENCE, "ner"))
    return out


def _without_punct(span: Any) -> Any:
    """The span without punctuation tokens at its edges (": 5 Klassiker"); None if nothing is
    left. The token classifier sometimes starts a title on the colon before it."""
    start, end = span.start, span.end
    while start < end and span.doc[start].is_punct:
        start += 1
    while end > start and span.doc[end - 1].is_punct and span.doc[end - 1].text not in ".!?":
        end -= 1
    if start == end:
        return None
    if (start, end) == (span.start, span.end):
        return span
    from spacy.tokens import Span

    return Span(span.doc, start, end, label=span.label_)


def relabel_ner(ctx: RuleContext, span: Any) -> bool:
    """Give the music NER's candidate on exactly this span the extra NER's label, where one
    of the two says ARTIST and the other a work and the catalogue does not back the music
    NER's label; True when a candidate was there (the span is then no gap to fill).

    The CNN music NER confuses artists and titles ("Kool Thing", "Space Ritual" as artists,
    "Black Thought" as an album); on the tuning half the transformer's label is right in
    six of the nine such disagreements, and the three others are catalogue artists.
    """
    same = [
        c
        for c in ctx.cands
        if (c.start, c.end) == (span.start_char, span.end_char) and c.method == "ner"
    ]
    for cand in same:
        if (
            cand.label != span.label_
            and "ARTIST" in (cand.label, span.label_)
            and not ctx.known(ctx.text[cand.start : cand.end], cand.label)
        ):
            cand.label = span.label_
            cand.evidence = span.label_ != "ARTIST" or not unsure_extra_artist(ctx, span)
        elif cand.label == span.label_ == "ARTIST" and not cand.evidence:
            # both NERs read this artist: it needs no more than the extra NER's artist alone
            cand.evidence = not unsure_extra_artist(ctx, span)
    return bool(same)


def widen_ner(ctx: RuleContext, span: Any) -> bool:
    """Replace the music NER's candidates that `span` strictly contains, and that the
    catalogue does not know, by one candidate on the whole span with its label.

    The CNN NER cuts names short ("Adam" of "Adam and the Ants", "Beyond" of "Beyond
    Saturday Night", "Six Feet" of "Six Feet Under"); a confident longer reading by the
    transformer was right three times in five on the tuning half and wrong once.
    """
    s, e = span.start_char, span.end_char
    inside = [
        c
        for c in ctx.cands
        if c.method == "ner"
        and s <= c.start
        and c.end <= e
        and (c.start, c.end) != (s, e)
        and not ctx.known(ctx.text[c.start : c.end], c.label)
    ]
    if not inside:
        return False
    first = inside[0]
    first.start, first.end, first.label = s, e, span.label_
    first.evidence = span.label_ != "ARTIST" or not unsure_extra_artist(ctx, span)
    ctx.cands[:] = [c for c in ctx.cands if c is first or all(c is not x for x in inside)]
    return True


def narrow_ner(ctx: RuleContext, span: Any) -> None:
    """Drop the music NER's doubtful candidates that strictly contain `span`: ones the catalogue
    does not know and that only a link could keep (no evidence), so they do not block the extra
    NER's confident reading of the same words ("Drake - Nonstop" read as one artist, where the
    transformer reads the artist and the track)."""
    s, e = span.start_char, span.end_char
    ctx.cands[:] = [
        c
        for c in ctx.cands
        if not (
            c.method == "ner"
            and not c.evidence
            and c.start <= s
            and e <= c.end
            and (c.start, c.end) != (s, e)
            and not ctx.known(ctx.text[c.start : c.end], c.label)
        )
    ]


def unsure_extra_artist(ctx: RuleContext, span: Any) -> bool:
    """An extra-NER artist the catalogue does not know, in a film or award sentence or called
    a place by the stock NER. The transformer needs no PERSON label: it names bands and
    surnames the stock NER misses."""
    if not ctx.has_stock or ctx.known(span.text, "ARTIST"):
        return False
    sentence = span.sent.text if ctx.doc.has_annotation("SENT_START") else ctx.text
    if _FILM_WORDS.search(sentence):
        return True
    return ctx.stock.get((span.start_char, span.end_char)) in PLACE_LABELS


def _vetted(ctx: RuleContext, ent: Any, confidence: float, method: str) -> Candidate:
    label = work_label(ctx, ent.text, ent.label_, ent.start_char)
    sure = not (unsure_artist(ctx, ent) if label == "ARTIST" else unsure_work(ctx, ent, label))
    return Candidate(ent.start_char, ent.end_char, label, confidence, method, sure)


def work_label(ctx: RuleContext, surface: str, label: str, pos: int) -> str:
    """TRACK for an NER "album" the catalogue knows only as a track, unless its sentence
    speaks of albums and not of songs (`work_kind`).

    The music NER mixes the two title kinds up; the catalogue is the better judge when it
    knows the title at all (on CrossNER dev such "albums" are songs two times in three), but
    not against the sentence: "1983's Eye of the Storm" among "five albums" is the album,
    whatever song of that name the catalogue holds.
    """
    if label != "ALBUM" or work_kind(ctx.text, pos) == "ALBUM":
        return label
    gaz = ctx.gazetteer
    kinds = {gaz.kind(i) for i in gaz.lookup(normalize_name(surface))}
    return "TRACK" if kinds == {"track"} else label


def work_kind(text: str, pos: int) -> str:
    """ALBUM when the sentence around `pos` speaks of albums and not of songs, else TRACK."""
    start = max(text.rfind(". ", 0, pos), 0)
    end = text.find(". ", pos)
    sentence = text[start : end if end > 0 else len(text)]
    if _ALBUM_WORD.search(sentence) and not _SONG_WORD.search(sentence):
        return "ALBUM"
    return "TRACK"


def unsure_work(ctx: RuleContext, ent: Any, label: str) -> bool:
    """An NER title the catalogue does not know, in a context that makes it doubtful:

    * an album the stock NER calls a place or event. Venues, prizes and events ("Royal
      Festival Hall", "Shanghai Expo") are the music NER's typical false albums; real titles
      are WORK_OF_ART, PERSON/ORG or nothing to it. (Songs are left alone: on CrossNER dev the
      same test loses more true tracks than it saves.)
    * a title in a prize, film or sport-event sentence that no second NER reads there
      (`read_by_other_ner`): such sentences name films, shows and award categories, and on the
      CrossNER tuning half the unknown titles found there by the music NER alone were all wrong.
    """
    if not ctx.has_stock or ctx.known(ent.text, label):
        return False
    if label == "ALBUM" and ctx.stock.get((ent.start_char, ent.end_char)) in _NOT_TITLE_LABELS:
        return True
    sentence = ent.sent.text if ctx.doc.has_annotation("SENT_START") else ctx.text
    return bool(_EVENT_SENTENCE.search(sentence)) and not read_by_other_ner(ctx, ent)


def read_by_other_ner(ctx: RuleContext, ent: Any) -> bool:
    """Whether a span of doc.spans["ner_candidates"] (the transformer's) overlaps `ent`."""
    if NER_SPANS_KEY not in ctx.doc.spans:
        return False
    return any(
        s.start_char < ent.end_char and ent.start_char < s.end_char
        for s in ctx.doc.spans[NER_SPANS_KEY]
    )


def unsure_artist(ctx: RuleContext, ent: Any) -> bool:
    """An NER artist the catalogue does not know and the stock NER does not call a PERSON.

    On CrossNER dev, unlinked NER artists that the stock NER labels GPE/ORG/NORP/FAC or
    nothing are places, venues, labels and titles about four times in five; PERSON ones are
    mostly right. Linked ones are right 93% of the time, so they skip the stock NER.
    A few contexts still vouch for such a name (see `artist_context`).

    Where a second NER ran (the transformer, `--transformer-ner`) and read nothing on these
    words, a PERSON label is not enough either: the CNN NER's unknown artists that the
    transformer does not read are mostly places, events and people outside music ("South
    Africa", "Olympics", "HEART"); chosen on the CrossNER tuning half and MusicRecoNER dataset 4
    folds together (docs/mentions.md, "Catalogue hints").
    """
    if not ctx.has_stock or ctx.known(ent.text, "ARTIST"):
        return False
    doc = ctx.doc
    if NER_SPANS_KEY in doc.spans and not read_by_other_ner(ctx, ent):
        return True  # a second NER ran and did not read a name here (see docstring)
    sentence = ent.sent.text if doc.has_annotation("SENT_START") else ctx.text
    if _FILM_WORDS.search(sentence):
        return True  # film and award sentences name actors and crew: PERSON is no evidence
    label = ctx.stock.get((ent.start_char, ent.end_char))
    if label in _ARTIST_BASE_LABELS:
        return False
    return label in PLACE_LABELS or not artist_context(ctx, ent)


def artist_context(ctx: RuleContext, ent: Any) -> bool:
    """Contexts where an unlinked NER "artist" is a musician about half the time or more.

    A lone surname opening a sentence ("Gessle recorded ..."), a possessive ("Coroner's Mental
    Vortex") or a band word just before it ("the group Pilot", "members of Bellowhead"); on
    CrossNER dev these are artists 50-80% of the time, against under 20% for the rest.
    """
    text = ctx.text
    if len(ent) == 1 and ent[0].is_sent_start:
        return True
    if _POSSESSIVE_AT.match(text, ent.end_char):
        return True
    return bool(_BAND_CUE.search(text, max(0, ent.start_char - 25), ent.start_char))

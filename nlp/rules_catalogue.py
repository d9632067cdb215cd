"""Candidate rules that read the catalogue (nlp.gazetteer).

* `gazetteer`: a PERSON/ORG entity, or a capitalised multi-word n-gram, that is a catalogue artist
  becomes an ARTIST (also where the NER cut an artist wrong);
* `work_by_artist`: a catalogue title becomes a TRACK/ALBUM only with evidence: its own artist is
  named in the same document;
* `catalogue_agreement`: a candidate whose label the catalogue agrees with gains confidence.

Single common words ("Yes", "Home") never come from the catalogue alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linernotes.nlp import linking
from linernotes.nlp.candidates import Candidate, RuleContext, covers_most, is_capitalised, rule

# either NER's label for an n-gram that makes a catalogue artist name believable
_NAME_LABELS = frozenset({"PERSON", "ORG", "NORP", "GPE", "FAC", "PRODUCT", "WORK_OF_ART"})
AGREEMENT_BONUS = 0.15  # `catalogue_agreement`: a candidate the catalogue knows so wins overlaps


@rule("gazetteer")
def gazetteer_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """Catalogue artist names among the doc's n-grams, believed with an NER label or length."""
    gaz = ctx.gazetteer
    text = ctx.text
    ner_spans = ctx.ner_spans()
    ner_labels = {(e.start_char, e.end_char): e.label_ for e in ner_spans}
    misfits = [  # NER artists whose exact span the catalogue does not know
        (e.start_char, e.end_char)
        for e in ner_spans
        if e.label_ == "ARTIST" and not ctx.known(e.text, "ARTIST")
    ]
    out: list[Candidate] = []
    for start, end, hits in ctx.ngrams():
        if not any(gaz.kind(i) == "artist" for i in hits):
            continue
        key = ctx.char_span(start, end)
        s_char, e_char = key
        if (
            start > 0
            and ctx.orths[start - 1].lower() == "the"
            and any(gaz.starts_with_the(i) for i in hits)
        ):
            s_char = ctx.starts[start - 1]
        surface = text[s_char:e_char]
        if not is_capitalised(surface) or linking.is_common_name(surface):
            continue
        ner_label = ner_labels.get(key) or ctx.stock.get(key)
        if end - start >= 2 and any(covers_most(s_char, e_char, s, e) for s, e in misfits):
            # the NER saw an artist here but cut it wrong ("Maroon 5 's Sugar", "Depeche")
            out.append(Candidate(s_char, e_char, "ARTIST", 0.9, "gazetteer+ner", True))
        elif ner_label in _NAME_LABELS:
            out.append(Candidate(s_char, e_char, "ARTIST", 0.7, "gazetteer+ner", True))
        elif end - start >= 2 and start > 0 and ctx.sent_starts[start] != 1:
            out.append(Candidate(s_char, e_char, "ARTIST", 0.6, "gazetteer", False))
    return out


# A catalogue title among a doc's words: char span and the (kind, artist id) of each entry
Title = tuple[int, int, list[tuple[str, str]]]


@rule("work_by_artist")
def work_by_artist_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """Catalogue titles whose own artist is also named in the document.

    A capitalised title alone is too weak ("Home", "The River"); the same title next to its
    artist is almost always the work (the track or album of that artist). The extractor runs
    the rules per block of a page (nlp.blocks), so this rule sees the block's artists and
    `document_works` adds the titles whose artist another block names.
    """
    titles = catalogue_titles(ctx)
    if not titles:
        return []
    return works_by(titles, candidate_artists(ctx.gazetteer, ctx.text, ctx.cands, ctx.known))


def catalogue_titles(ctx: RuleContext) -> list[Title]:
    """The doc's catalogue titles that may stand for a work: capitalised, not a common word,
    and not also an artist's name (self-titled "Robyn" by Robyn: the artist reading)."""
    if "titles" in ctx.memo:
        return list(ctx.memo["titles"])
    gaz = ctx.gazetteer
    out: list[Title] = []
    for start, end, hits in ctx.ngrams() if len(gaz) else []:
        if any(gaz.kind(i) == "artist" for i in hits):
            continue
        pairs = sorted({(gaz.kind(i), gaz.artist_of(i) or "") for i in hits})
        s_char, e_char = ctx.char_span(start, end)
        surface = ctx.text[s_char:e_char]
        if pairs and is_capitalised(surface) and not linking.is_common_name(surface):
            out.append((s_char, e_char, pairs))
    ctx.memo["titles"] = out
    return list(out)


def candidate_artists(
    gaz: Any, text: str, cands: list[Candidate], known: Callable[[str, str], list[int]]
) -> frozenset[str]:
    """Catalogue artist ids of the ARTIST candidates."""
    return linking.artist_ids_of(
        gaz,
        (i for c in cands if c.label == "ARTIST" for i in known(text[c.start : c.end], "ARTIST")),
    )


def works_by(titles: list[Title], artists: frozenset[str]) -> list[Candidate]:
    """A candidate per kind for each title one of whose entries is by one of `artists`."""
    out: list[Candidate] = []
    for s_char, e_char, pairs in titles:
        for kind in sorted({kind for kind, artist in pairs if artist in artists}):
            out.append(Candidate(s_char, e_char, kind.upper(), 0.75, "gazetteer", True))
    return out


def document_works(
    gaz: Any,
    text: str,
    cands: list[Candidate],
    titles: list[Title],
    known: Callable[[str, str], list[int]],
) -> list[Candidate]:
    """`work_by_artist` across blocks: the document's candidates with the titles whose artist is
    named anywhere in it, each with catalogue agreement's confidence.

    A title takes its words from the block's candidates there when it would have won the
    overlap against all of them in `resolve` (higher confidence, or as high and longer): the
    music NER's unlinked "artist" on "Unfinished Sympathy" gives way once Massive Attack,
    named in another paragraph, makes it that band's track.
    """
    out = list(cands)
    for cand in works_by(titles, candidate_artists(gaz, text, cands, known)):
        cand.confidence += AGREEMENT_BONUS  # the catalogue knows it under this label
        rank = (cand.confidence, cand.end - cand.start)
        overlapping = [c for c in out if cand.start < c.end and c.start < cand.end]
        if all((c.confidence, c.end - c.start) < rank for c in overlapping):
            out = [c for c in out if all(c is not o for o in overlapping)] + [cand]
    return sorted(out, key=lambda c: c.start)


@rule("catalogue_agreement")
def catalogue_agreement_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """A candidate the catalogue knows under its label gains 0.15: it wins overlaps."""
    for cand in ctx.cands:
        if ctx.known(ctx.text[cand.start : cand.end], cand.label):
            cand.confidence += AGREEMENT_BONUS
    return []

"""Candidate rules that read the catalogue (nlp.gazetteer).

* `gazetteer`: a PERSON/ORG entity, or a capitalised multi-word n-gram, that is a catalogue artist
  becomes an ARTIST (also where the NER cut an artist wrong);
* `work_by_artist`: a catalogue title becomes a TRACK/ALBUM only with evidence: its own artist is
  named in the same document;
* `catalogue_agreement`: a candidate whose label the catalogue agrees with gains confidence.

Single common words ("Yes", "Home") never come from the catalogue alone.
"""

from __future__ import annotations

from typing import Any

from linernotes.nlp import linking
from linernotes.nlp.candidates import Candidate, RuleContext, covers_most, is_capitalised, rule

# either NER's label for an n-gram that makes a catalogue artist name believable
_NAME_LABELS = frozenset({"PERSON", "ORG", "NORP", "GPE", "FAC", "PRODUCT", "WORK_OF_ART"})


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


@rule("work_by_artist")
def work_by_artist_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """Catalogue titles whose own artist is also named in the document.

    A capitalised title alone is too weak ("Home", "The River"); the same title next to its
    artist is almost always the work (the track or album of that artist).
    """
    gaz = ctx.gazetteer
    if not len(gaz):
        return []
    text = ctx.text
    artists = linking.artist_ids_of(
        gaz,
        (
            i
            for c in ctx.cands
            if c.label == "ARTIST"
            for i in ctx.known(text[c.start : c.end], "ARTIST")
        ),
    )
    if not artists:
        return []
    out: list[Candidate] = []
    for start, end, hits in ctx.ngrams():
        if any(gaz.kind(i) == "artist" for i in hits):
            continue  # self-titled ("Robyn" by Robyn): the artist reading; cues catch the album
        kinds = {gaz.kind(i) for i in hits if gaz.artist_of(i) in artists} - {"artist"}
        if not kinds:
            continue
        s_char, e_char = ctx.char_span(start, end)
        surface = text[s_char:e_char]
        if not is_capitalised(surface) or linking.is_common_name(surface):
            continue
        for kind in sorted(kinds):
            out.append(Candidate(s_char, e_char, kind.upper(), 0.75, "gazetteer", True))
    return out


@rule("catalogue_agreement")
def catalogue_agreement_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """A candidate the catalogue knows under its label gains 0.15: it wins overlaps."""
    for cand in ctx.cands:
        if ctx.known(ctx.text[cand.start : cand.end], cand.label):
            cand.confidence += 0.15
    return []

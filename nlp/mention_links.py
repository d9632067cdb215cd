"""Link the chosen candidates of one doc to the catalogue, each from its own context.

Two passes: first every candidate is looked up without context, which says which artists the
document names (and in which sentence); then each candidate is linked with what is nearest to it:
the possessor in "X's Title", artists in its sentence, artists elsewhere in the document, the
page subject (doc.user_data[SUBJECT_KEY], set by MentionExtractor from the page title).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linernotes.nlp import linking
from linernotes.nlp.candidates import (
    SUBJECT_KEY,
    Candidate,
    RuleContext,
    sentence_bounds,
    sentence_of,
)
from linernotes.nlp.gazetteer import Gazetteer
from linernotes.nlp.patterns import CAP_RUN

_POSSESSIVE_BEFORE = re.compile(rf"(?<![\w'])(?P<x>{CAP_RUN}) ?['\u2019]s? $")
_NUMBER = re.compile(r"\d+s?")

# A stored mention: start, end, label, entity id, name, confidence, method, sentence start/end,
# alternatives ((id, score), ...) when the name had several catalogue candidates.
Row = tuple[int, int, str, str | None, str | None, float, str, int, int, tuple]


@dataclass
class LinkInput:
    """What linking reads of a document: its text, its sentences, the catalogue, the subject.

    A plain record rather than the rules' RuleContext: the extractor links a whole document
    whose candidates come from several blocks (nlp.blocks), with no spaCy doc of it.
    """

    gazetteer: Gazetteer
    text: str
    sentences: list[tuple[int, int]]
    known: Callable[[str, str], list[int]]  # memoised linking.candidates
    subject: str | None = None

    @classmethod
    def of(cls, ctx: RuleContext, sentences: list[tuple[int, int]] | None = None) -> LinkInput:
        """Input for a doc's rule context (`sentences`: its sentence_bounds, if already known)."""
        bounds = sentence_bounds(ctx) if sentences is None else sentences
        return cls(ctx.gazetteer, ctx.text, bounds, ctx.known, ctx.doc.user_data.get(SUBJECT_KEY))

    @classmethod
    def of_text(
        cls,
        gazetteer: Gazetteer,
        text: str,
        sentences: list[tuple[int, int]],
        subject: str | None = None,
    ) -> LinkInput:
        """Input for a text outside a doc, with its own memo of catalogue look-ups."""
        memo: dict[tuple[str, str], list[int]] = {}

        def known(surface: str, label: str) -> list[int]:
            hit = memo.get((surface, label))
            if hit is None:
                hit = memo[(surface, label)] = linking.candidates(gazetteer, surface, label)
            return hit

        return cls(gazetteer, text, sentences or [(0, len(text))], known, subject)


def link_rows(doc: LinkInput, chosen: list[Candidate]) -> list[Row]:
    """Rows for the chosen candidates (unlinked ones without evidence are dropped)."""
    gaz, text = doc.gazetteer, doc.text
    first = [
        linking.link(gaz, text[c.start : c.end], c.label, linking.LinkContext()) for c in chosen
    ]
    bounds = doc.sentences
    sents = [sentence_of(bounds, c.start) for c in chosen]
    sure = [  # links that do not depend on context: artists, and titles with one candidate
        (r, c, s)
        for r, c, s in zip(first, chosen, sents, strict=True)
        if r.entity_id and (c.label == "ARTIST" or not r.alternatives)
    ]
    artist_ids = linking.artist_ids_of(gaz, (r.index for r, _, _ in sure))
    work_artists = linking.artist_ids_of(gaz, (r.index for r, c, _ in sure if c.label != "ARTIST"))
    by_sentence: dict[tuple[int, int], set[str]] = {}
    for r, c, s in sure:
        if c.label == "ARTIST" and r.entity_id:
            by_sentence.setdefault(s, set()).add(r.entity_id)
    subject = doc.subject
    rows: list[Row] = []
    for cand, sent in zip(chosen, sents, strict=True):
        surface = text[cand.start : cand.end]
        ctx_link = linking.LinkContext(
            artist_ids,
            subject,
            text[sent[0] : sent[1]],
            work_artists,
            _possessor(doc, chosen, cand) if cand.label != "ARTIST" else None,
            frozenset(by_sentence.get(sent, ())),
        )
        res = linking.link(gaz, surface, cand.label, ctx_link)
        if res.entity_id is None and not cand.evidence:
            continue
        if (
            res.entity_id
            and linking.is_common_name(surface)
            and cand.method != "pattern"
            and not _has_context(
                res, artist_ids | {subject} if subject else artist_ids, gaz, cand.label
            )
        ):
            res = linking.NO_LINK
        conf = cand.confidence if res.entity_id is None else (cand.confidence + res.confidence) / 2
        rows.append(
            (
                cand.start,
                cand.end,
                cand.label,
                res.entity_id,
                res.name,
                round(conf, 3),
                cand.method,
                *sent,
                res.alternatives,
            )
        )
    return rows


def _possessor(doc: LinkInput, chosen: list[Candidate], cand: Candidate) -> frozenset[str] | None:
    """Catalogue artist ids of X when the title reads "X's Title"; None without a possessor.

    X is the artist candidate ending right before the possessive, else the capitalised run
    there. An X the catalogue does not know gives an empty set: it still rules out the titles of
    every other artist ("Caribou's Honey" on a page about Robyn is not Robyn's "Honey").
    """
    text = doc.text
    match = _POSSESSIVE_BEFORE.search(text, max(0, cand.start - 80), cand.start)
    if match is None:
        return None
    owner = next(
        (c for c in chosen if c.label == "ARTIST" and c.end == match.end("x")),
        None,
    )
    surface = text[owner.start : owner.end] if owner else match.group("x")
    if _NUMBER.fullmatch(surface):
        return None  # "1985's Little Creatures"
    if owner is None and doc.known(surface, "TRACK") + doc.known(surface, "ALBUM"):
        return None  # a title's possessive ("Thriller's sales"), not an owner
    return frozenset(doc.gazetteer.entry_id(i) for i in doc.known(surface, "ARTIST"))


def _has_context(
    res: linking.LinkResult, artist_ids: frozenset[str], gaz: Gazetteer, label: str
) -> bool:
    """Evidence for a common-word name: a work whose artist is also mentioned (or the subject)."""
    if res.index is None or label == "ARTIST":
        return False
    return gaz.artist_of(res.index) in artist_ids


def title_rows(ctx: RuleContext, rows: list[Any]) -> list[Row]:
    """Mentions of a page title: titles are mostly names, so any catalogue name counts.

    A rule's row the catalogue cannot link gives way to a catalogue name on exactly its span:
    a one-word title has no context, and a NER's label guess there ("Everclear" read as an
    album by the transformer NER) must not hide the catalogue's artist of that name.
    """
    gaz, text = ctx.gazetteer, ctx.text
    names = [
        (*ctx.char_span(start, end), found)
        for start, end, found in sorted(ctx.ngrams(), key=lambda h: h[0] - h[1])
    ]
    spans = {(s_char, e_char) for s_char, e_char, _ in names}
    rows = [r for r in rows if r[3] is not None or (r[0], r[1]) not in spans]
    taken = [(r[0], r[1]) for r in rows]
    for s_char, e_char, found in names:
        if any(s_char < e and s < e_char for s, e in taken):
            continue
        label = gaz.kind(found[0]).upper()
        rows.append((s_char, e_char, label, None, None, 0.6, "gazetteer", 0, len(text), ()))
        taken.append((s_char, e_char))
    artist_ids = linking.artist_ids_of(
        gaz, (i for r in rows for i in ctx.known(text[r[0] : r[1]], r[2])[:1])
    )
    out: list[Row] = []
    for row in rows:
        res = linking.link(gaz, text[row[0] : row[1]], row[2], linking.LinkContext(artist_ids))
        out.append((*row[:3], res.entity_id, res.name, *row[5:9], res.alternatives))
    return out

"""The `list_mates` rule: items of a list ("A, B and C") share their kind.

Writers list works of one kind together, and artists with artists. The other items of a list whose
known items are titles (or artists), or whose lead-in names the kind ("albums such as", "bands
like", "performed"), get the same label. It runs on the overlap-free candidates.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from linernotes.nlp import linking
from linernotes.nlp.candidates import Candidate, RuleContext, rule
from linernotes.nlp.patterns import coordinated_runs
from linernotes.nlp.rules_ner import PLACE_LABELS
from linernotes.storage.names import normalize_name

# stock-NER labels that rule out a list item being a title (places, venues, dates, ...)
_NOT_WORK_LABELS = frozenset({"GPE", "LOC", "FAC", "ORG", "NORP", "DATE", "CARDINAL", "EVENT"})
_KIND_WORD = re.compile(
    r"\b(?:(?P<album>albums|LPs|EPs|records)|(?P<track>songs|singles|hits|tracks|compositions)"
    r"|(?P<artist>artists|bands|acts|groups|musicians|singers|rappers|performers))\b",
    re.I,
)
_SONG_VERB = re.compile(r"\b(?:performed|sang|covered|recorded)\s*$")
_BY_WORD = re.compile(r"\b(?:by|from)\b")
_Span = tuple[int, int]


@rule("list_mates", after_resolve=True)
def list_mates_rule(doc: Any, ctx: RuleContext) -> list[Candidate]:
    """Unlabelled items of a list whose labelled items are mostly titles of one kind.

    An item the NER called an artist but the catalogue does not know as one is relabelled too
    (works in lists are often mistaken for band names).
    """
    text = ctx.text
    by_span = {(c.start, c.end): c for c in ctx.cands}
    out: list[Candidate] = []
    for items in coordinated_runs(text):
        cue = list_cue(text, items[0][0])
        labels = Counter(by_span[i].label for i in items if i in by_span and by_span[i].evidence)
        labels.update(_catalogue_votes(ctx, items, by_span))
        works = labels["TRACK"] + labels["ALBUM"]
        if cue == "ARTIST" or (labels["ARTIST"] >= 2 and labels["ARTIST"] > works and not cue):
            out.extend(_artist_mates(ctx, items, by_span))
            continue
        if not cue and (not works or works <= labels["ARTIST"]):
            continue
        label = cue or ("TRACK" if labels["TRACK"] >= labels["ALBUM"] else "ALBUM")
        out.extend(_work_mates(ctx, items, by_span, label, cue))
    return out


def _work_mates(
    ctx: RuleContext,
    items: list[_Span],
    by_span: dict[_Span, Candidate],
    label: str,
    cue: str | None,
) -> list[Candidate]:
    text = ctx.text
    not_works = [s for s, lab in ctx.stock.items() if lab in _NOT_WORK_LABELS]
    out = []
    for start, end in items:
        cand = by_span.get((start, end))
        if not text[start].isupper() and not text[start].isdigit():
            continue
        if not cue and any(start < e and s < end for s, e in not_works):
            continue
        if cand is None:
            if _artist_not_work(ctx, text[start:end], label):
                continue
            out.append(Candidate(start, end, label, 0.6, "list", True))
        elif (
            cand.label in ("ARTIST", "TRACK", "ALBUM")
            and cand.label != label
            and (cand.label == "ARTIST" or cue)
            and ((cue and cand.label != "ARTIST") or not ctx.known(text[start:end], cand.label))
        ):
            cand.label, cand.method, cand.evidence = label, "list", True
    return out


def _artist_mates(
    ctx: RuleContext, items: list[_Span], by_span: dict[_Span, Candidate]
) -> list[Candidate]:
    """Catalogue artists in a list of artists, even names that are common words ("Blue")."""
    text = ctx.text
    out = []
    for start, end in items:
        cand = by_span.get((start, end))
        if cand is None:
            if ctx.known(text[start:end], "ARTIST"):
                out.append(Candidate(start, end, "ARTIST", 0.6, "list", True))
        elif (
            cand.label in ("TRACK", "ALBUM")
            and cand.method == "ner"
            and not ctx.known(text[start:end], cand.label)
        ):
            cand.label = "ARTIST"  # a band name the music NER took for a title
        elif (
            cand.label == "ARTIST"
            and not cand.evidence
            and ctx.stock.get((start, end)) not in PLACE_LABELS
        ):
            # an unsure NER artist (stock NER: ORG or nothing) listed among sure artists is
            # a band far more often than a venue or label ("Blur, Oasis and Pulp")
            cand.evidence, cand.method = True, "ner+list"
    return out


def _catalogue_votes(
    ctx: RuleContext, items: list[_Span], by_span: dict[_Span, Candidate]
) -> Counter[str]:
    """Labels the catalogue gives list items no candidate covers (titles of one kind only)."""
    votes: Counter[str] = Counter()
    gaz = ctx.gazetteer
    for start, end in items:
        surface = ctx.text[start:end]
        if (start, end) in by_span or linking.is_common_name(surface):
            continue
        kinds = {gaz.kind(i) for i in gaz.lookup(normalize_name(surface))}
        if len(kinds) == 1 and kinds != {"artist"}:
            votes[kinds.pop().upper()] += 1
    return votes


def _artist_not_work(ctx: RuleContext, surface: str, label: str) -> bool:
    """A catalogue artist that the catalogue does not also know as a `label` title."""
    return bool(ctx.known(surface, "ARTIST")) and not ctx.known(surface, label)


def list_cue(text: str, start: int) -> str | None:
    """The kind a list's lead-in names ("albums such as", "bands like"), if any.

    Only the nearest kind word in the same sentence, at most 80 characters before the list, counts.
    """
    lead = text[max(0, start - 80) : start]
    lead = lead[lead.rfind(". ") + 1 :]
    if _SONG_VERB.search(lead):
        return "TRACK"  # "who performed A, B and C"
    found = list(_KIND_WORD.finditer(lead))
    if not found:
        return None
    last = found[-1]
    kind = next(k.upper() for k, v in last.groupdict().items() if v)
    if kind != "ARTIST" and _BY_WORD.search(lead, last.end()):
        return "ARTIST"  # "songs recorded by A, B and C"
    return kind

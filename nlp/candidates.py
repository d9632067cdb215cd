"""Candidate spans and the named-rule machinery of the mention component.

Why rules by name: every source of candidate spans (the NER, surface patterns, the catalogue,
contexts such as "X's Y" or a list of titles) is a small function `(doc, ctx) -> candidates`,
registered under a name. The component runs an ordered list of names taken from its spaCy config,
so a rule can be switched off (`eval mentions --without possessive`) to measure what it adds, and a
new source (a transformer NER writing `doc.spans["ner_candidates"]`) plugs in as one more name.

A rule may also adjust candidates proposed before it (relabel, drop, raise confidence) through
`ctx.cands`. Rules registered with `after_resolve` see the overlap-free set (see `resolve`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from linernotes.nlp import linking
from linernotes.nlp.gazetteer import Gazetteer
from linernotes.storage.names import normalize_name

MUSIC_LABELS = ("ARTIST", "TRACK", "ALBUM")
BASE_KEY = "linernotes_stock_ents"  # doc.user_data: the stock NER's [start, end, label] rows
SUBJECT_KEY = "linernotes_subject_artist"  # doc.user_data: the page subject's artist id
NER_SPANS_KEY = "ner_candidates"  # doc.spans group an extra NER component may fill


def stock_labels(doc: Any) -> dict[tuple[int, int], str]:
    """The stock NER's labels by character span, from the side channel the stash wrote."""
    return {(int(s), int(e)): str(label) for s, e, label in doc.user_data.get(BASE_KEY) or []}


Ngram = tuple[int, int, tuple[int, ...]]
# doc.user_data: (id of the gazetteer, its n-grams over the doc's tokens), left by the first
# component that walks the catalogue over a doc (the transformer's hints) for the next ones
NGRAMS_KEY = "linernotes_catalogue_ngrams"


def doc_ngrams(doc: Any, gazetteer: Gazetteer, orths: Sequence[str] | None = None) -> list[Ngram]:
    """Catalogue-name token n-grams of `doc` (`Gazetteer.find_ngrams` over its word keys),
    walked once per doc and gazetteer: the result is kept in doc.user_data."""
    if not len(gazetteer):
        return []
    kept = doc.user_data.get(NGRAMS_KEY)
    if kept is not None and kept[0] == id(gazetteer):
        return list(kept[1])
    words = [word_key(o) for o in (orths if orths is not None else [t.text for t in doc])]
    found = list(gazetteer.find_ngrams(words))
    doc.user_data[NGRAMS_KEY] = (id(gazetteer), found)
    return found


@dataclass
class Candidate:
    """A proposed labelled span (char offsets), how sure the rule is, and which rule said so.

    `evidence` is False for candidates that are kept only if the catalogue links them.
    """

    start: int
    end: int
    label: str
    confidence: float
    method: str
    evidence: bool


@dataclass
class RuleContext:
    """What rules share about one doc: its text, the catalogue, side channels, candidates so far."""

    doc: Any
    gazetteer: Gazetteer
    text: str = ""
    stock: dict[tuple[int, int], str] = field(default_factory=dict)
    cands: list[Candidate] = field(default_factory=list)
    resolved: bool = False
    _known: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _ngrams: list[Ngram] | None = None
    memo: dict[str, Any] = field(default_factory=dict)  # what a rule computes once for others

    starts: list[int] = field(default_factory=list)  # token i's first char
    ends: list[int] = field(default_factory=list)  # token i's end char
    sent_starts: list[int] = field(default_factory=list)  # 1 where token i opens a sentence
    orths: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, doc: Any, gazetteer: Gazetteer) -> RuleContext:
        """Context of a doc; text and token offsets come from one array read (Doc.text and
        token objects are slow to build, and every rule needs them)."""
        from spacy.attrs import IDX, ORTH, SENT_START, SPACY

        strings = doc.vocab.strings
        rows = doc.to_array([ORTH, SPACY, IDX, SENT_START]).tolist()
        orths = [strings[r[0]] for r in rows]
        text = "".join([o + " " if r[1] else o for o, r in zip(orths, rows, strict=True)])
        ctx = cls(doc, gazetteer, text, stock_labels(doc))
        ctx.orths = orths
        ctx.starts = [r[2] for r in rows]
        ctx.ends = [r[2] + len(o) for o, r in zip(orths, rows, strict=True)]
        ctx.sent_starts = [r[3] for r in rows]
        return ctx

    def char_span(self, start: int, end: int) -> tuple[int, int]:
        """Char offsets of tokens start..end-1."""
        return self.starts[start], self.ends[end - 1]

    @property
    def has_stock(self) -> bool:
        """Whether the stock NER's side channel exists (a doc without it vets nothing)."""
        return BASE_KEY in self.doc.user_data

    def known(self, surface: str, label: str) -> list[int]:
        """`linking.candidates`, memoised per doc: rules ask about the same spans many times."""
        key = (surface, label)
        hit = self._known.get(key)
        if hit is None:
            hit = self._known[key] = linking.candidates(self.gazetteer, surface, label)
        return hit

    def ngrams(self) -> list[Ngram]:
        """Catalogue-name token n-grams of the doc, computed once for every rule that needs them."""
        if self._ngrams is None:
            self._ngrams = doc_ngrams(self.doc, self.gazetteer, self.orths)
        return self._ngrams

    def ner_spans(self) -> list[Any]:
        """Entity spans of every NER in the pipeline: doc.ents, then doc.spans[NER_SPANS_KEY]."""
        spans = list(self.doc.ents)
        if NER_SPANS_KEY in self.doc.spans:
            spans.extend(self.doc.spans[NER_SPANS_KEY])
        return spans


@lru_cache(maxsize=262_144)
def word_key(token_text: str) -> str:
    """A token's matching key (`normalize_name`; "" for whitespace), cached: words repeat."""
    return normalize_name(token_text) if token_text.strip() else ""


RuleFunc = Callable[[Any, RuleContext], list[Candidate]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: its name, function and whether it runs on the overlap-free set."""

    name: str
    func: RuleFunc
    after_resolve: bool = False


RULES: dict[str, Rule] = {}


def rule(name: str, *, after_resolve: bool = False) -> Callable[[RuleFunc], RuleFunc]:
    """Register `func` as the candidate rule `name` (decorator)."""

    def register(func: RuleFunc) -> RuleFunc:
        RULES[name] = Rule(name, func, after_resolve)
        return func

    return register


def rules_named(names: Sequence[str]) -> list[Rule]:
    """The registered rules in this order; an unknown name is a ValueError listing the known."""
    _load_rule_modules()
    unknown = [n for n in names if n not in RULES]
    if unknown:
        raise ValueError(f"unknown mention rule(s) {unknown}; known: {sorted(RULES)}")
    return [RULES[n] for n in names]


def known_rules() -> list[str]:
    _load_rule_modules()
    return sorted(RULES)


def _load_rule_modules() -> None:
    """Import the modules whose decorators fill RULES."""
    from linernotes.nlp import rules_catalogue, rules_lists, rules_ner, rules_text  # noqa: F401


def run_rules(ctx: RuleContext, rules: Sequence[Rule]) -> list[Candidate]:
    """Run the rules in order and return the final overlap-free candidates."""
    for item in rules:
        if item.after_resolve and not ctx.resolved:
            ctx.cands = resolve(ctx.cands)
            ctx.resolved = True
        ctx.cands.extend(item.func(ctx.doc, ctx))
    return resolve(ctx.cands)


def resolve(cands: list[Candidate]) -> list[Candidate]:
    """Non-overlapping subset: higher confidence first, then longer spans."""
    kept: list[Candidate] = []
    taken: list[tuple[int, int]] = []
    for cand in sorted(cands, key=lambda c: (-c.confidence, -(c.end - c.start), c.start)):
        if cand.end <= cand.start:
            continue
        if any(cand.start < e and s < cand.end for s, e in taken):
            continue
        kept.append(cand)
        taken.append((cand.start, cand.end))
    return sorted(kept, key=lambda c: c.start)


# helpers shared by rules ---------------------------------------------------------------------
def is_capitalised(text: str) -> bool:
    """Title-like: the first word capitalised, later ones capitalised, short or common."""
    words = [w for w in text.split() if w[:1].isalpha()]
    return (
        bool(words)
        and words[0][:1].isupper()
        and all(
            w[:1].isupper() or w.casefold() in linking.COMMON_WORDS or len(w) <= 3 for w in words
        )
    )


def trim_end(text: str, start: int, end: int) -> int:
    """End offset without trailing spaces and sentence punctuation."""
    while end > start + 1 and text[end - 1] in " .,;:":
        end -= 1
    return end


def covers_most(start: int, end: int, o_start: int, o_end: int) -> bool:
    """Whether [start, end) overlaps at least half of [o_start, o_end)."""
    return min(end, o_end) - max(start, o_start) >= (o_end - o_start) / 2


def place_title(
    cands: list[Candidate], start: int, end: int, label: str, method: str
) -> list[Candidate]:
    """A title found by context: relabel an NER "artist" on exactly its span, or add it.

    It is added (above the NER's confidence) only when all it overlaps are NER "artists" inside
    it, such as "Livin" in "Bon Jovi 's Livin ' on a Prayer".
    """
    overlapping = [c for c in cands if c.start < end and start < c.end]
    for cand in overlapping:
        if (cand.start, cand.end) == (start, end) and cand.label == "ARTIST":
            cand.label, cand.evidence, cand.method = label, True, method
            return []
    if not overlapping:
        return [Candidate(start, end, label, 0.7, method, True)]
    if all(
        c.label == "ARTIST" and c.method == "ner" and start <= c.start and c.end <= end
        for c in overlapping
    ):
        return [Candidate(start, end, label, 0.85, method, True)]
    return []


def sentence_bounds(ctx: RuleContext) -> list[tuple[int, int]]:
    """Char spans of the doc's sentences, from the token arrays (one span without boundaries)."""
    if not ctx.starts or not ctx.doc.has_annotation("SENT_START"):
        return [(0, len(ctx.text))]
    firsts = [i for i, flag in enumerate(ctx.sent_starts) if flag == 1 and i > 0]
    bounds = []
    begin = 0
    for first in [*firsts, len(ctx.starts)]:
        bounds.append((ctx.starts[begin], ctx.ends[first - 1]))
        begin = first
    return bounds


def sentence_of(bounds: list[tuple[int, int]], char: int) -> tuple[int, int]:
    """The sentence span (from `sentence_bounds`) holding `char`."""
    i = bisect_right(bounds, (char, float("inf"))) - 1
    return bounds[max(i, 0)]

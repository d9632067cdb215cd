"""Descriptor terms: what the writing says about an entity, weighted by salience.

Candidates per evidence sentence are vocabulary phrases (genre, mood,
instrument, production; matched longest first so "drum and bass" is one term)
and the remaining content words and two-word phrases. Names of the entity and
of the other entities the sentence mentions are excluded: "sounds like
Radiohead" must not make "radiohead" a descriptor.

Salience treats each entity's evidence as one document of the corpus of all
entities, and is one of two schemes (both measured on sas_mirex, see
docs/similarity.md):
  tfidf    (1 + ln tf) * (ln((1 + N) / (1 + df)) + 1), with smoothing;
  whitman  Whitman & Lawrence (2002) "community metadata" salience: the term
           frequency times a Gaussian of ln(df / N), favouring mid-frequency
           terms over both ubiquitous and one-off ones.
Vocabulary terms get a boost. Every stored weight keeps its inputs (count,
document frequency, evidence ids), so it can be explained.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from linernotes.nlp.vocabulary import (
    GENERIC,
    builtin_terms,
    fact_terms,
    normalize_term,
)

STOPWORDS = frozenset(
    """
a about above after again against all almost also although always am among an and another
any are around as at away back be became because become becomes been before being below
between both but by came can could did do does doing done down during each either else even
ever every few first for from further get gets got had has have having he her here hers
herself him himself his how however i if in including into is it its itself just last later
least less like made make makes many may me might more most much must my myself near never
new next no nor not now of off often on once one only onto or other others our ours
ourselves out over own part per rather really said same see seen several she should since so
some still such take than that the their theirs them themselves then there these they this
those though three through thus to together too toward two under until up upon us used very
was way we well went were what when where whether which while who whom whose why will with
within without would year years yet you your yours yourself yourselves s t d ll m re ve don
didn doesn isn wasn weren won wouldn couldn shouldn aren haven hasn hadn mr mrs ms st vs etc
e g ie eg via per
""".split()  # noqa: SIM905 - a word list reads better as text
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9&'+]*")
_CHUNK = re.compile(
    r"[.,;:!?()\[\]{}\"\u201c\u201d\u2018\u2019|/\u2026\u2013\u2014]+|\s-\s|\s'|'\s"
)
MAX_VOCAB_WORDS = 4


@dataclass(frozen=True)
class SalienceConfig:
    """How terms are weighted; `version` goes into stored vectors and invalidates them."""

    # Defaults chosen on sas_mirex (real extractor output, P@10): whitman/boost 3 0.181,
    # tfidf/boost 3 0.178, tfidf/boost 1.5 0.172, whitman/boost 1.5 0.163.
    scheme: str = "whitman"
    vocab_boost: float = 3.0
    bigrams: bool = True
    whitman_mu: float = -4.0  # centre of the Gaussian over ln(df / N)
    whitman_sigma: float = 2.0
    min_df_display: int = 2  # terms seen for one entity only are kept for vectors, not shown
    shrink: float = 3.0  # pseudo-sentences of corpus prior in display weights
    version: str = "desc-v4"


@dataclass
class TermStat:
    term: str
    weight: float
    count: float
    doc_freq: int
    evidence_ids: list[int] = field(default_factory=list)


class TermExtractor:
    """Turns a sentence into candidate descriptor terms (display forms)."""

    def __init__(self, vocabulary: dict[str, str] | None = None) -> None:
        self.vocab = vocabulary if vocabulary is not None else builtin_terms()
        self.vocab_keys = set(self.vocab)
        self.descriptive_keys = self.vocab_keys - fact_terms()
        # term -> (is_vocab, is_descriptive): asked millions of times a run (every weight
        # shown, every neighbour's term), and normalize_term is a regex substitution
        self._flags: dict[str, tuple[bool, bool]] = {}
        self._patterns: dict[str, re.Pattern[str]] = {}

    def terms(
        self, text: str, exclude: Iterable[str] = (), content: frozenset[str] | None = None
    ) -> list[str]:
        """Candidate terms of `text`, repeated as often as they occur.

        With `content` (the sentence's nouns and adjectives, see `content_words`)
        a word outside the vocabulary must be one of them: verbs ("turned",
        "felt"), pronoun contractions ("we'll") and proper names (a review's
        byline, a producer's name) are not descriptions.
        """
        banned_phrases = [normalize_term(n) for n in exclude if n]
        banned_tokens = {t for n in banned_phrases for t in n.split() if t not in STOPWORDS}
        lowered = text.lower().replace("-", " ")
        for phrase in banned_phrases:
            if phrase and phrase in lowered:
                lowered = self._phrase_pattern(phrase).sub(" | ", lowered)
        out: list[str] = []
        for chunk in _CHUNK.split(lowered):
            out.extend(self._chunk_terms(_TOKEN.findall(chunk), banned_tokens, content))
        return out

    def _phrase_pattern(self, phrase: str) -> re.Pattern[str]:
        """A banned name as a word-bounded pattern, compiled once (`re`'s own cache holds 512:
        a corpus names tens of thousands of entities, so it recompiled nearly every time)."""
        pattern = self._patterns.get(phrase)
        if pattern is None:
            pattern = self._patterns[phrase] = re.compile(rf"\b{re.escape(phrase)}\b")
        return pattern

    def is_vocab(self, term: str) -> bool:
        return self._flags_of(term)[0]

    def is_descriptive(self, term: str) -> bool:
        """A vocabulary term that says how music sounds or feels (not a fact such as "producer")."""
        return self._flags_of(term)[1]

    def _flags_of(self, term: str) -> tuple[bool, bool]:
        flags = self._flags.get(term)
        if flags is None:
            key = normalize_term(term)
            flags = self._flags[term] = (key in self.vocab_keys, key in self.descriptive_keys)
        return flags

    def _chunk_terms(
        self, tokens: list[str], banned: set[str], content: frozenset[str] | None
    ) -> list[str]:
        out: list[str] = []
        free: list[str | None] = []
        i = 0
        while i < len(tokens):
            matched = 0
            for n in range(min(MAX_VOCAB_WORDS, len(tokens) - i), 0, -1):
                key = " ".join(tokens[i : i + n])
                if key in self.vocab_keys and not (n == 1 and key in banned):
                    out.append(self.vocab[key])
                    matched = n
                    break
            if matched:
                free.append(None)  # a vocabulary phrase breaks bigrams around it
                i += matched
                continue
            tok = tokens[i].strip("'")
            ok = len(tok) >= 3 and tok not in STOPWORDS and tok not in GENERIC and tok not in banned
            ok = ok and not tok.isdigit() and not tok.endswith("'s")
            ok = ok and (content is None or tok in content)
            free.append(tok if ok else None)
            if ok:
                out.append(tok)
            i += 1
        for a, b in itertools.pairwise(free):
            if a and b:
                out.append(f"{a} {b}")
        return out


CONTENT_POS = frozenset({"ADJ", "NOUN"})


def content_words(texts: Sequence[str], batch_size: int = 256) -> list[frozenset[str]] | None:
    """Per text, the lower-cased words spaCy tags as nouns or adjectives.

    Uses the project's spaCy model with only its tagger (no parser, no NER);
    None when the model is not installed, and descriptors fall back to every
    content word.
    """
    try:
        import spacy

        from linernotes.nlp.mentions import BASE_MODEL

        nlp = spacy.load(BASE_MODEL, exclude=["parser", "ner", "senter", "lemmatizer"])
    except (ImportError, OSError):
        return None
    return [
        frozenset(t.lower_ for t in doc if t.pos_ in CONTENT_POS)
        for doc in nlp.pipe(texts, batch_size=batch_size)
    ]


@dataclass
class EntityTerms:
    """An entity's term occurrences: per term, weighted count, evidence ids and months."""

    counts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    evidence: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    months: dict[str, dict[str, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )

    sentences: set[int] = field(default_factory=set)
    month_sentences: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    month_uses: dict[str, dict[str, set[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def add(self, evidence_id: int, weight: float, month: str | None, terms: Sequence[str]) -> None:
        self.sentences.add(evidence_id)
        if month:
            self.month_sentences[month].add(evidence_id)
            for term in terms:
                self.month_uses[month][term].add(evidence_id)
        for term in terms:
            self.counts[term] += weight
            if month:
                self.months[month][term] += weight
        for term in set(terms):
            self.evidence[term].append(evidence_id)


@functools.lru_cache(maxsize=4096)
def month_of(when: datetime | None) -> str | None:
    """'YYYY-MM' of a publication time (cached: every sentence of a page shares one)."""
    return when.strftime("%Y-%m") if when else None


def document_frequencies(bags: Iterable[EntityTerms]) -> Counter[str]:
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.counts.keys())
    return df


def salience(
    counts: Mapping[str, float],
    df: Counter[str],
    n_entities: int,
    config: SalienceConfig,
    extractor: TermExtractor,
) -> dict[str, float]:
    """Salience of every term of one entity (unnormalised)."""
    out: dict[str, float] = {}
    total = sum(counts.values()) or 1.0
    for term, tf in counts.items():
        if tf <= 0:
            continue
        d = max(1, df.get(term, 1))
        if config.scheme == "whitman":
            z = (math.log(d / max(1, n_entities)) - config.whitman_mu) / config.whitman_sigma
            w = (tf / total) * math.exp(-0.5 * z * z) * 100.0
        else:
            w = (1.0 + math.log(tf)) * (math.log((1 + n_entities) / (1 + d)) + 1.0)
        if extractor.is_vocab(term):
            w *= config.vocab_boost
        out[term] = w
    return out


def sentence_rates(bags: Iterable[EntityTerms]) -> dict[str, float]:
    """Per term, the share of all evidence sentences that use it (the corpus prior)."""
    uses: Counter[str] = Counter()
    total = 0
    for bag in bags:
        total += len(bag.sentences)
        uses.update({t: len(set(ids)) for t, ids in bag.evidence.items()})
    return {t: c / max(1, total) for t, c in uses.items()}


def display_weights(
    bag: EntityTerms,
    rates: Mapping[str, float],
    df: Counter[str],
    n_entities: int,
    config: SalienceConfig,
    extractor: TermExtractor,
    month: str | None = None,
) -> dict[str, float]:
    """Weights to show and compare across entities: how much of its writing uses a term.

    The share of the entity's evidence sentences using the term, shrunk towards
    the corpus share with `config.shrink` pseudo-sentences (one sentence saying
    "dreamy" is weak evidence that a track *is* dreamy; fifty sentences, ten of
    them saying so, are strong), times the term's specificity: the Whitman
    Gaussian over its document frequency for free words, 1 for vocabulary
    terms (a genre or an instrument describes however many entities share it),
    which also get `vocab_boost`; vocabulary facts ("producer", "covers") count
    as free words. Unlike `salience`, a term's weight means the
    same for every entity, so "tracks described as dreamy" can rank by it.
    With `month`, the same over that month's sentences (trend lines).
    """
    if month is None:
        uses: Mapping[str, Iterable[int]] = bag.evidence
        n = len(bag.sentences)
    else:
        uses, n = bag.month_uses.get(month, {}), len(bag.month_sentences.get(month, ()))
    counts = {term: len(set(ids)) for term, ids in uses.items()}
    return shown_weights(counts, n, rates, df, n_entities, config, extractor)


def shown_weights(
    uses: Mapping[str, int],
    n: int,
    rates: Mapping[str, float],
    df: Counter[str],
    n_entities: int,
    config: SalienceConfig,
    extractor: TermExtractor,
) -> dict[str, float]:
    """`display_weights` from sentence counts alone (term -> sentences using it, of `n`).

    An incremental embed keeps only these counts for entities it does not
    rewrite (nlp/profiles/bags.py), and inferred terms need every entity's weights.
    """
    out: dict[str, float] = {}
    for term, used in uses.items():
        rate = (used + config.shrink * rates.get(term, 0.0)) / (n + config.shrink)
        out[term] = 10.0 * rate * specificity(term, df, n_entities, config, extractor)
    return out


def specificity(
    term: str, df: Counter[str], n_entities: int, config: SalienceConfig, extractor: TermExtractor
) -> float:
    """`vocab_boost` for descriptive vocabulary terms, else the Whitman Gaussian of the df."""
    if extractor.is_descriptive(term):
        return config.vocab_boost
    d = max(1, df.get(term, 1))
    z = (math.log(d / max(1, n_entities)) - config.whitman_mu) / config.whitman_sigma
    return math.exp(-0.5 * z * z)


def top_terms(
    bag: EntityTerms,
    weights: dict[str, float],
    df: Counter[str],
    n: int,
    config: SalienceConfig,
    n_entities: int,
) -> list[TermStat]:
    """The `n` heaviest displayable terms with their counts and evidence."""
    min_df = config.min_df_display if n_entities >= 20 else 1
    ranked = sorted((t for t in weights if df.get(t, 0) >= min_df), key=lambda t: (-weights[t], t))
    return [
        TermStat(t, weights[t], bag.counts[t], df.get(t, 0), bag.evidence[t][:50])
        for t in ranked[:n]
    ]


def trend_terms(
    bag: EntityTerms,
    shown: Mapping[str, float],
    n: int,
    extractor: TermExtractor,
) -> set[str]:
    """The terms an entity's trend lines may plot: its own strongest, said more than once.

    A month with one sentence gives every word of that sentence a quarter of
    the month's writing ("the obvious peak, we'll give it its own post" makes
    "obvious", "peak" and "post" the month's top terms), so a month's line is
    restricted to the `n` terms the entity's overall list ranks highest
    (`shown`: its display weights, already cut to displayable terms), and a
    word outside the descriptive vocabulary must occur in at least two of the
    entity's sentences: a word said once is an anecdote, not a trend.
    """
    ranked = sorted(shown, key=lambda t: (-shown[t], t))
    keep = [t for t in ranked if extractor.is_descriptive(t) or len(set(bag.evidence[t])) >= 2]
    return set(keep[:n])

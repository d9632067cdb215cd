"""Catalogue hints for the transformer NER: which words the catalogue knows as a name, and of
which kind.

Why: on short, lower-case text (chat queries, captions) the words of a name look like any
others, and the encoder has only the context to go on. The catalogue is the product's own list
of names, already in memory for linking; telling the model "these words are a catalogue artist"
lets it learn how far to trust that, per context (a track called "Home" is not every "home").

Per word, for each kind (artist, track, album): 0 outside any catalogue name of that kind,
1 first word of one, 2 inside one. Names of a kind are taken longest first, without overlap.
The three codes are packed into one id in [0, HINT_IDS): the model adds a learned embedding of
it to the word embeddings, as it does for the case shape.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from linernotes.nlp.candidates import Ngram, doc_ngrams, word_key
from linernotes.nlp.gazetteer import KINDS, Gazetteer

HINT_IDS = 3 ** len(KINDS)  # 27: (outside, first, inside) per kind


def name_spans(
    gazetteer: Gazetteer, words: Sequence[str], ngrams: Sequence[Ngram] | None = None
) -> dict[str, list[tuple[int, int]]]:
    """Per kind, the catalogue names among `words` as word ranges [a, b): longest first, no
    overlap within a kind. `ngrams`: the words' catalogue n-grams when already walked."""
    found: dict[str, list[tuple[int, int]]] = {kind: [] for kind in KINDS}
    if not len(gazetteer):
        return found
    if ngrams is None:
        ngrams = list(gazetteer.find_ngrams([word_key(w) for w in words]))
    for start, end, entries in ngrams:
        for kind in {gazetteer.kind(i) for i in entries}:
            found[kind].append((start, end))
    for kind, spans in found.items():
        spans.sort(key=lambda s: (s[0] - s[1], s[0]))  # longest first, then leftmost
        taken: list[tuple[int, int]] = []
        used: set[int] = set()
        for a, b in spans:
            if used.isdisjoint(range(a, b)):
                taken.append((a, b))
                used.update(range(a, b))
        found[kind] = sorted(taken)
    return found


def hint_ids(
    n_words: int,
    spans: dict[str, list[tuple[int, int]]],
    drop: float = 0.0,
    rng: random.Random | None = None,
) -> list[int]:
    """One hint id per word from `name_spans`. `drop` leaves each name out with that
    probability (training only: see nlp/transformer_ner_model.featurize)."""
    codes = [[0] * len(KINDS) for _ in range(n_words)]
    for k, kind in enumerate(KINDS):
        for a, b in spans.get(kind, ()):
            if drop and rng is not None and rng.random() < drop:
                continue
            codes[a][k] = 1
            for i in range(a + 1, b):
                codes[i][k] = 2
    return [sum(c * 3**k for k, c in enumerate(word)) for word in codes]


def word_hints(gazetteer: Gazetteer | None, words: Sequence[str]) -> list[int]:
    """Hint ids for a word list (all 0 without a catalogue)."""
    if gazetteer is None:
        return [0] * len(words)
    return hint_ids(len(words), name_spans(gazetteer, words))


def doc_hints(gazetteer: Gazetteer, doc: Any) -> list[int]:
    """Hint ids for a spaCy doc's tokens; the catalogue walk is kept in the doc for the mention
    rules (`candidates.doc_ngrams`), which would otherwise walk it again."""
    words = [t.text for t in doc]
    return hint_ids(len(words), name_spans(gazetteer, words, doc_ngrams(doc, gazetteer, words)))

"""Count profiles: the decades an entity's evidence dates it to, and its genre families.

Two short, dense parts of a profile (`era`, `genre-family` in `vectors.model`),
counted from the evidence sentences with their weights. They are plain cosines
in the neighbour table (no centring: an entity without a year or a family word
must stay at cosine 0 to everyone, see `nlp.profiles.config`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from linernotes.nlp.vocabulary import GENRE_FAMILIES, family_terms

ERA_DECADES = tuple(range(1850, 2030, 10))
_YEAR = re.compile(r"\b(1[89]\d\d|20[0-2]\d)s?\b")


def era_profile(texts: Sequence[str], weights: Sequence[float]) -> list[float]:
    """Weighted counts of the decades (1850s-2020s) that the years in the texts fall in.

    Why: the era an artist worked in is a strong part of how listeners group
    them (swing and 1990s techno rarely share a list), and descriptor terms
    drop numbers. Measured on sas_mirex: +0.008 P@10 at weight 0.3 on top of
    TF-IDF + MiniLM vocabulary (see docs/similarity.md).
    """
    counts = [0.0] * len(ERA_DECADES)
    first = ERA_DECADES[0]
    for text, weight in zip(texts, weights, strict=True):
        for year in _YEAR.findall(text):
            slot = (int(year[:3]) * 10 - first) // 10
            if 0 <= slot < len(counts):
                counts[slot] += weight
    return counts


class FamilyMatcher:
    """Counts the words of each broad genre family (nlp.vocabulary.GENRE_FAMILIES) in texts."""

    def __init__(self) -> None:
        self.families = list(GENRE_FAMILIES)
        self._index = {f: i for i, f in enumerate(self.families)}
        self._terms = family_terms()
        keys = sorted(self._terms, key=lambda k: (-len(k), k))
        self._pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in keys) + r")\b")

    def profile(self, texts: Sequence[str], weights: Sequence[float]) -> list[float]:
        """ln(1 + weighted count) per family: a short, hard-to-swamp genre profile."""
        counts = [0.0] * len(self.families)
        for text, weight in zip(texts, weights, strict=True):
            lowered = " ".join(text.lower().replace("-", " ").split())
            for match in self._pattern.findall(lowered):
                for family in self._terms.get(match, ()):
                    counts[self._index[family]] += weight
        return [math.log1p(c) for c in counts]

"""Count profiles: decades of the years in the evidence, and genre-family word counts."""

from __future__ import annotations

import math

import pytest

from linernotes.nlp.count_profiles import ERA_DECADES, FamilyMatcher, era_profile


def test_era_profile_counts_decades_of_years_weighted() -> None:
    texts = ["Formed in 1967, they split in the 1970s.", "Back in 2004 with 300 fans."]
    counts = era_profile(texts, [1.0, 0.5])
    by_decade = dict(zip(ERA_DECADES, counts, strict=True))
    assert by_decade[1960] == 1.0 and by_decade[1970] == 1.0 and by_decade[2000] == 0.5
    assert sum(counts) == 2.5  # "300" is no year
    assert era_profile(["No years here."], [1.0]) == [0.0] * len(ERA_DECADES)


def test_family_profile_matches_variants_and_longest_phrase() -> None:
    matcher = FamilyMatcher()
    prof = dict(
        zip(
            matcher.families,
            matcher.profile(["A Hip-Hop MC.", "Country music with banjo; delta blues."], [1, 1]),
            strict=True,
        )
    )
    assert prof["hiphop"] == pytest.approx(math.log1p(2))  # "hip hop" and "mc"
    assert prof["country"] == pytest.approx(math.log1p(2))  # "country music" once, "banjo"
    assert prof["blues"] == pytest.approx(math.log1p(1))  # "delta blues" as one phrase
    assert prof["jazz"] == 0.0

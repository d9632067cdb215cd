"""What the trend lines plot, and which terms are inferred from neighbours (no database)."""

from __future__ import annotations

from collections import Counter

from linernotes.nlp.descriptors import (
    EntityTerms,
    SalienceConfig,
    TermExtractor,
    display_weights,
    document_frequencies,
    sentence_rates,
    specificity,
    trend_terms,
)
from linernotes.nlp.profiles import ProfileConfig
from linernotes.nlp.profiles.borrowed import borrow_terms
from linernotes.nlp.profiles.writers import DescriptorInput, _month_rows

# A track reviewed in May (many sentences) and named once in March, in passing.
MAY = [
    "It opens with a pulsing synth, shimmering and widescreen.",
    "The chorus is euphoric, the synths shimmering over a driving beat.",
    "A widescreen, heartbroken pop song you can dance to.",
    "Co-written with a producer, it has had countless covers since.",
]
MARCH = ["It is the obvious peak of the list, and we'll give it its own post soon."]
# Other entities, so the corpus statistics are not the track's alone.
OTHERS = {
    "a": ["A dreamy, hazy record full of shimmering guitars.", "The post is long."],
    "b": ["Loud guitars and a driving beat.", "Our post about the producer."],
    "c": ["A euphoric synth pop anthem.", "A peak of the year, the obvious choice."],
}


def _bag(ex: TermExtractor, months: dict[str, list[str]], first_id: int) -> EntityTerms:
    bag, i = EntityTerms(), first_id
    for month, sentences in months.items():
        for text in sentences:
            bag.add(i, 1.0, month, ex.terms(text))
            i += 1
    return bag


def _input() -> DescriptorInput:
    ex = TermExtractor()
    bags = {("track", "t"): _bag(ex, {"2024-03": MARCH, "2024-05": MAY}, 1)}
    for n, (eid, sentences) in enumerate(OTHERS.items()):
        bags[("track", eid)] = _bag(ex, {"2024-01": sentences}, 100 * (n + 1))
    df = document_frequencies(bags.values())
    return DescriptorInput(bags, {}, df, len(bags), ex, sentence_rates(bags.values()))


def test_a_one_sentence_month_plots_none_of_its_filler() -> None:
    data = _input()
    rows = _month_rows(("track", "t"), data, ProfileConfig())
    by_month: dict[str, set[str]] = {}
    for row in rows:
        by_month.setdefault(row["month"], set()).add(row["term"])
    # before: "obvious", "peak", "obvious peak" and "post" led March with a quarter each
    assert not by_month.get("2024-03", set()) & {"obvious", "peak", "obvious peak", "post"}
    may = by_month["2024-05"]
    assert {"shimmering", "synth", "euphoric", "widescreen"} <= may  # said twice: a trend
    assert "producer" not in may and "covers" not in may  # facts, said once
    assert "pulsing" not in may  # a free word said once


def test_trend_terms_need_the_descriptive_vocabulary_or_two_sentences() -> None:
    ex = TermExtractor()
    bag = EntityTerms()
    bag.add(1, 1.0, "2024-01", ["dreamy", "obvious", "widescreen", "producer"])
    bag.add(2, 1.0, "2024-02", ["widescreen"])
    shown = {"obvious": 5.0, "producer": 4.0, "dreamy": 3.0, "widescreen": 2.0}
    assert trend_terms(bag, shown, 10, ex) == {"dreamy", "widescreen"}
    assert trend_terms(bag, shown, 1, ex) == {"dreamy"}  # the strongest allowed term only


def test_facts_in_the_vocabulary_are_not_boosted_in_shown_weights() -> None:
    ex = TermExtractor()
    assert ex.is_vocab("producer") and not ex.is_descriptive("producer")
    assert ex.is_descriptive("shimmering") and ex.is_descriptive("synth-pop")
    df, cfg = Counter({"producer": 3, "shimmering": 3}), SalienceConfig()
    assert specificity("shimmering", df, 100, cfg, ex) == cfg.vocab_boost
    assert specificity("producer", df, 100, cfg, ex) < 1.0 + 1e-9
    bag = EntityTerms()
    bag.add(1, 1.0, None, ["producer", "shimmering"])
    rates = sentence_rates([bag])
    w = display_weights(bag, rates, df, 100, cfg, ex)
    assert w["shimmering"] > 2 * w["producer"]


def test_borrowed_terms_are_descriptive_unused_and_ranked_with_the_own_ones() -> None:
    own = {"dreamy": 2.0, "hazy": 0.5}
    neighbours = [
        {"shoegaze": 3.0, "producer": 6.0, "dreamy": 1.0, "leeds": 4.0},
        {"shoegaze": 1.0, "noise pop": 2.0},
    ]
    descriptive = {"shoegaze", "noise pop", "dreamy"}.__contains__
    got = borrow_terms(own, neighbours, descriptive, limit=10)
    # the mean over both neighbours (0 where one lacks it); facts, free words and own terms out
    assert got == {"shoegaze": 2.0, "noise pop": 1.0}
    # only those ranking within the merged top `limit` are kept (dreamy 2.0 ties shoegaze 2.0)
    assert borrow_terms(own, neighbours, descriptive, limit=2) == {"shoegaze": 2.0}
    assert borrow_terms(own, [], descriptive, limit=10) == {}
    # a term the entity uses but does not show is never inferred
    used = {"dreamy", "hazy", "noise pop"}.__contains__
    assert borrow_terms(own, neighbours, descriptive, 10, used=used) == {"shoegaze": 2.0}


def test_an_inferred_term_cites_its_lenders_heaviest_first() -> None:
    """The evidence of an inferred term comes from the neighbours lending it, the heaviest
    first, ties in neighbour-list order; a neighbour without the term lends nothing."""
    from linernotes.nlp.profiles.borrowed import _lenders

    lends = [{"dreamy": 1.0}, {"noisy": 3.0}, {"dreamy": 2.0}, {"dreamy": 1.0}]
    assert _lenders("dreamy", ["a", "b", "c", "d"], lends) == ["c", "a", "d"]
    assert _lenders("shoegaze", ["a", "b", "c", "d"], lends) == []

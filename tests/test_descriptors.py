"""Descriptor terms: candidates, name exclusion, salience schemes, top terms with evidence."""

from __future__ import annotations

import pytest

from linernotes.nlp.descriptors import (
    EntityTerms,
    SalienceConfig,
    TermExtractor,
    document_frequencies,
    salience,
    top_terms,
)
from linernotes.nlp.vocabulary import builtin_terms, normalize_term


def test_vocabulary_is_ours_and_large_enough() -> None:
    terms = builtin_terms()
    assert len(terms) > 300
    assert terms[normalize_term("drum and bass")] == "drum and bass"
    assert normalize_term("Post-Punk") == "post punk"


def test_extractor_matches_vocab_phrases_and_excludes_names() -> None:
    ex = TermExtractor()
    terms = ex.terms(
        "Glass Animals play dreamy post-punk with drum and bass grooves, like Radiohead.",
        exclude=["Glass Animals", "Radiohead"],
    )
    assert "post-punk" in terms and "drum and bass" in terms and "dreamy" in terms
    assert not any("radiohead" in t or "glass" in t or "animals" in t for t in terms)
    assert "bass" not in terms  # consumed by the longer vocabulary phrase
    assert "play" not in terms and "the" not in terms  # generic and stop words


def test_bigrams_do_not_cross_punctuation() -> None:
    terms = TermExtractor({}).terms("warm tape, hiss heavy")
    assert "warm tape" in terms and "hiss heavy" in terms and "tape hiss" not in terms


def _bags() -> dict[str, EntityTerms]:
    bags = {}
    for name, sentences in {
        "a": [["shoegaze", "guitar", "band"], ["shoegaze", "reverb", "band"]],
        "b": [["doom metal", "guitar", "band"]],
        "c": [["jazz", "band"]],
    }.items():
        bag = EntityTerms()
        for i, terms in enumerate(sentences):
            bag.add(i + 1, 1.0, "2024-01", terms)
        bags[name] = bag
    return bags


def test_tfidf_salience_prefers_distinctive_terms() -> None:
    bags = _bags()
    df = document_frequencies(bags.values())
    assert df["band"] == 3 and df["guitar"] == 2
    w = salience(
        bags["a"].counts, df, 3, SalienceConfig(scheme="tfidf", vocab_boost=1.0), TermExtractor()
    )
    assert w["shoegaze"] > w["band"] > w["guitar"]  # same count: rarer wins; more: more


def test_whitman_salience_downweights_ubiquitous_terms() -> None:
    bags = _bags()
    df = document_frequencies(bags.values())
    cfg = SalienceConfig(scheme="whitman", whitman_mu=-1.0, whitman_sigma=0.5, vocab_boost=1.0)
    w = salience(bags["a"].counts, df, 3, cfg, TermExtractor())
    assert w["guitar"] > w["band"]


def test_top_terms_keep_counts_df_and_evidence() -> None:
    bags = _bags()
    df = document_frequencies(bags.values())
    cfg = SalienceConfig()
    w = salience(bags["a"].counts, df, 3, cfg, TermExtractor())
    top = top_terms(bags["a"], w, df, 2, cfg, 3)
    assert top[0].term == "shoegaze"
    assert top[0].count == 2 and top[0].doc_freq == 1 and top[0].evidence_ids == [1, 2]
    assert bags["a"].months["2024-01"]["shoegaze"] == 2


@pytest.mark.slow
def test_content_words_keep_nouns_and_adjectives_not_verbs_or_names() -> None:
    from linernotes.nlp.descriptors import content_words

    found = content_words(["We'll never forget how Mara Lind turned these dreamy synths."])
    if found is None:
        pytest.skip("spaCy model not installed")
    words = found[0]
    assert {"dreamy", "synths"} <= words
    assert not words & {"turned", "mara", "lind", "we", "'ll", "forget"}


def test_terms_keep_only_content_words_when_given() -> None:
    ex = TermExtractor({})
    text = "they turned dreamy synths"
    assert "turned" in ex.terms(text)
    assert ex.terms(text, content=frozenset({"dreamy", "synths"})) == [
        "dreamy",
        "synths",
        "dreamy synths",
    ]


def test_display_weights_shrink_a_one_sentence_entity_towards_the_corpus() -> None:
    from linernotes.nlp.descriptors import display_weights, sentence_rates

    once, often = EntityTerms(), EntityTerms()
    once.add(1, 1.0, None, ["dreamy"])
    for i in range(10):
        often.add(100 + i, 1.0, None, ["dreamy"] if i < 8 else ["loud"])
    other = EntityTerms()
    for i in range(30):
        other.add(200 + i, 1.0, None, ["loud"])
    bags = [once, often, other]
    rates, df = sentence_rates(bags), document_frequencies(bags)
    cfg = SalienceConfig()
    w_once = display_weights(once, rates, df, 3, cfg, TermExtractor({}))
    w_often = display_weights(often, rates, df, 3, cfg, TermExtractor({}))
    assert w_often["dreamy"] > w_once["dreamy"]  # 8 of 10 sentences beat 1 of 1

"""Profile parts computed from plain objects and arrays: no database involved."""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import sparse

from linernotes.nlp.count_profiles import FamilyMatcher
from linernotes.nlp.profiles.config import ProfileConfig
from linernotes.nlp.profiles.corpus import Corpus, Ev
from linernotes.nlp.profiles.features import (
    context_features,
    entity_parts,
    sparse_parts,
    text_bags,
    text_grams,
    tfidf,
)
from linernotes.nlp.similarity import knn_combined, name_walk, normalise_part, zscore_rows


def _ev(i: int, text: str, co: list[str], weight: float = 1.0) -> Ev:
    return Ev(i, i, text, f"h{i}", None, weight, co)


def _corpus() -> Corpus:
    evidence = {
        ("track", "a"): [_ev(1, "A swinging big band standard.", ["name:bing crosby"])],
        ("track", "b"): [_ev(2, "A crooned ballad from the films.", ["name:bing crosby"])],
        ("track", "c"): [_ev(3, "A loud guitar anthem.", ["name:elvis presley"])],
        ("artist", "x"): [_ev(4, "The songwriter wrote standards.", ["track:a"])],
    }
    return Corpus(evidence, set(evidence), set(), {}, {}, {"a": "x", "b": "x"})


def test_text_grams_drop_stop_words_and_pair_what_is_left() -> None:
    assert text_grams("The dreamy synths of the night") == [
        "dreamy",
        "synths",
        "night",
        "dreamy synths",
        "synths night",
    ]


def test_tfidf_weights_rare_terms_over_shared_ones() -> None:
    bags = {("track", "a"): Counter(["ballad", "song"]), ("track", "b"): Counter(["song"])}
    weights = tfidf(bags)
    assert weights[("track", "a")]["ballad"] > weights[("track", "a")]["song"]


def test_text_bags_count_a_repeated_sentence_once() -> None:
    corpus = _corpus()
    corpus.evidence[("track", "a")].append(_ev(9, "A swinging big band standard.", []))
    assert text_bags(corpus)[("track", "a")]["swinging"] == 1


def test_context_features_name_the_people_around_and_the_own_artist() -> None:
    feats = context_features(_corpus(), self_weight=1.0)
    assert set(feats[("track", "a")]) == {"name:bing crosby", "artist:x"}
    assert set(feats[("track", "c")]) == {"name:elvis presley"}
    assert set(feats[("artist", "x")]) == {"track:a", "artist:x"}


def test_entity_parts_keep_names_out_of_words_but_in_context() -> None:
    corpus = _corpus()
    sp = sparse_parts(corpus, {key: {"ballad": 1.0} for key in corpus.evidence}, ProfileConfig())
    assert not any("crosby" in t for t in sp.weights("text-hash", ("track", "a")))
    parts = entity_parts(
        ("track", "a"), corpus, ProfileConfig(), sp, {}, np.zeros((0, 384)), FamilyMatcher()
    )
    assert {"tfidf-hash", "text-hash", "context-hash"} <= set(parts)
    ids, rows = sp.of_kind("track")["context-hash"]
    assert ids == ["a", "b", "c"] and rows.shape[0] == 3
    assert sp.weights("context-hash", ("track", "a"))["name:bing crosby"] > 0


def test_name_walk_pulls_entities_that_share_a_name_together() -> None:
    words = normalise_part(np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]), centre=False)
    names = sparse.csr_matrix(np.array([[1.0, 0], [1.0, 0], [0, 1.0]]))
    walked = name_walk(words, names, 1.0)
    sims = walked @ walked.T
    assert sims[0, 1] > 0.3 and sims[0, 2] == 0


def test_zscore_rows_leaves_the_query_itself_out() -> None:
    sims = np.array([[1.0, 0.2, 0.4, 0.6]])
    z = zscore_rows(sims, offset=0)
    assert z[0, 0] == 0 and abs(float(z[0, 1:].mean())) < 1e-6


def test_standardised_fusion_lets_a_low_scale_part_count() -> None:
    """Dense cosines crowd near 1, word overlaps near 0: z-scores put both on one scale."""
    ids = ["q", "a", "b", "c", "d"]
    angles = np.arccos([1.0, 0.99, 0.97, 0.96, 0.95])
    dense = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    words = np.zeros((5, 6))
    words[0, 0] = 1.0
    words[2, 0], words[2, 1] = 0.01, np.sqrt(1 - 1e-4)  # b shares a little of q's words
    for row in (1, 3, 4):
        words[row, row + 1] = 1.0
    parts = [(1.0, dense), (1.0, sparse.csr_matrix(words))]
    plain = knn_combined(ids, parts, 1, center_dense=False)
    fused = knn_combined(ids, parts, 1, center_dense=False, standardise=True)
    assert plain["q"][0][0] == "a"
    assert fused["q"][0][0] == "b"


def test_groups_leave_out_the_querys_own_artist() -> None:
    ids = ["a1", "a2", "b1"]
    vecs = np.array([[1.0, 0.0], [0.99, 0.1], [0.7, 0.7]])
    plain = knn_combined(ids, [(1.0, vecs)], 1, center_dense=False)
    other = knn_combined(ids, [(1.0, vecs)], 1, center_dense=False, groups=["A", "A", "B"])
    assert plain["a1"][0][0] == "a2"
    assert other["a1"][0][0] == "b1"
    assert other["b1"][0][0] in {"a1", "a2"}


def test_own_clauses_keep_a_works_adjectives_to_itself() -> None:
    from linernotes.nlp.profiles.features import own_clauses

    text = (
        'Highlights: the dreamy "Alison", the noisy "Souvlaki Space Station" '
        'and the tender "Dagger".'
    )
    alison = own_clauses(text, ["Alison"], ["Souvlaki Space Station", "Dagger"])
    assert "dreamy" in alison and "noisy" not in alison and "tender" not in alison
    dagger = own_clauses(text, ["Dagger"], ["Alison", "Souvlaki Space Station"])
    assert "tender" in dagger and "dreamy" not in dagger
    assert own_clauses("A dreamy song.", ["Alison"], []) == "A dreamy song."
    assert own_clauses(text, ["Unknown"], ["Dagger"]) == text  # no clause names it

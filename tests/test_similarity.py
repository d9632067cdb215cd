"""Vector combination, backoff, k-NN and the similarity metrics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from linernotes.nlp.neighbour_metrics import (
    evaluate,
    ndcg_at_k,
    precision_at_k,
    read_neighbor_tsv,
    strict_precision_at_k,
)
from linernotes.nlp.similarity import (
    Combination,
    backoff,
    hash_features,
    knn,
    knn_combined,
    name_walk,
    normalise_part,
)


def test_hash_features_is_stable_and_preserves_overlap() -> None:
    a = hash_features({"shoegaze": 1.0, "reverb": 1.0}, 256)
    b = hash_features({"shoegaze": 1.0, "jazz": 1.0}, 256)
    assert np.array_equal(a, hash_features({"reverb": 1.0, "shoegaze": 1.0}, 256))
    cos = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert cos == pytest.approx(0.5, abs=0.01)


def test_combined_cosine_is_weighted_mean_of_part_cosines() -> None:
    rng = np.random.default_rng(0)
    dims = {"x": 8, "y": 4}
    combo = Combination((("x", 2.0), ("y", 1.0)))
    p = {"x": rng.normal(size=8), "y": rng.normal(size=4)}
    q = {"x": rng.normal(size=8), "y": rng.normal(size=4)}
    cp, cq = combo.combine(p, dims), combo.combine(q, dims)

    def cos(u: np.ndarray, v: np.ndarray) -> float:
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))

    expected = (2 * cos(p["x"], q["x"]) + cos(p["y"], q["y"])) / 3
    assert float(cp @ cq) == pytest.approx(expected, abs=1e-5)
    assert combo.dims(dims) == 12


def test_backoff_shrinks_towards_parent_by_support() -> None:
    own, parent = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    vec, alpha = backoff(own, parent, support=1, k=3)
    assert alpha == pytest.approx(0.75) and vec is not None and vec[1] > vec[0]
    vec, alpha = backoff(own, parent, support=300, k=3)
    assert alpha < 0.01 and vec is not None and vec[0] > 0.99
    assert backoff(own, None, 1, 3) == (own, 0.0)


def test_knn_and_knn_combined_agree_on_dense_and_find_the_twin() -> None:
    ids = ["a", "b", "c", "d"]
    m = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.8, 0.2]], dtype=np.float32)
    plain = knn(ids, m, 2)
    assert plain["a"][0][0] == "b" and plain["c"][0][0] == "d"
    combined = knn_combined(ids, [(1.0, sparse.csr_matrix(m)), (1.0, m)], 2, center_dense=False)
    assert [n for n, _ in combined["a"]] == [n for n, _ in plain["a"]]
    assert combined["a"][0][1] == pytest.approx(plain["a"][0][1], abs=1e-5)


def test_knn_combined_walked_sparse_part_equals_the_explicit_walk() -> None:
    """The walked part's cosines (taken from its Gram matrix) are those of name_walk's rows."""
    rng = np.random.default_rng(7)
    n = 9
    dense = sparse.random(n, 40, density=0.15, random_state=3, dtype=np.float64).toarray()
    dense[8] = 0  # an entity without words or names stays at cosine 0
    words = sparse.csr_matrix(dense)
    incidence = (rng.random((n, 4)) > 0.6).astype(np.float64)
    incidence[8] = 0
    names = sparse.csr_matrix(incidence / np.maximum(incidence.sum(axis=1, keepdims=True), 1))
    walked = name_walk(normalise_part(words, centre=False), names, 0.5).toarray()
    cosines = walked @ walked.T
    ids = [f"e{i}" for i in range(n)]
    got = knn_combined(
        ids, [(1.0, words.astype(np.float32))], n - 1, names=names, walk=0.5, block=4
    )
    for row, eid in enumerate(ids):
        assert {nid: score for nid, score in got[eid]} == pytest.approx(
            {ids[j]: cosines[row, j] for j in range(n) if j != row}, abs=1e-6
        )
    assert cosines[0, 8] == 0 and max(cosines[0, 1:8]) > 0


def test_knn_combined_leaves_uncentred_count_parts_at_zero_for_empty_rows() -> None:
    ids = ["a", "b", "c"]
    counts = np.array([[2, 0], [1, 0], [0, 0]], dtype=np.float32)  # c: no data
    plain = knn_combined(ids, [(1.0, counts)], 2, uncentred=[0])
    assert dict(plain["c"]) == {"a": 0.0, "b": 0.0}
    assert plain["a"][0] == ("b", pytest.approx(1.0))
    centred = knn_combined(ids, [(1.0, counts)], 2)
    assert dict(centred["c"])["a"] == pytest.approx(-1.0)  # centring gives "no data" a direction


def test_metrics() -> None:
    assert precision_at_k(["a", "x", "b"], ["a", "b", "c"], 3) == pytest.approx(2 / 3)
    # A gold list shorter than k: finding all of it is a perfect score; strict divides by k.
    assert precision_at_k(["x", "a", "y", "b"], ["a", "b"], 4) == pytest.approx(1.0)
    assert strict_precision_at_k(["x", "a", "y", "b"], ["a", "b"], 4) == pytest.approx(0.5)
    assert precision_at_k(["a"], [], 3) == 0.0
    assert ndcg_at_k(["a", "b"], ["a", "b"], 2) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "a"], ["a"], 2) < 1.0
    gold = read_neighbor_tsv("e1\ta b\ne2\tc\n\n")
    for bad, where in (("e1\ta\nbad line\n", "line 2"), ("e1\ta\ne1\tb\n", "line 2")):
        with pytest.raises(ValueError, match=where):
            read_neighbor_tsv(bad)
    scores = evaluate({"e1": ["a", "z"]}, gold, 2)
    assert scores.evaluated == 1 and scores.gold_entities == 2
    assert scores.p_at_k == pytest.approx((0.5 + 0.0) / 2)
    assert scores.strict_p_at_k == pytest.approx((0.5 + 0.0) / 2)
    short = evaluate({"e1": ["x", "a"], "e2": ["c", "z"]}, gold, 2)
    assert short.p_at_k == pytest.approx((0.5 + 1.0) / 2)
    assert short.strict_p_at_k == pytest.approx((0.5 + 0.5) / 2)
    text = short.format()
    assert "P@2\t0.7500" in text and "strict precision (hits / 2)\t0.5000" in text

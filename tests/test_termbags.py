"""Compact term bags: the matrix statistics equal the per-entity dict ones they replace."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy import sparse

from linernotes.nlp.descriptors import (
    EntityTerms,
    SalienceConfig,
    TermExtractor,
    document_frequencies,
    salience,
    sentence_rates,
)
from linernotes.nlp.profiles.features import tfidf
from linernotes.nlp.profiles.neighbours import names_matrix, sparse_terms
from linernotes.nlp.profiles.termbags import (
    BagRow,
    BagSummary,
    BagTable,
    SummaryView,
    dicts_to_csr,
    row_dict,
    salience_matrix,
    tfidf_matrix,
)

SENTENCES = {
    ("artist", "a"): ["Dreamy shoegaze with reverb guitars.", "A dreamy jazz record."],
    ("artist", "b"): ["Loud guitars and punk energy.", "Dreamy vocals over punk drums."],
    ("track", "t"): ["A jazz ballad with a lonely saxophone."],
    ("track", "u"): [],
}


def _bags() -> tuple[dict, dict, TermExtractor]:
    ex = TermExtractor()
    bags, grams = {}, {}
    ev = 0
    for key, texts in SENTENCES.items():
        bag = EntityTerms()
        g: Counter[str] = Counter()
        for i, text in enumerate(texts):
            ev += 1
            bag.add(ev, 1.0 + 0.5 * i, "2020-01", ex.terms(text))
            g.update(text.lower().split())
        bags[key], grams[key] = bag, g
    return bags, grams, ex


def _table() -> tuple[BagTable, dict, dict, TermExtractor]:
    bags, grams, ex = _bags()
    vocab: dict[str, int] = {}
    keys = list(bags)
    rows = [BagRow.of(BagSummary.of(bags[k], grams[k]), vocab) for k in keys]
    rows = [BagRow.decode(r.encode()) for r in rows]  # through the cached form
    return BagTable.stack(keys, rows, list(vocab)), bags, grams, ex


def test_a_bag_row_survives_encoding_and_a_truncated_blob_is_refused() -> None:
    bags, grams, _ex = _bags()
    vocab: dict[str, int] = {}
    row = BagRow.of(BagSummary.of(bags[("artist", "a")], grams[("artist", "a")]), vocab)
    back = BagRow.decode(row.encode())
    assert back.sentences == 2 and back.term_ids.tolist() == row.term_ids.tolist()
    assert back.counts.tolist() == row.counts.tolist()
    with pytest.raises(ValueError, match="entity bag blob"):
        BagRow.decode(row.encode()[:-3])


def test_document_frequencies_and_sentence_rates_equal_the_dict_sums() -> None:
    table, bags, _grams, _ex = _table()
    df = table.document_frequencies()
    assert table.df_counter(df) == document_frequencies(bags.values())
    rates = table.sentence_rates()
    expected = sentence_rates(bags.values())
    assert rates.keys() == expected.keys()
    assert all(math.isclose(rates[t], expected[t]) for t in expected)


@pytest.mark.parametrize("scheme", ["whitman", "tfidf"])
def test_salience_matrix_equals_per_entity_salience(scheme: str) -> None:
    table, bags, _grams, ex = _table()
    cfg = SalienceConfig(scheme=scheme)
    df = table.document_frequencies()
    mat = salience_matrix(table, df, cfg, ex)
    counter = document_frequencies(bags.values())
    for row, key in enumerate(table.keys):
        got = row_dict(mat, row, table.terms)
        want = salience(bags[key].counts, counter, len(bags), cfg, ex)
        assert list(got) == list(want)  # same terms, same order
        assert all(math.isclose(got[t], want[t], rel_tol=1e-12) for t in want)
    assert any(ex.is_vocab(t) for t in table.terms)  # the boost was exercised


def test_tfidf_matrix_equals_the_dict_tfidf() -> None:
    table, _bags, grams, _ex = _table()
    mat = tfidf_matrix(table.grams)
    want = tfidf(grams)
    for row, key in enumerate(table.keys):
        got = row_dict(mat, row, table.terms)
        assert got.keys() == want[key].keys()
        assert all(math.isclose(got[t], want[key][t]) for t in got)


def test_summary_view_reads_a_row_back_as_dicts() -> None:
    table, bags, grams, _ex = _table()
    view = SummaryView(table)
    s = view[("artist", "b")]
    assert s.counts == dict(bags[("artist", "b")].counts)
    assert s.grams == dict(grams[("artist", "b")]) and s.sentences == 2
    assert ("track", "u") in view and view[("track", "u")].counts == {}
    assert ("track", "zz") not in view and len(view) == 4
    assert SummaryView(table, grams=False)[("artist", "b")].grams == {}


def test_sparse_terms_aligns_stored_rows_like_dicts() -> None:
    weights = {"a": {"x": 1.0, "y": 2.0}, "b": {"y": 3.0}}
    keys = [("track", "a"), ("track", "b")]
    mat, cols = dicts_to_csr(keys, {("track", e): w for e, w in weights.items()})
    ids = ["b", "missing", "a"]
    from_rows = sparse_terms(ids, (["a", "b"], mat))
    from_dicts = sparse_terms(ids, weights)
    gram = (from_rows @ from_rows.T).toarray()
    assert np.allclose(gram, (from_dicts @ from_dicts.T).toarray())
    assert from_rows.getrow(1).nnz == 0 and from_rows.dtype == np.float32
    walk = names_matrix(ids, (["a", "b"], mat))
    assert sparse.issparse(walk) and np.allclose(walk.sum(axis=1).ravel(), [1.0, 0.0, 1.0])
    assert cols == ["x", "y"]

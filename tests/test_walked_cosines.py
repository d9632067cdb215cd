"""Walked cosines from the Gram matrix, built a block at a time, in memory or spilled."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from linernotes.nlp.similarity import name_walk, normalise_part
from linernotes.nlp.walked_cosines import WalkedCosines, block_cosines


def test_walked_cosines_built_in_small_blocks_equal_the_explicit_walk() -> None:
    """Gram matrix, diagonal and rows built a few entities at a time (in memory or spilled to
    a file) give the same cosines as the explicit walk."""
    rng = np.random.default_rng(11)
    n = 7
    words = sparse.random(n, 30, density=0.2, random_state=5, format="csr")
    incidence = (rng.random((n, 3)) > 0.5).astype(np.float64)
    names = sparse.csr_matrix(incidence / np.maximum(incidence.sum(axis=1, keepdims=True), 1))
    unit_rows = normalise_part(words, centre=False)
    walked = name_walk(unit_rows, names, 1.0).toarray()
    for spill_over in (n, 0):  # G in memory, then G in a temporary file read back in chunks
        blocked = WalkedCosines(unit_rows, names, 1.0, block=2, spill_over=spill_over)
        assert (blocked.gram.file is None) == (spill_over == n)
        rows = np.vstack([blocked.rows(start, min(n, start + 3)) for start in range(0, n, 3)])
        blocked.gram.close()
        assert rows == pytest.approx(walked @ walked.T, abs=1e-5)


def test_block_cosines_of_plain_rows_are_their_inner_products() -> None:
    """Parts that are not walked (dense or sparse unit rows) give plain row products."""
    rows = normalise_part(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]), centre=False)
    got = block_cosines(rows, 1, 3)
    assert got.shape == (2, 3)
    assert got == pytest.approx(rows[1:3] @ rows.T)
    assert block_cosines(sparse.csr_matrix(rows), 0, 1) == pytest.approx(rows[:1] @ rows.T)

"""Block cosines of a few rows against all (`nlp/neighbour_blocks`), the walk included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from linernotes.nlp.neighbour_blocks import prepare_parts
from tests.test_neighbour_update import N, _data, _names


def test_walked_cosines_chunk_by_chunk_equal_the_plain_formula(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """(A U U.T A)[rows] / norms, A = I + walk * names @ names.T, written out with sparse
    products, against the dense transposed route cut into chunks of two rows."""
    from linernotes.nlp import neighbour_blocks

    _ids, _dense, words, incidence, _artists = _data(5)
    walk = 0.5
    monkeypatch.setattr(neighbour_blocks, "DENSE_BYTES", 2 * 4 * words.shape[1])
    (part,) = prepare_parts([(1.0, words)], names=_names(incidence), walk=walk)
    unit = part.rows
    names = part.names
    steps = sparse.identity(N, format="csr", dtype=np.float32) + walk * (names @ names.T)
    walked = (steps @ unit).toarray()
    norms = np.linalg.norm(walked, axis=1)
    rows = np.asarray([3, 8, 9, 40, 77])
    inv = neighbour_blocks.walked_inverse_norms(part, rows)
    assert np.allclose(inv, 1 / norms[rows], rtol=1e-5)
    full_inv = (1 / norms).astype(np.float32)
    got = neighbour_blocks.raw_block(part, rows, full_inv)
    want = (walked[rows] @ walked.T) / np.outer(norms[rows], norms)
    assert np.allclose(got, want, atol=1e-5)
    assert part.budget.hits == 3 and not part.kept  # 5 rows in chunks of 2, each used once

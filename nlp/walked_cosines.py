"""Exact cosines among walked sparse rows, a block of queries at a time, in bounded memory.

A sparse part smoothed by the walk through names (`similarity.name_walk`)
fills in until multiplying its rows dominates a neighbour table; its cosines
are computed instead from the Gram matrix of the unwalked rows (`GramRows`,
spilled to a temporary file past `SPILL_ENTITIES`). `similarity.knn_combined_lists`
asks `block_cosines` for each block of rows of every part; the incremental
update (`neighbour_blocks`) computes the same walked rows for a few queries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Above this many entities a walked part's Gram matrix (n x n float32: 1 GB at 16,000) goes to
# a temporary file and is streamed back in row chunks, so memory stays linear in n.
SPILL_ENTITIES = 8192


class GramRows:
    """G = U @ U.T of a part's unit rows, in memory or in a temporary file, for S @ G products.

    Why a file: at tens of thousands of entities two walked parts' Gram
    matrices alone would pass the 4 GB a run may use (issue 14). Streaming G
    back in row chunks costs a read per block of queries from the page cache,
    which the kernel can reclaim, and keeps the results exact.
    """

    def __init__(self, rows: Any, block: int, spill: bool) -> None:
        self.n = rows.shape[0]
        self.block = block
        self.memory: np.ndarray | None = None
        self.file: Any = None
        if spill:
            import tempfile

            # Lives as long as the part's neighbour pass; closed by `close` (or when collected).
            self.file = tempfile.TemporaryFile(prefix="linernotes-gram-")  # noqa: SIM115
        else:
            self.memory = np.empty((self.n, self.n), dtype=np.float32)
        for start in range(0, self.n, block):
            stop = min(self.n, start + block)
            chunk = (rows[start:stop] @ rows.T).toarray().astype(np.float32)
            if self.memory is not None:
                self.memory[start:stop] = chunk
            else:
                self.file.write(chunk.tobytes())
        if self.file is not None:
            self.file.flush()

    def left_product(self, steps: Any) -> np.ndarray:
        """`steps @ G` for a sparse block of rows of the walk matrix."""
        if self.memory is not None:
            return np.asarray(steps @ self.memory)
        out = np.zeros((steps.shape[0], self.n), dtype=np.float32)
        columns = steps.tocsc()
        for start in range(0, self.n, self.block):
            stop = min(self.n, start + self.block)
            sub = columns[:, start:stop]
            if sub.nnz == 0:
                continue
            self.file.seek(start * self.n * 4)
            chunk = np.fromfile(self.file, dtype=np.float32, count=(stop - start) * self.n)
            out += sub @ chunk.reshape(stop - start, self.n)
        return out

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class WalkedCosines:
    """Cosines among the walked rows of a sparse part, from its Gram matrix, a block at a time.

    Why: the walk (`name_walk`) fills a sparse part in (580 artists' word
    rows went from 168k to 7.9M non-zeros over 59k columns), and multiplying
    those rows cost ~5 s of a 6 s neighbour table. The walked rows are
    A @ U with A = I + weight * names @ names.T (entities x entities), so
    their inner products are A @ G @ A.T with G = U @ U.T: one product of the
    still sparse rows, then sparse-by-dense products, and the
    renormalisation is the diagonal.

    Memory: a block of rows of A G A.T is built when the neighbour loop asks
    for it, so no n x n float64 temporary exists; G itself (n x n float32) is
    held in memory up to `spill_over` entities and in a temporary file above
    (`GramRows`). The diagonal is a first pass over the same blocks. Time is
    still quadratic in the entities of a kind (docs/scale-out.md).
    """

    def __init__(
        self,
        unit_rows: Any,
        names: Any,
        weight: float,
        block: int = 1024,
        spill_over: int = SPILL_ENTITIES,
    ) -> None:
        from scipy import sparse

        rows = sparse.csr_matrix(unit_rows, dtype=np.float32)
        n = rows.shape[0]
        self.gram = GramRows(rows, block, spill=n > spill_over)
        steps = sparse.identity(n, dtype=np.float32, format="csr")
        self.steps = (steps + weight * (names @ names.T).astype(np.float32)).tocsr()
        diag = np.empty(n, dtype=np.float64)
        for start in range(0, n, block):
            stop = min(n, start + block)
            left = self.gram.left_product(self.steps[start:stop])
            diag[start:stop] = np.asarray(
                self.steps[start:stop].multiply(left).sum(axis=1), dtype=np.float64
            ).ravel()
        self.inv = (1.0 / np.maximum(np.sqrt(np.maximum(diag, 0.0)), 1e-12)).astype(np.float32)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Cosines of walked rows start..stop against every walked row."""
        left = self.gram.left_product(self.steps[start:stop])
        inner = np.asarray(self.steps @ left.T).T  # (A G A^T)[start:stop]; A is symmetric
        return inner * self.inv[start:stop, None] * self.inv[None, :]


def block_cosines(rows: Any, start: int, stop: int) -> np.ndarray:
    """Cosines of rows start..stop against all rows, as a dense array."""
    if isinstance(rows, WalkedCosines):
        return rows.rows(start, stop)
    part = rows[start:stop] @ rows.T
    return np.asarray(part.toarray() if hasattr(part, "toarray") else part)

"""Block cosines of changed rows against every row, per part, for `neighbour_update`.

A part's rows are normalised (and, for a walked sparse part, kept with the
names matrix) by `prepare_parts`; `block_rows` gives a block of rows' combined
similarities to all rows, z-scored with fresh statistics for the rows
themselves and with the stored ones for the columns. The walk through names
(A = I + walk * names @ names.T) is applied a chunk of rows at a time
(`walked_inverse_norms`, `raw_block`), never to the whole part.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linernotes.nlp.similarity import RowStats, name_walk, normalise_part, zscore_with_stats

BLOCK = 256  # changed rows per block: a block is BLOCK x N float32 per part
# Walked chunks kept between their norms and their cosines (all walked parts together).
WALK_CACHE_BYTES = 256 * 2**20
DENSE_BYTES = 64 * 2**20  # one dense walked chunk (terms x rows float32) at most


@dataclass
class Budget:
    """Bytes the walked parts may still hold in their caches, and chunks handed out."""

    left: int
    hits: int = 0


@dataclass
class Part:
    """A part's rows ready for block cosines; `names` set for a walked sparse part.

    A walked part also keeps its rows transposed (`columns`, terms x entities)
    for `_walked_columns`, and in `kept` the walked chunks of the norm pass
    until their cosines use them: the changed rows' norms must all be known
    before any block's cosines, and walking a chunk twice was half the work.
    """

    weight: float
    rows: Any
    names: Any = None
    walk: float = 0.0
    columns: Any = None
    kept: dict[bytes, np.ndarray] = field(default_factory=dict)
    budget: Budget | None = None


def prepare_parts(
    parts: Sequence[tuple[float, Any]],
    *,
    center_dense: bool = True,
    uncentred: Sequence[int] = (),
    names: Any = None,
    walk: float = 0.0,
    unwalked: Sequence[int] = (),
) -> list[Part]:
    """Each part normalised (and walked) as `knn_combined_lists` does; sparse walks deferred.

    A walked sparse part keeps its unit rows and the names matrix: the walked
    rows of a block are built from them (`raw_block`), never all at once.
    """
    from scipy import sparse

    out = []
    budget = Budget(WALK_CACHE_BYTES)
    for index, (weight, mat) in enumerate(parts):
        unit_rows = normalise_part(mat, center_dense and index not in uncentred)
        smoothing = 0.0 if index in unwalked else walk
        if smoothing > 0 and names is not None and sparse.issparse(unit_rows):
            rows = sparse.csr_matrix(unit_rows, dtype=np.float32)
            walked = sparse.csr_matrix(names, dtype=np.float32)
            columns = rows.T.tocsr()
            out.append(Part(weight, rows, walked, smoothing, columns, budget=budget))
        else:
            out.append(Part(weight, name_walk(unit_rows, names, smoothing)))
    return out


def _walked_columns(part: Part, rows: np.ndarray, keep: bool = False) -> np.ndarray:
    """Rows `rows` of A @ U, transposed and dense (terms x rows), A = I + walk * names @ names.T
    (as `walked_cosines.WalkedCosines` defines it): U.T @ A[rows].T, one sparse-by-dense product.

    Why not A[rows] @ U: the walk fills rows in (a track's walked word row held
    ~72,000 of 259,000 terms at 10,000 pages), and that sparse-by-sparse
    product, then its product with U.T, cost 1.7-2.5x this route on the same
    256 rows. A chunk kept by an earlier call (`keep`, within the budget) is
    handed out once.
    """
    from scipy import sparse

    key = rows.tobytes()
    if key in part.kept:
        walked = part.kept.pop(key)
        if part.budget is not None:
            part.budget.left += walked.nbytes
            part.budget.hits += 1
        return walked
    n = part.rows.shape[0]
    eye = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (np.arange(len(rows)), rows)), shape=(len(rows), n)
    )
    steps = (eye + part.walk * (part.names[rows] @ part.names.T)).tocsr()
    walked = np.asarray(part.columns @ steps.T.toarray(), dtype=np.float32)
    if keep and part.budget is not None and walked.nbytes <= part.budget.left:
        part.kept[key] = walked
        part.budget.left -= walked.nbytes
    return walked


def _chunks(part: Part, rows: np.ndarray) -> Iterator[np.ndarray]:
    """`rows` in pieces whose dense walked columns stay under DENSE_BYTES."""
    step = max(1, DENSE_BYTES // (4 * max(1, part.rows.shape[1])))
    for start in range(0, len(rows), step):
        yield rows[start : start + step]


def walked_inverse_norms(part: Part, rows: np.ndarray) -> np.ndarray:
    """1 / |walked row| for the given rows (the diagonal of A G A.T, from the rows themselves).

    Each chunk's walked columns are kept for its cosines (`raw_block`), budget allowing.
    """
    out = np.empty(len(rows), dtype=np.float32)
    done = 0
    for start in range(0, len(rows), BLOCK):
        for chunk in _chunks(part, rows[start : start + BLOCK]):
            walked = _walked_columns(part, chunk, keep=True)
            norms = np.sqrt(np.einsum("ij,ij->j", walked, walked, dtype=np.float64))
            out[done : done + len(chunk)] = 1.0 / np.maximum(norms, 1e-12)
            done += len(chunk)
    return out


def raw_block(part: Part, rows: np.ndarray, inv: np.ndarray | None) -> np.ndarray:
    """Cosines of `rows` against every row of the part (walked: with the norms in `inv`)."""
    if part.names is None:
        block = part.rows[rows] @ part.rows.T
        return np.asarray(block.toarray() if hasattr(block, "toarray") else block, np.float32)
    assert inv is not None
    left = np.empty((len(rows), part.rows.shape[0]), dtype=np.float32)  # (A G)[rows], G = U U.T
    done = 0
    for chunk in _chunks(part, rows):
        left[done : done + len(chunk)] = np.asarray(part.rows @ _walked_columns(part, chunk)).T
        done += len(chunk)
    inner = left + part.walk * np.asarray(part.names @ (part.names.T @ left.T)).T  # A symmetric
    return (inner * inv[rows][:, None] * inv[None, :]).astype(np.float32)


def block_rows(
    prepared: Sequence[Part],
    rows: np.ndarray,
    stats: RowStats,
    standardise: bool,
    with_columns: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Combined similarities of `rows` (their own statistics, fresh) and, with
    `with_columns`, the same cosines as every other row's columns (its stored statistics)."""
    total = sum(p.weight for p in prepared) or 1.0
    n = prepared[0].rows.shape[0]
    sims = np.zeros((len(rows), n), dtype=np.float32)
    cols = np.zeros((len(rows), n), dtype=np.float32) if with_columns else None
    for index, part in enumerate(prepared):
        inv = stats.inv[index] if part.names is not None else None
        raw = raw_block(part, rows, inv)
        if standardise:
            z, mean, std = zscore_with_stats(raw, rows)
            stats.mean[index, rows], stats.std[index, rows] = mean, std
            sims += part.weight * z
            if cols is not None:
                spread = np.maximum(stats.std[index], 1e-9)[None, :]
                cols += part.weight * ((raw - stats.mean[index][None, :]) / spread)
        else:
            sims += part.weight * raw
            if cols is not None:
                cols += part.weight * raw
    sims /= total
    sims[np.arange(len(rows)), rows] = -np.inf
    if cols is not None:
        cols /= total
    return sims, cols


def known_rows(prepared: Sequence[Part], stats: RowStats) -> np.ndarray:
    """Rows with every statistic from the last pass (NaN marks an id it did not see)."""
    known = np.isfinite(stats.mean).all(axis=0) & np.isfinite(stats.std).all(axis=0)
    for index, part in enumerate(prepared):
        if part.names is not None:
            known &= np.isfinite(stats.inv[index])
    return known


def refresh_norms(prepared: Sequence[Part], stats: RowStats, rows: np.ndarray) -> None:
    """The changed rows' walked norms, before any block uses them as columns."""
    for index, part in enumerate(prepared):
        if part.names is not None and len(rows):
            stats.inv[index, rows] = walked_inverse_norms(part, rows)

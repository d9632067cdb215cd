"""Vector kinds, their combination into one cultural vector, and k-NN (metrics: neighbour_metrics).

Why signed feature hashing for the sparse kinds (descriptor TF-IDF,
co-mentions): it needs no fitted vocabulary, so adding an entity never moves
the others' coordinates, and the inner product is preserved in expectation.
Why a weighted concatenation of unit-normalised parts: its cosine is exactly
the weighted mean of the parts' cosines, so one dense vector (and one pgvector
HNSW index) serves the combination that measured best.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linernotes.nlp.walked_cosines import WalkedCosines, block_cosines

# Hashed sizes of the sparse parts inside `cultural`: salience + text + context + the dense
# parts must stay under pgvector's 4000-dimension HNSW limit (the neighbour table uses
# the exact sparse parts, so only the index and `similar`'s fallback see the hashing).
TFIDF_DIM = 1024
COMENTION_DIM = 512


def hash_features(features: Mapping[str, float], dim: int) -> np.ndarray:
    """Signed feature hashing with a stable hash (crc32), not Python's salted `hash`."""
    vec = np.zeros(dim, dtype=np.float32)
    for key, value in features.items():
        h = zlib.crc32(key.encode("utf-8"))
        sign = 1.0 if (h >> 31) & 1 else -1.0
        vec[h % dim] += sign * value
    return vec


def unit(vec: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


@dataclass(frozen=True)
class Combination:
    """Weights of each vector kind in the cultural vector (kinds absent from an entity count 0)."""

    weights: tuple[tuple[str, float], ...]
    name: str = "cultural"
    standardise: bool = False  # z-score each part's similarities per query (knn_combined)
    walk: float = 0.0  # weight of the two-step walk through co-mentioned names (name_walk)

    def dims(self, dims: Mapping[str, int]) -> int:
        return sum(dims[k] for k, w in self.weights if w > 0)

    def combine(self, parts: Mapping[str, np.ndarray], dims: Mapping[str, int]) -> np.ndarray:
        chunks = []
        for kind, w in self.weights:
            if w <= 0:
                continue
            part = parts.get(kind)
            if part is None:
                chunks.append(np.zeros(dims[kind], dtype=np.float32))
            else:
                chunks.append(
                    (math.sqrt(w) * unit(np.asarray(part, dtype=np.float32))).astype(np.float32)
                )
        return unit(np.concatenate(chunks).astype(np.float32))


def backoff(
    own: np.ndarray | None, parent: np.ndarray | None, support: float, k: float
) -> tuple[np.ndarray | None, float]:
    """Shrink a little-evidence vector towards its parent (weight k / (support + k) on it)."""
    if parent is None or k <= 0:
        return own, 0.0
    if own is None:
        return unit(parent), 1.0
    alpha = k / (support + k)
    return unit((1 - alpha) * unit(own) + alpha * unit(parent)), alpha


def knn(
    ids: Sequence[str], matrix: np.ndarray, k: int, *, block: int = 2048
) -> dict[str, list[tuple[str, float]]]:
    """Exact cosine k-NN among rows (self excluded), blockwise to bound memory."""
    unit_rows = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    out: dict[str, list[tuple[str, float]]] = {}
    n = len(ids)
    kk = min(k, n - 1)
    if kk <= 0:
        return {i: [] for i in ids}
    for start in range(0, n, block):
        sims = unit_rows[start : start + block] @ unit_rows.T
        for row in range(sims.shape[0]):
            sims[row, start + row] = -np.inf
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        for row in range(sims.shape[0]):
            cand = top[row][np.argsort(-sims[row, top[row]], kind="stable")]
            out[ids[start + row]] = [(ids[j], float(sims[row, j])) for j in cand]
    return out


def normalise_part(mat: Any, centre: bool) -> Any:
    """Rows to unit length (dense parts centred first when `centre`); sparse stays sparse.

    Centring removes the direction every entity shares (sentence embeddings are
    anisotropic), which otherwise dominates the cosine.
    """
    from scipy import sparse

    if sparse.issparse(mat):
        norms = np.sqrt(np.asarray(mat.multiply(mat).sum(axis=1)).ravel())
        return (sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ mat).tocsr()
    dense = np.asarray(mat, dtype=np.float32)
    if centre and dense.shape[0] > 1:
        dense = dense - dense.mean(axis=0, keepdims=True)
    return dense / np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)


def name_walk(unit_rows: Any, names: Any, weight: float) -> Any:
    """Each row plus `weight` x what a two-step walk through shared names reaches.

    `names` is the entity x name matrix (rows summing to 1: an entity spreads
    one unit over the names around it). Step one collects, per name, the rows
    of every entity naming it; step two brings each entity the names' sums
    back. An entity whose page names Bing Crosby moves towards everything else
    written around Bing Crosby. Rows are renormalised.
    """
    if weight <= 0 or names is None:
        return unit_rows
    walked = unit_rows + weight * (names @ (names.T @ unit_rows))
    return normalise_part(walked, centre=False)


def knn_combined(
    ids: Sequence[str],
    parts: Sequence[tuple[float, Any]],
    k: int,
    *,
    block: int = 1024,
    center_dense: bool = True,
    uncentred: Sequence[int] = (),
    standardise: bool = False,
    names: Any = None,
    walk: float = 0.0,
    unwalked: Sequence[int] = (),
    groups: Sequence[str | None] | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """k-NN by a weighted sum of cosines over several row-aligned matrices (dense or sparse).

    Why not the concatenated vector: exact sparse TF-IDF cosines beat any
    fixed-size projection of them (measured: 0.156 vs 0.121 P@10 hashed to
    1024 dims on sas_mirex), so the neighbour table uses the exact parts.
    Dense parts are centred unless their index is in `uncentred` (count
    profiles such as decades, where "no data" must stay at cosine 0).

    `standardise` z-scores each part's similarities per query (over all
    candidates) before weighting: parts whose cosines live on different
    scales (sparse word overlaps near 0, dense sentence vectors near 0.5)
    then count as their weights say, which is what lets one set of weights
    carry over between corpora (docs/similarity.md). With `names` (entity x
    name, see `name_walk`) and `walk` > 0 every part is first smoothed over
    the co-mention graph (except the parts in `unwalked`: the names themselves).
    With `groups` (one label per row, e.g. a track's artist) candidates sharing
    the query's label are left out: "nearest tracks by other artists".
    """
    return knn_combined_lists(
        ids,
        parts,
        k,
        block=block,
        center_dense=center_dense,
        uncentred=uncentred,
        standardise=standardise,
        names=names,
        walk=walk,
        unwalked=unwalked,
        groupings=[groups],
    )[0]


def knn_combined_lists(
    ids: Sequence[str],
    parts: Sequence[tuple[float, Any]],
    k: int,
    *,
    block: int = 1024,
    center_dense: bool = True,
    uncentred: Sequence[int] = (),
    standardise: bool = False,
    names: Any = None,
    walk: float = 0.0,
    unwalked: Sequence[int] = (),
    groupings: Sequence[Sequence[str | None] | None] = (None,),
    stats: RowStats | None = None,
    reserve: int = 0,
) -> list[dict[str, list[tuple[str, float]]]]:
    """`knn_combined` once per grouping (None: no group left out), from one similarity pass.

    The combined similarities are the expensive part (every part's block
    product, z-scored and walked); a track's plain list and its "other
    artists" list differ only in which candidates are masked, so they share it.
    With `stats`, each part's per-row z-score mean/std and walked-row norms are
    kept there: what an incremental update (`neighbour_update`) scores the
    unchanged rows' new columns with. Collecting them changes no result; nor does
    `reserve`, which appends each list's next `reserve` candidates after its k.
    """
    normed = []
    for index, (weight, mat) in enumerate(parts):
        unit_rows = normalise_part(mat, center_dense and index not in uncentred)
        smoothing = 0.0 if index in unwalked else walk
        normed.append((weight, _part_rows(unit_rows, names, smoothing)))
    n = len(ids)
    kk = min(k, n - 1)
    outs: list[dict[str, list[tuple[str, float]]]] = [{} for _ in groupings]
    if kk <= 0:
        return [{i: [] for i in ids} for _ in groupings]
    codes = [group_codes(g) if g is not None else None for g in groupings]
    total = sum(w for w, _m in normed) or 1.0
    if stats is not None:
        stats.reset(n, [m.inv if isinstance(m, WalkedCosines) else None for _w, m in normed])
    for start in range(0, n, block):
        stop = min(n, start + block)
        sims = np.zeros((stop - start, n), dtype=np.float32)
        for index, (weight, mat) in enumerate(normed):
            dense_part = block_cosines(mat, start, stop)
            if standardise:
                dense_part, mean, std = zscore_with_stats(dense_part, np.arange(start, stop))
                if stats is not None:
                    stats.mean[index, start:stop] = mean
                    stats.std[index, start:stop] = std
            sims += weight * dense_part.astype(np.float32)
        sims /= total
        for row in range(stop - start):
            sims[row, start + row] = -np.inf
        for out, code in zip(outs, codes, strict=True):
            masked = sims
            if code is not None:
                masked = sims.copy()
                _mask_groups(masked, start, code)
            _top_k(out, ids, masked, start, kk, reserve)
    for _weight, mat in normed:
        if isinstance(mat, WalkedCosines):
            mat.gram.close()
    return outs


def _part_rows(unit_rows: Any, names: Any, weight: float) -> Any:
    """A part's rows ready for block cosines: walked sparse parts as their cosine matrix."""
    from scipy import sparse

    if weight > 0 and names is not None and sparse.issparse(unit_rows):
        return WalkedCosines(unit_rows, names, weight)
    return name_walk(unit_rows, names, weight)


def _top_k(
    out: dict[str, list[tuple[str, float]]],
    ids: Sequence[str],
    sims: np.ndarray,
    start: int,
    kk: int,
    reserve: int = 0,
) -> None:
    """Each row's kk best, then (with `reserve`) its next best, chosen apart so that the
    first kk are the same with a reserve as without."""
    top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
    deep = min(kk + reserve, sims.shape[1])
    more = np.argpartition(-sims, deep - 1, axis=1)[:, :deep] if deep > kk else None
    for row in range(sims.shape[0]):
        cand = top[row][np.argsort(-sims[row, top[row]], kind="stable")]
        if more is not None:
            rest = np.setdiff1d(more[row], cand, assume_unique=True)
            cand = np.concatenate([cand, rest[np.argsort(-sims[row, rest], kind="stable")]])
        out[ids[start + row]] = [
            (ids[j], float(sims[row, j])) for j in cand if np.isfinite(sims[row, j])
        ]


def group_codes(groups: Sequence[str | None]) -> np.ndarray:
    """One integer per row for its group, -1 for none (integer compares, not object ones)."""
    index: dict[str, int] = {}
    return np.asarray(
        [-1 if g is None else index.setdefault(g, len(index)) for g in groups], dtype=np.int64
    )


def _mask_groups(sims: np.ndarray, start: int, codes: np.ndarray) -> None:
    """Candidates in the query's own group (same artist) to -inf; rows without one untouched."""
    own = codes[start : start + sims.shape[0]][:, None]
    sims[(own >= 0) & (codes[None, :] == own)] = -np.inf


def zscore_rows(sims: np.ndarray, offset: int) -> np.ndarray:
    """Each row's similarities as z-scores over its candidates, the row's own entity left out.

    Row r of the block is entity `offset + r`, whose self-similarity would
    inflate the mean and spread.
    """
    return zscore_with_stats(sims, offset + np.arange(sims.shape[0]))[0]


def zscore_with_stats(sims: np.ndarray, selves: np.ndarray) -> tuple[np.ndarray, Any, Any]:
    """`zscore_rows` for rows whose own entities are the columns `selves`; also each row's
    mean and std (zeros when there are under two candidates)."""
    out = np.array(sims, dtype=np.float32)
    n = out.shape[1]
    rows = np.arange(out.shape[0])
    inside = selves < n
    out[rows[inside], selves[inside]] = np.nan
    if n < 2:
        return np.zeros_like(out), np.zeros(len(rows)), np.zeros(len(rows))
    mean = np.nanmean(out, axis=1, keepdims=True)
    std = np.nanstd(out, axis=1, keepdims=True)
    scaled = (out - mean) / np.maximum(std, 1e-9)
    return np.nan_to_num(scaled, nan=0.0).astype(np.float32), mean.ravel(), std.ravel()


@dataclass
class RowStats:
    """Per part and row: the z-score mean and std over all candidates, and the walked-row
    inverse norm (NaN for parts that are not walked sparse parts)."""

    mean: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    std: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    inv: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def reset(self, n: int, inverse_norms: Sequence[np.ndarray | None]) -> None:
        parts = len(inverse_norms)
        self.mean = np.zeros((parts, n), dtype=np.float32)
        self.std = np.zeros((parts, n), dtype=np.float32)
        self.inv = np.full((parts, n), np.nan, dtype=np.float32)
        for index, inv in enumerate(inverse_norms):
            if inv is not None:
                self.inv[index] = inv

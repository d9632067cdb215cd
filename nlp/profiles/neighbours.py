"""Step 5: the precomputed neighbour table, and the pgvector index over `cultural`."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, select, text

from linernotes.nlp.neighbour_blocks import prepare_parts
from linernotes.nlp.neighbour_update import Kept, floor_of, update_lists
from linernotes.nlp.profiles.config import (
    CONTEXT,
    CULTURAL,
    DEFAULT_COMBINATION,
    OTHER_ARTISTS,
    UNCENTRED,
)
from linernotes.nlp.profiles.neighbour_state import (
    load_state,
    neighbor_rows,
    replace_rows,
    save_state,
)
from linernotes.nlp.similarity import (
    Combination,
    RowStats,
    group_codes,
    knn,
    knn_combined_lists,
)
from linernotes.storage import Store
from linernotes.storage.models import Neighbor, Vector
from linernotes.storage.upsert import insert_rows

log = logging.getLogger(__name__)
HNSW_MAX_DIM = 4000  # pgvector's limit for an HNSW index over halfvec


def load_matrix(store: Store, kind: str, model: str = CULTURAL) -> tuple[list[str], np.ndarray]:
    """All vectors of one kind and model as (ids, matrix).

    On SQLite the float32 blobs are joined and read by numpy in one go: decoding
    row by row through the ORM cost ~30 µs a vector, which is what `similar`
    waits for on every query (bench/scale/vectors.py measures it).
    """
    if store.dialect == "sqlite":
        return _load_matrix_sqlite(store, kind, model)
    with store.session() as session:
        rows = session.execute(
            select(Vector.entity_id, Vector.vector)
            .where(Vector.entity_kind == kind, Vector.model == model)
            .order_by(Vector.entity_id)
        ).all()
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    return [r[0] for r in rows], np.stack([np.asarray(r[1], dtype=np.float32) for r in rows])


def _load_matrix_sqlite(store: Store, kind: str, model: str) -> tuple[list[str], np.ndarray]:
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT entity_id, vector FROM vectors WHERE entity_kind = ? AND model = ? "
            "ORDER BY entity_id",
            (kind, model),
        ).all()
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    blobs = [bytes(r[1]) for r in rows]
    width = len(blobs[0])
    if any(len(b) != width for b in blobs):  # mixed dimensions: decode one by one
        return [r[0] for r in rows], np.stack([np.frombuffer(b, dtype="<f4") for b in blobs])
    flat = np.frombuffer(b"".join(blobs), dtype="<f4")
    return [r[0] for r in rows], flat.reshape(len(blobs), width // 4).astype(np.float32)


SparsePart = Mapping[str, Mapping[str, float]] | tuple[Sequence[str], Any]


def sparse_terms(ids: list[str], term_weights: SparsePart) -> Any:
    """Row-aligned CSR matrix of per-entity term weights (float32; absent ids: empty rows).

    `term_weights` is either entity id -> term -> weight (columns: the terms
    seen) or a part as the stage holds it: (entity ids, their CSR rows).
    """
    from scipy import sparse

    if isinstance(term_weights, tuple):
        row_ids, matrix = term_weights
        index = {e: i for i, e in enumerate(row_ids)}
        padded = sparse.vstack([matrix, sparse.csr_matrix((1, matrix.shape[1]))]).tocsr()
        pick = np.asarray([index.get(e, len(row_ids)) for e in ids], dtype=np.int64)
        return padded[pick].astype(np.float32)
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for row, eid in enumerate(ids):
        for term, w in term_weights.get(eid, {}).items():
            rows.append(row)
            cols.append(vocab.setdefault(term, len(vocab)))
            vals.append(w)
    return sparse.csr_matrix(
        (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(ids), max(1, len(vocab)))
    )


def _aligned(store: Store, kind: str, model: str, ids: list[str]) -> np.ndarray | None:
    sub_ids, sub = load_matrix(store, kind, model)
    if not sub_ids:
        return None
    index = {e: i for i, e in enumerate(sub_ids)}
    aligned = np.zeros((len(ids), sub.shape[1]), dtype=np.float32)
    for row, eid in enumerate(ids):
        if eid in index:
            aligned[row] = sub[index[eid]]
    return aligned


def names_matrix(ids: list[str], context: SparsePart) -> Any:
    """Entity x name incidence, each row summing to 1 (the walk's first step, see name_walk)."""
    from scipy import sparse

    mat = sparse_terms(ids, context)
    mat.data[:] = 1.0
    sums = np.asarray(mat.sum(axis=1)).ravel()
    return (sparse.diags(1.0 / np.maximum(sums, 1.0)) @ mat).tocsr()


def write_neighbors(
    store: Store,
    kind: str,
    k: int,
    combination: Combination = DEFAULT_COMBINATION,
    sparse_parts: Mapping[str, SparsePart] | None = None,
    track_artist: Mapping[str, str] | None = None,
) -> int:
    """Recompute the precomputed neighbour table of one kind (every list, exactly).

    With `sparse_parts` (part name -> every entity's exact sparse weights: descriptor
    salience, the evidence's words, the names around it) those parts are exact sparse
    cosines; the other parts come from the stored vectors. Without, the stored
    `cultural` vectors are used. With `track_artist`, tracks also get a second list,
    model `OTHER_ARTISTS`: their nearest tracks by other artists, ranked after the first.
    """
    return update_neighbors(store, kind, k, combination, sparse_parts, track_artist).rows


@dataclass
class NeighbourWrite:
    """Rows written, and the entities whose lists were rewritten (None: the whole kind).

    `relisted` are those whose plain list (model `cultural`) holds other ids or
    another order now: most rewritten lists only moved in score, because a
    changed entity they hold scores a little differently, and what reads the
    ids alone (the inferred terms) has nothing to redo for those.
    """

    rows: int
    touched: set[str] | None
    recomputed: int = 0  # lists computed exactly against every candidate
    relisted: set[str] | None = None


def update_neighbors(
    store: Store,
    kind: str,
    k: int,
    combination: Combination = DEFAULT_COMBINATION,
    sparse_parts: Mapping[str, SparsePart] | None = None,
    track_artist: Mapping[str, str] | None = None,
    *,
    changed: Collection[str] | None = None,
    removed: Collection[str] = (),
) -> NeighbourWrite:
    """`write_neighbors`, or with `changed` (the kind's recomputed ids) and `removed` an
    incremental update: cost in proportion to the changed ids (`nlp/neighbour_update`).

    The update needs the combined parts and the statistics a full pass stored; without
    them, when more than `INCREMENTAL_SHARE` of the kind changed, or for a kind of
    fewer than `INCREMENTAL_MIN` entities, it is a full pass.
    """
    ids, matrix = load_matrix(store, kind, CULTURAL)
    models = [CULTURAL, OTHER_ARTISTS] if kind == "track" and track_artist else [CULTURAL]
    groupings: list[list[str | None] | None] = [None]
    if len(models) > 1:
        groupings.append([(track_artist or {}).get(e) for e in ids])
    small = changed is not None and len(changed) + len(removed) <= INCREMENTAL_SHARE * len(ids)
    small = small and len(ids) >= INCREMENTAL_MIN
    if ids and sparse_parts is not None and changed is not None and small:
        done = _incremental(
            store, kind, ids, k, combination, sparse_parts, groupings, models, changed, removed
        )
        if done is not None:
            return done
    lists: list[tuple[str, dict[str, list[tuple[str, float]]]]] = []
    if not ids:
        lists.append((CULTURAL, {}))
    elif sparse_parts is None:
        lists.append((CULTURAL, knn(ids, matrix, k)))
    else:
        # a track's nearest by other artists come from the same similarities, masked
        stats = RowStats()
        found = combined_neighbors(
            store, kind, ids, k, combination, sparse_parts, groupings, stats=stats, reserve=RESERVE
        )
        lists += [
            (m, {e: v[:k] for e, v in f.items()}) for m, f in zip(models, found, strict=False)
        ]
        kept = [Kept(f, {e: floor_of(v, k + RESERVE) for e, v in f.items()}) for f in found]
        save_state(store, kind, _signature(combination, k, models), ids, stats, kept)
    return NeighbourWrite(_store_neighbors(store, kind, lists), None, len(ids))


# Above this share of a kind changed, the update costs about what a full pass does.
INCREMENTAL_SHARE = 0.25
# Under this many entities of a kind a full pass takes seconds, and stays exact.
INCREMENTAL_MIN = 1000
# Candidates kept past k per list (not in the table): what a list that lost entries
# refills from, instead of being recomputed against every candidate.
RESERVE = 20


def _signature(combination: Combination, k: int, models: Sequence[str]) -> str:
    return f"{combination!r}|k={k}|{','.join(models)}"


def _incremental(
    store: Store,
    kind: str,
    ids: list[str],
    k: int,
    combination: Combination,
    sparse_parts: Mapping[str, SparsePart],
    groupings: Sequence[Sequence[str | None] | None],
    models: Sequence[str],
    changed: Collection[str],
    removed: Collection[str],
) -> NeighbourWrite | None:
    """Update the stored lists for the changed and removed ids; None if it cannot."""
    signature = _signature(combination, k, models)
    state = load_state(store, kind, signature, ids)
    if state is None:
        return None
    stats, old = state
    parts, options = combination_parts(store, kind, ids, combination, sparse_parts)
    if not parts or stats.mean.shape[0] != len(parts):
        return None
    update = update_lists(
        ids,
        prepare_parts(parts, **options),
        k,
        changed=changed,
        removed=removed,
        old=old,
        stats=stats,
        standardise=combination.standardise,
        groupings=[group_codes(g) if g is not None else None for g in groupings],
        depth=k + RESERVE,
    )
    touched = {e for e in update.touched if _table_changed(e, k, old, update.lists)}
    relisted = {e for e in touched if _ids_changed(e, k, old[0], update.lists[0])}
    current = set(ids)
    for before, after in zip(old, update.lists, strict=True):
        for eid in [e for e in before.lists if e not in current]:
            del before.lists[eid]
        before.lists.update(after.lists)
        before.floors.update(after.floors)
    lists = [
        (m, {e: one.lists[e][:k] for e in touched}) for m, one in zip(models, old, strict=True)
    ]
    rows = replace_rows(store, kind, lists, touched | set(removed))
    save_state(store, kind, signature, ids, update.stats, old)
    log.info(
        "neighbours %s: %d changed, %d removed, %d lists recomputed, %d rewritten",
        kind,
        len(changed),
        len(removed),
        len(update.recomputed),
        len(touched),
    )
    return NeighbourWrite(rows, touched, len(update.recomputed), relisted)


def _head(kept: Kept, eid: str, k: int) -> list[tuple[str, float]]:
    """The entity's stored rows of one list: its first k, scores as rounded in the table."""
    return [(n, round(s, 6)) for n, s in kept.lists.get(eid, [])[:k]]


def _ids_changed(eid: str, k: int, old: Kept, new: Kept) -> bool:
    """Whether the entity's first k neighbours are other ids, or in another order."""
    return [n for n, _s in old.lists.get(eid, [])[:k]] != [n for n, _s in new.lists[eid][:k]]


def _table_changed(eid: str, k: int, old: Sequence[Kept], new: Sequence[Kept]) -> bool:
    """Whether the entity's stored rows (the first k of each list, as rounded) change."""
    return any(_head(a, eid, k) != _head(b, eid, k) for a, b in zip(old, new, strict=True))


def combination_parts(
    store: Store,
    kind: str,
    ids: list[str],
    combination: Combination,
    sparse_parts: Mapping[str, SparsePart],
) -> tuple[list[tuple[float, Any]], dict[str, Any]]:
    """The combination's parts, row-aligned to `ids`, and how each is normalised and walked.

    The one place sparse parts become matrices (`sparse_terms`) and stored vectors are
    aligned (`_aligned`), for a full pass and an incremental update alike.
    """
    parts: list[tuple[float, Any]] = []
    uncentred: list[int] = []
    unwalked: list[int] = []
    for model, weight in combination.weights:
        if weight <= 0:
            continue
        if model in sparse_parts:
            if model == CONTEXT:
                unwalked.append(len(parts))
            parts.append((weight, sparse_terms(ids, sparse_parts[model])))
            continue
        aligned = _aligned(store, kind, model, ids)
        if aligned is None:
            continue
        if model in UNCENTRED:
            uncentred.append(len(parts))
        parts.append((weight, aligned))
    names = None
    if combination.walk > 0 and CONTEXT in sparse_parts:
        names = names_matrix(ids, sparse_parts[CONTEXT])
    options = {
        "uncentred": uncentred,
        "names": names,
        "walk": combination.walk,
        "unwalked": unwalked,
    }
    return parts, options


def combined_neighbors(
    store: Store,
    kind: str,
    ids: list[str],
    k: int,
    combination: Combination,
    sparse_parts: Mapping[str, SparsePart],
    groupings: Sequence[Sequence[str | None] | None] = (None,),
    stats: RowStats | None = None,
    reserve: int = 0,
) -> list[dict[str, list[tuple[str, float]]]]:
    """k nearest per entity under the combination (weights, z-scoring, walk over names).

    One list per grouping: None ranks every candidate; a label per entity leaves
    out the candidates sharing the query's label (`knn_combined_lists`).
    """
    parts, options = combination_parts(store, kind, ids, combination, sparse_parts)
    return knn_combined_lists(
        ids,
        parts,
        k,
        standardise=combination.standardise,
        groupings=groupings,
        stats=stats,
        reserve=reserve,
        **options,
    )


def _store_neighbors(
    store: Store, kind: str, lists: list[tuple[str, dict[str, list[tuple[str, float]]]]]
) -> int:
    """Replace the kind's rows; each later list's ranks continue after the earlier ones."""
    rows = neighbor_rows(kind, lists, sorted({e for _m, result in lists for e in result}))
    with store.session() as session:
        session.execute(delete(Neighbor).where(Neighbor.entity_kind == kind))
        insert_rows(session, Neighbor, rows)
    return len(rows)


def ensure_hnsw_index(store: Store, model: str, dim: int) -> None:
    """A partial HNSW index over one model's vectors.

    pgvector indexes need a fixed dimension, and `vectors` mixes models, so the
    index is on an expression cast (to halfvec: up to 4000 dims) and partial on
    the model; queries must use the same expression and WHERE to hit it.
    """
    if dim > HNSW_MAX_DIM:
        log.warning(
            "no HNSW index on %s: %d dimensions, pgvector allows %d", model, dim, HNSW_MAX_DIM
        )
        return
    safe = "".join(c if c.isalnum() else "_" for c in model)
    name = f"ix_vectors_hnsw_{safe}_{dim}"
    with store.engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON vectors USING hnsw "
                f"((vector::halfvec({dim})) halfvec_cosine_ops) "
                f"WHERE model = '{safe}' AND dim = {dim}"
            )
        )

"""Nearest-neighbour lookups over the cultural vectors, for the API and the CLI.

The precomputed `neighbors` table answers when it is deep enough; past its
depth the vectors are searched: in PostgreSQL through pgvector's index, in
numpy on SQLite. numpy and the nlp modules are imported inside the functions.
"""

from __future__ import annotations

from sqlalchemy import func, select

from linernotes.storage import Store
from linernotes.storage.models import Neighbor


def neighbors_of(
    store: Store, kind: str, entity_id: str, k: int, other_artists: bool = False
) -> list[tuple[str, float]]:
    """Nearest entities: the precomputed table when it holds k, else a vector search.

    The vector search runs in PostgreSQL through the HNSW index (pgvector),
    in numpy on SQLite. `other_artists`: a track's nearest tracks by other
    artists (the table's second list, model "cultural-other-artists").
    """
    from linernotes.nlp.profiles import OTHER_ARTISTS

    other = Neighbor.model == OTHER_ARTISTS
    with store.session() as session:
        rows = session.execute(
            select(Neighbor.neighbor_id, Neighbor.score)
            .where(
                Neighbor.entity_kind == kind,
                Neighbor.entity_id == entity_id,
                other if other_artists else ~other,
            )
            .order_by(Neighbor.rank)
        ).all()
    table = [(str(n), float(s)) for n, s in rows[:k]]
    if other_artists or len(rows) >= k:
        # no vector-search fallback for the second list: it could not tell artists apart
        return table
    # deeper than the table: search the vectors, or keep the table when there are none
    return vector_search(store, kind, entity_id, k) or table


# hnsw.ef_search for `similar`: at a million anchored 384-d vectors, 100 gave recall@10 0.93
# on one build and 0.95 on another (builds differ); 200 gave 0.96-0.98 at p95 16 ms on a
# quiet machine (docs/scale-out.md). Below the index's reach it costs nothing.
EF_SEARCH = 200


def vector_search(store: Store, kind: str, entity_id: str, k: int) -> list[tuple[str, float]]:
    import numpy as np
    from sqlalchemy import text

    from linernotes.nlp.profiles import CULTURAL, load_matrix
    from linernotes.storage.models import Vector

    with store.session() as session:
        found = session.execute(
            select(Vector.vector, Vector.dim).where(
                Vector.entity_kind == kind,
                Vector.entity_id == entity_id,
                Vector.model == CULTURAL,
            )
        ).first()
        if found is None:
            return []
        query = np.asarray(found[0], dtype=np.float32)
        dim = int(found[1])
        if store.dialect == "postgresql":
            # HNSW's default candidate list (40) gave recall@10 0.94 on clustered vectors;
            # 100 gave 0.99 at the same p95 (bench/scale/vectors.py, 50k vectors).
            session.execute(text(f"SET LOCAL hnsw.ef_search = {EF_SEARCH}"))
            literal = "[" + ",".join(f"{x:.6g}" for x in query) + "]"
            expr = f"vector::halfvec({dim})"
            sql = text(
                f"SELECT entity_id, 1 - ({expr} <=> CAST(:q AS halfvec({dim}))) AS score "
                f"FROM vectors WHERE model = '{CULTURAL}' AND dim = {dim} AND entity_kind = :kind "
                f"AND entity_id <> :id ORDER BY {expr} <=> CAST(:q AS halfvec({dim})) LIMIT :k"
            )
            rows = session.execute(sql, {"q": literal, "kind": kind, "id": entity_id, "k": k}).all()
            return [(str(r[0]), float(r[1])) for r in rows]
    ids, matrix = load_matrix(store, kind, CULTURAL)
    norms = np.maximum(np.linalg.norm(matrix, axis=1), 1e-12)
    sims = (matrix @ query) / norms / max(float(np.linalg.norm(query)), 1e-12)
    order = [i for i in np.argsort(-sims) if ids[i] != entity_id][:k]
    return [(ids[i], float(sims[i])) for i in order]


def export_table(store: Store, kind: str, k: int) -> dict[str, list[str]]:
    """entity id -> neighbour ids, best first (the precomputed table, or vectors past its depth)."""
    from linernotes.nlp.profiles import OTHER_ARTISTS

    # the plain list only: a track's second list (by other artists) is ranked after it
    plain = (Neighbor.entity_kind == kind) & (Neighbor.model != OTHER_ARTISTS)
    with store.session() as session:
        rows = session.execute(
            select(Neighbor.entity_id, Neighbor.neighbor_id)
            .where(plain, Neighbor.rank <= k)
            .order_by(Neighbor.entity_id, Neighbor.rank)
        ).all()
        depth = session.execute(select(func.max(Neighbor.rank)).where(plain)).scalar()
    out: dict[str, list[str]] = {}
    for eid, nid in rows:
        out.setdefault(str(eid), []).append(str(nid))
    if depth is not None and depth < k:
        from linernotes.nlp.profiles import CULTURAL, load_matrix
        from linernotes.nlp.similarity import knn

        ids, matrix = load_matrix(store, kind, CULTURAL)
        if ids:  # deeper than the table: search the vectors, or keep the table without them
            out = {e: [n for n, _ in v] for e, v in knn(ids, matrix, k).items()}
    return out

"""What an incremental neighbour update reads back: the stored lists and the last pass's row
statistics, and how it writes only the rows that changed.

Why the statistics are stored: an unchanged row's new columns are z-scored
with its per-part mean/std over all candidates, and a walked part's cosines
divide by every row's walked norm. Both come from the last full pass
(`knn_combined_lists(stats=...)`), are kept in `pipeline_state` per kind
(float32, base64), and are refreshed for every row an update recomputes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import delete

from linernotes.nlp.neighbour_update import Kept
from linernotes.nlp.similarity import RowStats
from linernotes.storage import Store
from linernotes.storage.chunks import chunked
from linernotes.storage.models import KeyValue, Neighbor
from linernotes.storage.upsert import insert_rows, upsert

STATS_KEY = "neighbour-stats:"  # + kind


def _encode(array: np.ndarray, dtype: str = "<f4") -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def _decode(text: str, shape: tuple[int, ...], dtype: str = "<f4") -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).reshape(shape)


def save_state(
    store: Store,
    kind: str,
    signature: str,
    ids: Sequence[str],
    stats: RowStats,
    kept: Sequence[Kept],
) -> None:
    """The row statistics and the deep lists (with floors) of one kind, for the next update."""
    value: dict[str, Any] = {
        "signature": signature,
        "ids": list(ids),
        "parts": int(stats.mean.shape[0]),
        "mean": _encode(stats.mean),
        "std": _encode(stats.std),
        "inv": _encode(stats.inv),
        "lists": [_encode_lists(ids, one) for one in kept],
    }
    with store.session() as session:
        upsert(session, KeyValue, [{"key": STATS_KEY + kind, "value": value}], keys=["key"])


def _encode_lists(ids: Sequence[str], kept: Kept) -> dict[str, Any]:
    """Lists as (entity x depth) neighbour positions in `ids` (-1: none) and scores."""
    position = {e: i for i, e in enumerate(ids)}
    depth = max((len(v) for v in kept.lists.values()), default=0)
    where = np.full((len(ids), depth), -1, dtype=np.int32)
    scores = np.zeros((len(ids), depth), dtype=np.float32)
    floors = np.full(len(ids), np.nan, dtype=np.float32)  # NaN: no list kept
    for eid, lst in kept.lists.items():
        row = position.get(eid)
        if row is None:
            continue
        for col, (nid, score) in enumerate(lst):
            where[row, col], scores[row, col] = position.get(nid, -1), score
        floors[row] = kept.floors.get(eid, -np.inf)
    return {
        "depth": depth,
        "where": _encode(where, "<i4"),
        "scores": _encode(scores),
        "floors": _encode(floors),
    }


def _decode_lists(ids: Sequence[str], value: Mapping[str, Any]) -> Kept:
    n, depth = len(ids), int(value["depth"])
    where = _decode(value["where"], (n, depth), "<i4").tolist()
    scores = _decode(value["scores"], (n, depth)).tolist()
    floors = _decode(value["floors"], (n,)).tolist()
    out = Kept()
    for row, eid in enumerate(ids):
        if floors[row] != floors[row]:  # NaN: no list
            continue
        out.lists[eid] = [
            (ids[j], s) for j, s in zip(where[row], scores[row], strict=True) if j >= 0
        ]
        out.floors[eid] = floors[row]
    return out


def load_state(
    store: Store, kind: str, signature: str, ids: Sequence[str]
) -> tuple[RowStats, list[Kept]] | None:
    """The stored statistics aligned to `ids` (NaN for ids the last pass did not see) and the
    deep lists; None when there are none or they were made under another combination."""
    with store.session() as session:
        row = session.get(KeyValue, STATS_KEY + kind)
        value = dict(row.value) if row is not None else {}
    if value.get("signature") != signature:
        return None
    old_ids, parts = list(value["ids"]), int(value["parts"])
    position = {e: i for i, e in enumerate(old_ids)}
    where = np.asarray([position.get(e, -1) for e in ids], dtype=np.int64)
    stats = RowStats()
    for name in ("mean", "std", "inv"):
        old = _decode(value[name], (parts, len(old_ids)))
        aligned = np.full((parts, len(ids)), np.nan, dtype=np.float32)
        aligned[:, where >= 0] = old[:, where[where >= 0]]
        setattr(stats, name, aligned)
    return stats, [_decode_lists(old_ids, one) for one in value["lists"]]


def replace_rows(
    store: Store,
    kind: str,
    lists: Sequence[tuple[str, dict[str, list[tuple[str, float]]]]],
    entities: Iterable[str],
) -> int:
    """Rewrite the rows of `entities` only (those absent from `lists` are just deleted).

    Each later list's ranks continue after the earlier ones, as a full write does.
    """
    targets = sorted(set(entities))
    rows = neighbor_rows(kind, lists, [e for e in targets if any(e in r for _m, r in lists)])
    with store.session() as session:
        for chunk in chunked(targets, 500):
            session.execute(
                delete(Neighbor).where(Neighbor.entity_kind == kind, Neighbor.entity_id.in_(chunk))
            )
        insert_rows(session, Neighbor, rows)
    return len(rows)


def neighbor_rows(
    kind: str,
    lists: Sequence[tuple[str, dict[str, list[tuple[str, float]]]]],
    entities: Iterable[str],
) -> list[dict[str, Any]]:
    """Table rows for `entities`: each model's list in turn, ranks running on."""
    rows: list[dict[str, Any]] = []
    for eid in entities:
        rank = 0
        for model, result in lists:
            for nid, score in result.get(eid, []):
                rank += 1
                rows.append(
                    {
                        "entity_kind": kind,
                        "entity_id": eid,
                        "rank": rank,
                        "neighbor_id": nid,
                        "score": round(score, 6),
                        "model": model,
                    }
                )
    return rows

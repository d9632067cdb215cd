"""An incremental update of a combined k-NN table: cost in proportion to the changed rows.

Why: at 10,000 pages a re-run with 5% of pages changed re-profiled ~4% of the
entities, yet recomputing every list exactly (`knn_combined_lists`) is
quadratic in the entities of a kind: hundreds of seconds for ~19,000 tracks.

What changes when a set C of entities changes (or is removed): C's own rows,
and in every other row only the columns C. So C's rows are computed exactly
against all N (|C| x N blocks), and the same blocks are the other rows'
new columns (every part's raw cosine is symmetric). An unchanged row then
drops its old entries for C and the removed ids, takes C's new scores, and
keeps its top k; a row that lost an entry and cannot refill from what it
holds (its k-th would fall under its old k-th, behind candidates it never
stored) is recomputed exactly.

What is not exact: an unchanged row's per-part z-score mean/std and a walked
part's norm come from the last full pass (`RowStats`, stored per kind), and
its entries for unchanged candidates keep their stored scores, though the
corpus-wide statistics behind them (idf, the dense centring) moved a little.
The drift check in `nlp/profiles/stage.py` forces a full, exact pass once
enough changed; docs/similarity.md gives the measured overlap with one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from linernotes.nlp.neighbour_blocks import BLOCK, Part, block_rows, known_rows, refresh_norms
from linernotes.nlp.similarity import RowStats

Lists = dict[str, list[tuple[str, float]]]


@dataclass
class Kept:
    """One grouping's lists, best first, and each list's floor: a candidate it does not
    hold scored at most that (-inf: it holds every candidate)."""

    lists: Lists = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)


@dataclass
class Update:
    """New lists (one `Kept` per grouping) for the entities whose lists changed, and stats."""

    lists: list[Kept]
    touched: set[str]
    recomputed: set[
        str
    ]  # rows recomputed exactly: the changed ones and those that could not refill
    stats: RowStats


def _top_rows(out: Kept, ids: Sequence[str], sims: np.ndarray, rows: np.ndarray, deep: int) -> None:
    """Each row's `deep` best, into `out` with their floors."""
    top = np.argpartition(-sims, deep - 1, axis=1)[:, :deep]
    for r in range(sims.shape[0]):
        cand = top[r][np.argsort(-sims[r, top[r]], kind="stable")]
        eid = ids[int(rows[r])]
        out.lists[eid] = [(ids[j], float(sims[r, j])) for j in cand if np.isfinite(sims[r, j])]
        out.floors[eid] = floor_of(out.lists[eid], deep)


def _masked(sims: np.ndarray, rows: np.ndarray, code: np.ndarray | None) -> np.ndarray:
    """Candidates in the row's own group to -inf (rows without one untouched)."""
    if code is None:
        return sims
    out = sims.copy()
    own = code[rows][:, None]
    out[(own >= 0) & (code[None, :] == own)] = -np.inf
    return out


def _merge(
    old: Sequence[tuple[str, float]],
    floor: float,
    dropped: set[str],
    fresh: list[tuple[str, float]],
    depth: int,
    need: int,
) -> tuple[list[tuple[str, float]], float] | None:
    """Old list without the dropped ids, plus the fresh candidates, best first, and its floor.

    Candidates a list never stored scored at most its `floor` (-inf: it holds every
    candidate), so only merged entries scoring at least that are certain. A list cut
    at `depth` gets its last score as the new floor. A row left with fewer than
    `need` certain entries is None (to recompute).
    """
    kept = [(j, s) for j, s in old if j not in dropped]
    merged = [t for t in sorted(kept + fresh, key=lambda t: -t[1]) if t[1] >= floor]
    if len(merged) > depth:
        merged = merged[:depth]
        floor = merged[-1][1]
    if floor > -np.inf and len(merged) < need:
        return None
    return merged, floor


def floor_of(lst: Sequence[tuple[str, float]], depth: int) -> float:
    """A freshly computed list's floor: its last score when it was cut at `depth`."""
    return lst[-1][1] if lst and len(lst) >= depth else -np.inf


def update_lists(
    ids: Sequence[str],
    prepared: Sequence[Part],
    k: int,
    *,
    changed: Iterable[str],
    removed: Iterable[str],
    old: Sequence[Kept],
    stats: RowStats,
    standardise: bool,
    groupings: Sequence[np.ndarray | None],
    depth: int | None = None,
) -> Update:
    """Lists of every grouping after `changed` rows changed and `removed` ones went.

    `old` holds the lists kept last time, up to `depth` (>= k) long, and their
    floors: the entries past k are the reserve a row refills from when it
    loses entries, so that few rows need recomputing. `stats` is aligned to
    `ids` (NaN where unknown); rows of the changed ids are recomputed, so
    theirs may be anything. `groupings` are integer group codes (-1: no group)
    as `similarity.group_codes` makes them. An id without a kept list or
    statistics is recomputed exactly. Only the rows whose lists changed are in
    the result.
    """
    depth = max(k, depth or k)
    index = {e: i for i, e in enumerate(ids)}
    rows = np.asarray(sorted(index[e] for e in set(changed) if e in index), dtype=np.int64)
    dropped = {ids[i] for i in rows} | set(removed)
    kk = min(k, len(ids) - 1)
    deep = min(depth, len(ids) - 1)
    new = [Kept() for _ in groupings]
    if kk <= 0:
        empty = [Kept({e: [] for e in ids}, {e: -np.inf for e in ids}) for _ in groupings]
        return Update(empty, set(ids), set(ids), stats)
    known = known_rows(prepared, stats)
    refresh_norms(prepared, stats, rows)
    cols = np.zeros((len(rows), len(ids)), dtype=np.float32)
    for start in range(0, len(rows), BLOCK):
        block = rows[start : start + BLOCK]
        sims, block_cols = block_rows(prepared, block, stats, standardise, True)
        assert block_cols is not None
        cols[start : start + BLOCK] = block_cols
        for out, code in zip(new, groupings, strict=True):
            _top_rows(out, ids, _masked(sims, block, code), block, deep)
    redo = _merge_columns(ids, rows, cols, known, (depth, deep, kk), dropped, old, groupings, new)
    _recompute(ids, prepared, redo, deep, stats, standardise, groupings, new)
    touched = {e for out in new for e in out.lists}
    for out, before in zip(new, old, strict=True):  # a row is rewritten whole
        for eid in touched - out.lists.keys():
            out.lists[eid] = list(before.lists.get(eid, []))
            out.floors[eid] = before.floors.get(eid, -np.inf)
    return Update(new, touched, {ids[i] for i in rows} | {ids[i] for i in redo}, stats)


def _untouched(
    old: Sequence[tuple[str, float]], floor: float, dropped: set[str], best: float | None
) -> bool:
    """Whether merging would give the row back as it is: it lost nothing, and no new
    score reaches its floor (a row holding every candidate always takes the new ones)."""
    if floor == -np.inf or (best is not None and best >= floor):
        return False
    return all(j not in dropped for j, _s in old)


def _merge_columns(
    ids: Sequence[str],
    rows: np.ndarray,
    cols: np.ndarray,
    known: np.ndarray,
    sizes: tuple[int, int, int],
    dropped: set[str],
    old: Sequence[Kept],
    groupings: Sequence[np.ndarray | None],
    new: list[Kept],
) -> np.ndarray:
    """Every unchanged row's list merged with its new columns; the rows to recompute.

    `sizes`: the depth kept, the depth possible with these many ids, the k needed.
    """
    depth, deep, kk = sizes
    changed = np.zeros(len(ids), dtype=bool)
    changed[rows] = True
    redo = set(np.flatnonzero(~changed & ~known).tolist())
    take = min(deep, len(rows))
    for before, after, code in zip(old, new, groupings, strict=True):
        masked = cols
        if code is not None and len(rows):
            masked = cols.copy()
            mine = code[None, :]
            masked[(mine >= 0) & (code[rows][:, None] == mine)] = -np.inf
        best = np.argpartition(-masked, take - 1, axis=0)[:take] if take else None
        scores = np.take_along_axis(masked, best, axis=0) if best is not None else None
        top = scores.max(axis=0) if scores is not None else None
        names = [ids[int(r)] for r in rows]
        for i in np.flatnonzero(~changed).tolist():
            eid = ids[i]
            if i in redo or eid not in before.lists:
                redo.add(i)
                continue
            floor = before.floors.get(eid, -np.inf)
            if _untouched(before.lists[eid], floor, dropped, None if top is None else top[i]):
                continue
            fresh = []
            if best is not None and scores is not None:
                fresh = [
                    (names[c], s)
                    for c, s in zip(best[:, i].tolist(), scores[:, i].tolist(), strict=True)
                    if math.isfinite(s)
                ]
            merged = _merge(before.lists[eid], floor, dropped, fresh, depth, kk)
            if merged is None:
                redo.add(i)
            elif merged != (list(before.lists[eid]), floor):
                after.lists[eid], after.floors[eid] = merged
    for out in new:  # a redone row is rewritten in every grouping
        for i in redo:
            out.lists.pop(ids[i], None)
    return np.asarray(sorted(redo), dtype=np.int64)


def _recompute(
    ids: Sequence[str],
    prepared: Sequence[Part],
    redo: np.ndarray,
    deep: int,
    stats: RowStats,
    standardise: bool,
    groupings: Sequence[np.ndarray | None],
    new: list[Kept],
) -> None:
    """Rows that could not be merged, exactly against all N (their norms fresh too)."""
    refresh_norms(prepared, stats, redo)
    for start in range(0, len(redo), BLOCK):
        block = redo[start : start + BLOCK]
        sims, _cols = block_rows(prepared, block, stats, standardise, False)
        for out, code in zip(new, groupings, strict=True):
            _top_rows(out, ids, _masked(sims, block, code), block, deep)

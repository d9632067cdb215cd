"""An incremental k-NN update against a full recomputation on the same (changed) data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import sparse

from linernotes.nlp.neighbour_blocks import prepare_parts
from linernotes.nlp.neighbour_update import Kept, floor_of, update_lists
from linernotes.nlp.similarity import RowStats, group_codes, knn_combined_lists

N, K = 80, 10


def _data(seed: int) -> tuple[list[str], np.ndarray, Any, Any, list[str]]:
    """Dense rows, sparse word rows, an entity x name incidence, and an artist per row."""
    rng = np.random.default_rng(seed)
    ids = [f"e{i:03d}" for i in range(N)]
    centres = rng.normal(size=(8, 16))
    dense = centres[np.arange(N) % 8] + 0.7 * rng.normal(size=(N, 16))
    words = sparse.random(N, 200, density=0.05, random_state=seed, format="csr")
    incidence = sparse.random(N, 30, density=0.08, random_state=seed + 1, format="csr")
    incidence.data[:] = 1.0
    artists = [f"a{i % 13}" for i in range(N)]
    return ids, dense.astype(np.float32), words, incidence, artists


def _names(incidence: Any) -> Any:
    sums = np.asarray(incidence.sum(axis=1)).ravel()
    return (sparse.diags(1.0 / np.maximum(sums, 1.0)) @ incidence).tocsr()


def _change(dense: np.ndarray, words: Any, rows: list[int], seed: int) -> tuple[np.ndarray, Any]:
    """The given rows' dense and word vectors replaced (a re-profiled entity)."""
    rng = np.random.default_rng(seed)
    dense = dense.copy()
    dense[rows] = rng.normal(size=(len(rows), dense.shape[1]))
    words = words.tolil()
    fresh = sparse.random(len(rows), words.shape[1], density=0.05, random_state=seed)
    for r, row in zip(rows, fresh.tocsr(), strict=True):
        words[r] = row
    return dense.astype(np.float32), words.tocsr()


def _run(ids, dense, words, incidence, artists, options, stats=None, k=K):  # type: ignore[no-untyped-def]
    parts = [(2.0, dense), (1.0, words), (0.5, incidence)]
    groupings = [None, artists]
    return knn_combined_lists(
        ids, parts, k, names=_names(incidence), groupings=groupings, stats=stats, **options
    )


def _update(ids, dense, words, incidence, artists, options, changed, removed, old, stats):  # type: ignore[no-untyped-def]
    parts = [(2.0, dense), (1.0, words), (0.5, incidence)]
    opts = {k: v for k, v in options.items() if k != "standardise"}
    prepared = prepare_parts(parts, names=_names(incidence), **opts)
    return update_lists(
        ids,
        prepared,
        K,
        changed=changed,
        removed=removed,
        old=[Kept(lists, {e: floor_of(v, 2 * K) for e, v in lists.items()}) for lists in old],
        stats=stats,
        standardise=options.get("standardise", False),
        groupings=[None, group_codes(artists)],
        depth=2 * K,
    )


def _keep(ids: list[str], mats: list[Any], gone: set[int]) -> tuple[list[str], list[Any]]:
    keep = [i for i in range(len(ids)) if i not in gone]
    return [ids[i] for i in keep], [m[keep] for m in mats]


def _aligned(stats: RowStats, keep: list[int]) -> RowStats:
    return RowStats(stats.mean[:, keep], stats.std[:, keep], stats.inv[:, keep])


def _scenario(options: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Full pass on old data, then 6 rows changed and 3 removed: (updated, exact, removed)."""
    ids, dense, words, incidence, artists = _data(3)
    stats = RowStats()
    old = _run(ids, dense, words, incidence, artists, options, stats, k=2 * K)  # with reserve
    changed_rows, gone = [2, 17, 30, 41, 55, 70], {5, 44, 61}
    dense, words = _change(dense, words, changed_rows, seed=9)
    keep = [i for i in range(N) if i not in gone]
    new_ids, (dense, words, incidence) = _keep(ids, [dense, words, incidence], gone)
    artists = [artists[i] for i in keep]
    exact = _run(new_ids, dense, words, incidence, artists, options)
    removed = {ids[i] for i in gone}
    update = _update(
        new_ids,
        dense,
        words,
        incidence,
        artists,
        options,
        [ids[i] for i in changed_rows],
        removed,
        old,
        _aligned(stats, keep),
    )
    merged = []
    for before, after in zip(old, update.lists, strict=True):
        lists = {e: v for e, v in before.items() if e not in removed}
        lists.update(after.lists)
        merged.append(lists)
    return merged, exact, removed, update


def _ids(lists: dict[str, list[tuple[str, float]]]) -> dict[str, list[str]]:
    """The first K of each list (what the table stores)."""
    return {e: [n for n, _s in v[:K]] for e, v in lists.items()}


def test_update_without_row_statistics_equals_a_full_recomputation() -> None:
    """No z-scoring, no walk, no centring: nothing of an unchanged row depends on the others,
    so the merged lists are exactly the full pass's, both groupings, removed ids gone."""
    options = {"standardise": False, "walk": 0.0, "uncentred": [0]}
    merged, exact, removed, update = _scenario(options)
    for got, want in zip(merged, exact, strict=True):
        assert _ids(got) == _ids(want)
        for e, lst in got.items():
            assert [s for _n, s in lst[:K]] == [pytest.approx(s, abs=1e-5) for _n, s in want[e]], e
        assert not removed & {n for lst in got.values() for n, _s in lst}
    # far fewer than all rows were recomputed or rewritten
    assert len(update.recomputed) < N / 2


def test_update_with_zscores_and_walk_stays_close_to_a_full_recomputation() -> None:
    """The default combination's machinery (centring, per-query z-scores, the walk through
    names): unchanged rows keep their last statistics, so the lists drift, a little."""
    options = {"standardise": True, "walk": 0.5, "unwalked": [2]}
    merged, exact, removed, _u = _scenario(options)
    for got, want in zip(merged, exact, strict=True):
        assert got.keys() == want.keys()
        overlap = np.mean([len(set(_ids(got)[e]) & set(_ids(want)[e])) / K for e in want])
        assert overlap >= 0.9
        assert not removed & {n for lst in got.values() for n, _s in lst}


def test_other_artists_list_leaves_out_the_query_artist_after_an_update() -> None:
    options = {"standardise": True, "walk": 0.5, "unwalked": [2]}
    merged, _exact, _removed, _u = _scenario(options)
    artist = {f"e{i:03d}": f"a{i % 13}" for i in range(N)}
    for e, lst in merged[1].items():
        assert lst and all(artist[n] != artist[e] for n, _s in lst)


def test_full_pass_with_statistics_is_unchanged() -> None:
    """Collecting the statistics, or a reserve, changes nothing in the lists a full pass
    returns (the stored table of a full pass is what it was)."""
    ids, dense, words, incidence, artists = _data(4)
    options = {"standardise": True, "walk": 0.5, "unwalked": [2]}
    plain = _run(ids, dense, words, incidence, artists, options)
    stats = RowStats()
    kept = _run(ids, dense, words, incidence, artists, options, stats)
    assert plain == kept
    deep = knn_combined_lists(
        ids, [(2.0, dense), (1.0, words), (0.5, incidence)], K, names=_names(incidence),
        groupings=[None, artists], reserve=K, **options,
    )  # fmt: skip
    for short, long in zip(plain, deep, strict=True):  # the reserve only appends
        assert {e: v[:K] for e, v in long.items()} == short
        assert all(len(v) == 2 * K or len(v) == len(short[e]) for e, v in long.items())
    assert stats.mean.shape == (3, N) and np.isfinite(stats.inv[1]).all()
    assert np.isnan(stats.inv[0]).all()  # dense parts have no walked norm


def test_walked_blocks_kept_from_the_norm_pass_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The norm pass hands each walked block to the cosine pass (budget allowing): the
    update is the one computed with no budget at all, and nothing stays held after it."""
    from linernotes.nlp import neighbour_blocks

    options = {"standardise": True, "walk": 0.5, "unwalked": [2]}
    prepared: list[Any] = []
    real = neighbour_blocks.prepare_parts

    def spy(*args: Any, **kwargs: Any) -> Any:
        prepared[:] = real(*args, **kwargs)
        return prepared

    monkeypatch.setitem(globals(), "prepare_parts", spy)
    cached = _scenario(options)[3]
    walked = [p for p in prepared if p.names is not None]
    assert walked and all(p.budget.hits > 0 for p in walked)
    assert all(not p.kept and p.budget.left == neighbour_blocks.WALK_CACHE_BYTES for p in walked)
    monkeypatch.setattr(neighbour_blocks, "WALK_CACHE_BYTES", 0)
    uncached = _scenario(options)[3]
    assert all(p.budget.hits == 0 for p in prepared if p.names is not None)
    for a, b in zip(cached.lists, uncached.lists, strict=True):
        assert a.lists == b.lists and a.floors == b.floors
    assert cached.touched == uncached.touched

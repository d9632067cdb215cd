"""storage.chunks: bounded pieces for IN lists, by kind for (kind, id) keys."""

from __future__ import annotations

import pytest

from linernotes.storage.chunks import chunked, chunked_by_kind


def test_chunked_bounds_every_piece() -> None:
    assert [list(c) for c in chunked([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
    assert list(chunked([], 3)) == []
    with pytest.raises(ValueError, match="positive"):
        list(chunked([1], 0))


def test_chunked_by_kind_groups_sorts_and_bounds() -> None:
    keys = {("track", "t3"), ("artist", "a1"), ("track", "t1"), ("track", "t2")}
    pieces = [(kind, list(ids)) for kind, ids in chunked_by_kind(keys, 2)]
    assert pieces == [("artist", ["a1"]), ("track", ["t1", "t2"]), ("track", ["t3"])]
    assert list(chunked_by_kind([])) == []

"""One way to cut a long list of ids or rows into bounded pieces.

Why: SQL `IN (...)` lists and executemany batches must stay under the
backends' parameter limits (SQLite's default is 32766 host parameters, and a
huge statement costs compile time everywhere). `itertools.batched` would do,
but it needs Python 3.12 and the project supports 3.11.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_LIST = 500  # ids per `IN (...)` list: far under every backend's parameter limit


def chunked(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """Consecutive slices of `items`, each at most `size` long (none for an empty input)."""
    if size < 1:
        raise ValueError(f"chunk size must be positive, not {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def chunked_by_kind(
    keys: Iterable[tuple[str, str]], size: int = IN_LIST
) -> Iterator[tuple[str, Sequence[str]]]:
    """(kind, ids) pieces of (kind, id) keys, so a query reads `kind = ? AND id IN (...)`.

    Why not `(kind, id) IN ((?, ?), ...)`: SQLite cannot search an index with
    row values and scans the whole table once per piece (~50 scans of a
    260k-row table in a 10,000-page run); one kind and a list of ids searches
    the primary key on every backend.
    """
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, eid in keys:
        by_kind[kind].append(eid)
    for kind, ids in sorted(by_kind.items()):
        for chunk in chunked(sorted(ids), size):
            yield kind, chunk

"""One way to cut a long list of ids or rows into bounded pieces.

Why: SQL `IN (...)` lists and executemany batches must stay under the
backends' parameter limits (SQLite's default is 32766 host parameters, and a
huge statement costs compile time everywhere). `itertools.batched` would do,
but it needs Python 3.12 and the project supports 3.11.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_LIST = 500  # ids per `IN (...)` list: far under every backend's parameter limit


def chunked(items: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """Consecutive slices of `items`, each at most `size` long (none for an empty input)."""
    if size < 1:
        raise ValueError(f"chunk size must be positive, not {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]

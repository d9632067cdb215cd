"""Progress bars that only appear for a person watching a terminal.

Under cron, systemd or CI, stderr is a file or a pipe, and tqdm's carriage-return
redraws would fill the logs with thousands of partial lines; there the bar is
off and the stage's log lines say what happened. tqdm is light, but it is still
imported on first use so `linernotes --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_enabled() -> bool:
    """True when stderr is an interactive terminal."""
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def progress(iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
    """Iterate over `iterable` with a tqdm bar on stderr, or silently when not a TTY."""
    from tqdm import tqdm

    yield from tqdm(
        iterable,
        total=total,
        desc=desc or None,
        disable=not progress_enabled(),
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
    )

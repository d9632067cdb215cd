"""A live "pages so far" line while a crawl runs, for a person watching a terminal.

Scrapy runs the crawl in this process and blocks; a small thread reads the
database once a second (documents fetched and frontier entries finished since
the start) and redraws one stderr line. Off when stderr is not a terminal, so
cron and CI logs stay clean.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select

from linernotes.storage import Store
from linernotes.storage.models import CrawlFrontier, Document

NOTICE = (
    "crawling politely: robots.txt obeyed and about one request per second per host, "
    "so a site of a few hundred pages takes minutes"
)


def progress_enabled() -> bool:
    """True when stderr is an interactive terminal (never under cron or CI)."""
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def pages_since(store: Store, started: datetime) -> tuple[int, int]:
    """(documents fetched, frontier URLs finished) since `started`."""
    with store.session() as session:
        fetched = session.execute(
            select(func.count()).select_from(Document).where(Document.fetched_at >= started)
        ).scalar()
        done = session.execute(
            select(func.count()).select_from(CrawlFrontier).where(CrawlFrontier.done_at >= started)
        ).scalar()
    return int(fetched or 0), int(done or 0)


@contextmanager
def crawl_progress(store: Store, interval: float = 1.0) -> Iterator[None]:
    """Show the crawl's progress on stderr while the block runs (terminals only)."""
    if not progress_enabled():
        yield
        return
    print(NOTICE, file=sys.stderr, flush=True)
    started = datetime.now(UTC)
    stop = threading.Event()

    def draw() -> None:
        while not stop.wait(interval):
            try:
                fetched, done = pages_since(store, started)
            except Exception:  # a busy database must never break the crawl
                continue
            seconds = int((datetime.now(UTC) - started).total_seconds())
            sys.stderr.write(f"\r  {seconds:>4} s: {fetched} pages stored, {done} URLs done ")
            sys.stderr.flush()

    thread = threading.Thread(target=draw, name="crawl-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2 * interval)
        sys.stderr.write("\n")
        sys.stderr.flush()

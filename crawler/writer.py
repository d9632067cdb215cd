"""The run's writes off the reactor: one thread archives responses and commits batches, in order.

Why: a 100-document batch commit is tens of milliseconds of SQLAlchemy and
SQLite, and a gzipped WARC record about a millisecond per response. Done in
Scrapy's reactor thread, each write delays every response waiting to be read,
and AutoThrottle takes the delay for a slow server and lengthens its download
delays. One writer thread takes both off the reactor.

One thread, first in first out: a page's archive record is queued when its
response arrives, its document batch later, so a batch never commits before
the archive records of its pages are written; batches commit in the order
they were filled, each in its own transaction as before (a SIGKILL loses
at most the batches still queued, whose pages stay pending in the frontier and
are fetched again by the next run). The queue is bounded: when the writer
falls behind, the reactor waits instead of holding every body in memory.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("linernotes.crawl")
QUEUE_SIZE = 256
SWITCH_INTERVAL = 0.001  # seconds; Python's default is 0.005


@contextmanager
def reactor_first() -> Iterator[None]:
    """Hand the GIL between threads every millisecond (not every 5) while the crawl runs.

    Why: each socket call of the reactor releases the GIL, and while the writer
    thread (or the extraction pool's feeder thread) is busy in Python the reactor then
    waits a whole switch interval to get it back: a profile of a 1,000-page crawl
    showed about 4 ms lost on every pipe write and socket send. A shorter interval
    bounds that wait; on the 1,000-post bench corpus the crawl ran 11-22% faster.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class Writer:
    """Runs submitted writes one at a time in a thread of its own."""

    def __init__(self, size: int = QUEUE_SIZE) -> None:
        self._queue: queue.Queue[tuple[Callable[[], Any], Future[Any], str] | None] = queue.Queue(
            size
        )
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="linernotes-writer", daemon=True)
        self._thread.start()

    def submit(self, what: str, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue `fn(*args)`; a failure is logged naming `what` (and set on the future)."""
        future: Future[Any] = Future()
        if self._closed or not self._thread.is_alive():
            _call(lambda: fn(*args), future, what)  # no writer any more: write in this thread
            return future
        self._queue.put((lambda: fn(*args), future, what))
        return future

    def drain(self) -> None:
        """Wait until everything queued so far is written."""
        self.submit("drain", _noop).result()

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            fn, future, what = job
            _call(fn, future, what)


def _call(fn: Callable[[], Any], future: Future[Any], what: str) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(fn())
    except BaseException as exc:  # the writer must outlive one bad write
        log.error("could not write %s: %s", what, exc)
        future.set_exception(exc)


def _noop() -> None:
    return None

"""Page extraction off the reactor: worker processes build document records while Scrapy fetches.

Why: extracting a page (trafilatura, JSON-LD, dates, language, hashes) is a few
milliseconds of pure Python per page. Run in Scrapy's reactor thread, it both
stalls the downloads and inflates the latencies AutoThrottle measures (a
response that waits for the busy reactor looks like a slow server), so the
throttle slows the crawl further. A small pool of forked workers runs
`records.build_record` on the other core(s) while the reactor keeps fetching.

The workers are forked when the run starts, before the reactor has any
threads; each watches its parent and exits when the crawl process is gone
(a SIGKILLed crawl leaves no orphans). A dead worker does not lose a page:
the run carries on extracting in its own thread. `extract_workers = 0` in
`[crawler]` (or a non-asyncio reactor) extracts in-process, as before.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger("linernotes.crawl")
T = TypeVar("T")
PARENT_CHECK_SECONDS = 1.0


def default_workers() -> int:
    """One worker when there is a second core to run it on, else none (in-process)."""
    return 1 if (os.cpu_count() or 1) >= 2 else 0


class Offload:
    """Runs a picklable function in worker processes, awaited from a Scrapy callback."""

    def __init__(self, workers: int) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._workers = 0
        if workers <= 0 or sys.platform == "win32":
            return
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
        )
        try:
            pool.submit(int).result(timeout=30)  # fork every worker now, while single-threaded
        except Exception as exc:
            log.warning("extraction stays in-process: no worker process (%s)", exc)
            pool.shutdown(wait=False, cancel_futures=True)
            return
        self._pool, self._workers = pool, workers

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers (for diagnostics and tests)."""
        pool = self._pool
        return [] if pool is None else sorted(getattr(pool, "_processes", None) or {})

    @property
    def workers(self) -> int:
        """Worker processes extracting now (0: extraction runs in the crawl process)."""
        return 0 if self._pool is None else self._workers

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker (in this thread when there is none or it died)."""
        pool = self._pool
        if pool is not None and _in_asyncio_loop():
            try:
                return await asyncio.wrap_future(pool.submit(fn, *args))
            except BrokenProcessPool:
                if self._pool is pool:
                    log.warning("an extraction worker died: extracting in-process from now on")
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
        return fn(*args)

    def close(self) -> None:
        """Stop the workers; pages still queued for them are left to the next run."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _in_asyncio_loop() -> bool:
    """True under Scrapy's asyncio reactor; another reactor has no loop to await a future in."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _worker_init(parent: int) -> None:
    """In the worker: signals belong to the crawl process; leave when it is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the crawl's inherited handler
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    """Exit once the crawl process is gone (a SIGKILL gives the pool no chance to stop us)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)

"""SIGTERM and Ctrl-C stop a crawl within seconds, saving what it has.

Scrapy's own handlers stop gracefully: they wait for every request the
downloader holds, including those waiting out a politeness delay, so a long
`delay` kept a terminated crawl alive for as long (forever with `inf`), and
the reactor's shutdown waits on the same stop. Here the first signal saves
the pipelines' buffered pages at once (each batch commits its documents with
their frontier changes, see crawler/pipelines.py), asks Scrapy to stop
gracefully, and crashes the reactor if that has not finished `GRACE_SECONDS`
later; a second signal crashes it at once. Requests still queued stay pending
in the frontier, so the next run fetches them: the same guarantee as after a
SIGKILL, without the lost batch.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

GRACE_SECONDS = 5.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)
log = logging.getLogger("linernotes.crawl")


@dataclass
class StopState:
    """What the handlers did: `signalled` tells the runner to record an interrupted run.

    The handlers are installed before Scrapy's process exists (the run is
    recorded first); a signal then only sets `signalled` and the runner does
    not start the crawl. `process` is set once it exists.
    """

    process: Any = None
    signalled: bool = False
    crashed: bool = False


@contextmanager
def stop_on_signals() -> Iterator[StopState]:
    """Install the handlers; run Scrapy with `process.start(install_signal_handlers=False)`."""
    state = StopState()

    def handler(signum: int, _frame: Any) -> None:
        first = not state.signalled
        state.signalled = True
        if state.process is None:
            return  # not crawling yet (and importing the reactor now would pick the wrong one)
        _reactor().callFromThread(_stop, state.process, state, first)

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        if state.crashed:  # its worker threads would keep the interpreter from exiting
            _reactor().getThreadPool().stop()


def _stop(process: Any, state: StopState, first: bool) -> None:
    """Runs in the reactor thread: save buffers, then stop (gracefully once, then hard)."""
    save_buffers(process)
    if first:
        log.warning("stopping the crawl (signal again to stop at once)")
        process.stop()
        _reactor().callLater(GRACE_SECONDS, _crash, process, state)
    else:
        _crash(process, state)


def _crash(process: Any, state: StopState) -> None:
    """Leave the reactor now, skipping shutdown triggers that wait on the downloader."""
    reactor = _reactor()
    if not reactor.running:
        return
    save_buffers(process)
    state.crashed = True
    reactor.crash()


def _reactor() -> Any:
    """The running Twisted reactor, imported only once Scrapy has installed it."""
    from twisted.internet import reactor

    return reactor


def save_buffers(process: Any) -> None:
    """Flush every storage pipeline of every crawler of the process."""
    for crawler in list(getattr(process, "crawlers", ())):
        engine = getattr(crawler, "engine", None)
        scraper = getattr(engine, "scraper", None)
        manager = getattr(scraper, "itemproc", None)
        for component in getattr(manager, "middlewares", ()):
            flush = getattr(component, "flush", None)
            if callable(flush):
                try:
                    flush()
                except Exception as exc:  # one failing source must not keep the others unsaved
                    log.error("could not save buffered pages: %s", exc)

"""Page extraction off the reactor: worker processes build document records while Scrapy fetches.

Why: extracting a page (trafilatura, JSON-LD, dates, language, hashes) is a few
milliseconds of pure Python per page. Run in Scrapy's reactor thread, it both
stalls the downloads and inflates the latencies AutoThrottle measures (a
response that waits for the busy reactor looks like a slow server), so the
throttle slows the crawl further. A small pool of forked workers runs
`records.build_page` on the other core(s) while the reactor keeps fetching.

Why pipes read by the event loop, not a `ProcessPoolExecutor`: the executor
hands every job through two helper threads (its manager and its queue feeder)
and wakes the manager with a pipe write per submit. Each hand-over is a GIL
switch, and the reactor waited for the GIL back after every one: a profile of
a 10,000-page crawl spent 21 s of the reactor's time in that wake-up write
alone. Here the reactor writes each pickled job straight into a worker's pipe
(non-blocking; what does not fit waits for the loop to say the pipe is
writable) and reads the answers as the loop reports them: no thread at all.

The workers are forked when the run starts, before the reactor has any
threads; each watches its parent and exits when the crawl process is gone
(a SIGKILLed crawl leaves no orphans). A dead worker does not lose a page:
the run carries on extracting in its own thread. `extract_workers = 0` in
`[crawler]` (or a non-asyncio reactor) extracts in-process, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("linernotes.crawl")
T = TypeVar("T")
PARENT_CHECK_SECONDS = 1.0
START_SECONDS = 30.0
_HEADER = struct.Struct("!Q")  # the length of each pickled frame
READ_SIZE = 1 << 16  # a pipe's capacity: larger reads only allocate more


def default_workers() -> int:
    """One worker when there is a second core to run it on, else none (in-process)."""
    return 1 if (os.cpu_count() or 1) >= 2 else 0


class WorkerDied(Exception):
    """A worker process exited with jobs of ours still in it."""


class _Worker:
    """One forked worker: jobs go down one pipe, answers come back up another."""

    pid: int
    jobs: int  # the write end of the job pipe
    answers: int  # the read end of the answer pipe

    def __init__(self, parent: int, siblings: list[_Worker]) -> None:
        jobs_r, jobs_w = os.pipe()
        answers_r, answers_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            # only the parent may hold a sibling's job pipe open, or the sibling sees no EOF
            for fd in [jobs_w, answers_r, *(f for w in siblings for f in (w.jobs, w.answers))]:
                os.close(fd)
            _serve(jobs_r, answers_w, parent)
        os.close(jobs_r)
        os.close(answers_w)
        self.pid, self.jobs, self.answers = pid, jobs_w, answers_r
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.outgoing = bytearray()
        self.incoming = bytearray()

    def start(self) -> None:
        """Send one job and wait for its answer: the worker is forked and answering."""
        _write_all(self.jobs, _frame((0, int, ())))
        deadline = time.monotonic() + START_SECONDS
        data = bytearray()
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.answers], [], [], left)[0]:
                raise TimeoutError("no answer from the worker")
            chunk = os.read(self.answers, 1 << 16)
            if not chunk:
                raise WorkerDied("the worker exited at start")
            data += chunk
            if _frames(data):
                os.set_blocking(self.jobs, False)
                os.set_blocking(self.answers, False)
                return

    def close(self) -> None:
        """Close the job pipe (the worker exits at its end), then reap it."""
        for fd in (self.jobs, self.answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.01)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


class Offload:
    """Runs a picklable function in worker processes, awaited from a Scrapy callback."""

    def __init__(self, workers: int) -> None:
        self._workers: list[_Worker] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next_id = 1
        if workers <= 0 or sys.platform == "win32":
            return
        started: list[_Worker] = []
        try:
            for _ in range(workers):  # all forked now, while the process is single-threaded
                started.append(_Worker(os.getpid(), started))
            for worker in started:
                worker.start()
        except Exception as exc:
            log.warning("extraction stays in-process: no worker process (%s)", exc)
            for worker in started:
                worker.close()
            return
        self._workers = started

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers (for diagnostics and tests)."""
        return sorted(w.pid for w in self._workers)

    @property
    def workers(self) -> int:
        """Worker processes extracting now (0: extraction runs in the crawl process)."""
        return len(self._workers)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker (in this thread when there is none or it died)."""
        if self._workers and _in_asyncio_loop():
            try:
                return await self._submit(fn, args)
            except WorkerDied:
                if self._workers:
                    log.warning("an extraction worker died: extracting in-process from now on")
                    self.close()
        return fn(*args)

    def close(self) -> None:
        """Stop the workers; pages still queued for them are left to the next run."""
        workers, self._workers = self._workers, []
        for worker in workers:
            self._forget(worker)
            worker.close()

    # --- the parent's side, driven by the event loop --------------------------------------

    def _submit(self, fn: Callable[..., T], args: tuple[Any, ...]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._attach(loop)
        worker = min(self._workers, key=lambda w: len(w.pending))
        job = self._next_id
        self._next_id += 1
        future: asyncio.Future[T] = loop.create_future()
        worker.pending[job] = future
        worker.outgoing += _frame((job, fn, args))
        self._flush(worker)
        return future

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch the answer pipes from this loop (tests run one loop after another)."""
        for worker in self._workers:
            self._forget(worker)
            loop.add_reader(worker.answers, self._read, worker)
        self._loop = loop

    def _forget(self, worker: _Worker) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.remove_reader(worker.answers)
            loop.remove_writer(worker.jobs)
        for future in worker.pending.values():
            if not future.done() and not future.get_loop().is_closed():
                future.set_exception(WorkerDied(f"worker {worker.pid} exited"))
        worker.pending.clear()

    def _flush(self, worker: _Worker) -> None:
        """Write what the pipe takes now; the loop calls again when it takes more."""
        try:
            sent = os.write(worker.jobs, worker.outgoing) if worker.outgoing else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            self._died(worker)
            return
        del worker.outgoing[:sent]
        assert self._loop is not None
        if worker.outgoing:
            self._loop.add_writer(worker.jobs, self._flush, worker)
        else:
            self._loop.remove_writer(worker.jobs)

    def _read(self, worker: _Worker) -> None:
        try:
            chunk = os.read(worker.answers, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._died(worker)
            return
        worker.incoming += chunk
        for job, ok, value in _frames(worker.incoming):
            future = worker.pending.pop(job, None)
            if future is None or future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _died(self, worker: _Worker) -> None:
        """Fail the worker's jobs (each falls back to in-process) and stop offloading."""
        if worker in self._workers:
            log.warning("an extraction worker died: extracting in-process from now on")
            self.close()


def _frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _frames(buffer: bytearray) -> list[Any]:
    """The complete messages at the start of `buffer`, removed from it."""
    out = []
    while len(buffer) >= _HEADER.size:
        (size,) = _HEADER.unpack_from(buffer)
        end = _HEADER.size + size
        if len(buffer) < end:
            break
        out.append(pickle.loads(bytes(buffer[_HEADER.size : end])))
        del buffer[:end]
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _in_asyncio_loop() -> bool:
    """True under Scrapy's asyncio reactor; another reactor has no loop to await a future in."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _serve(jobs: int, answers: int, parent: int) -> None:  # pragma: no cover - in the child
    """The worker: run each job, answer (job id, ok, result or exception); exit at EOF."""
    _worker_init(parent)
    code = 0
    try:
        while True:
            header = _read_exactly(jobs, _HEADER.size)
            if header is None:
                break
            data = _read_exactly(jobs, _HEADER.unpack(header)[0])
            if data is None:
                break
            job, fn, args = pickle.loads(data)
            try:
                answer = _frame((job, True, fn(*args)))
            except BaseException as exc:  # the parent re-raises it in the awaiting callback
                answer = _frame((job, False, exc))
            _write_all(answers, answer)
    except BaseException:
        code = 1
    os._exit(code)


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

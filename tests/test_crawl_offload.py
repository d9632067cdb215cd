"""Extraction off the reactor (crawler/offload.py): worker processes, and losing one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linernotes.crawler.offload import Offload

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="workers are forked")


def die_in_a_worker(parent: int) -> str:
    """Kills the worker it runs in; in the parent it answers."""
    if os.getpid() != parent:
        os._exit(3)
    return "in-process"


def test_work_runs_in_a_worker_process() -> None:
    offload = Offload(1)
    try:
        assert offload.workers == 1 and len(offload.pids) == 1
        pid = asyncio.run(offload.run(os.getpid))
        assert pid == offload.pids[0] and pid != os.getpid()
    finally:
        offload.close()
    assert offload.workers == 0


def test_a_dead_worker_loses_nothing_and_the_run_goes_on_in_process() -> None:
    offload = Offload(1)
    try:
        assert asyncio.run(offload.run(die_in_a_worker, os.getpid())) == "in-process"
        assert offload.workers == 0  # no more submissions to a broken pool
        assert asyncio.run(offload.run(os.getpid)) == os.getpid()
    finally:
        offload.close()


def test_zero_workers_or_no_asyncio_loop_extract_in_process() -> None:
    assert asyncio.run(Offload(0).run(os.getpid)) == os.getpid()
    offload = Offload(1)
    try:
        # a Twisted reactor other than asyncio drives the coroutine without an event loop
        with pytest.raises(StopIteration) as done:
            offload.run(os.getpid).send(None)
        assert done.value.value == os.getpid()
    finally:
        offload.close()


CHILD = """
import sys, time
from linernotes.crawler.offload import Offload
offload = Offload(2)
print(*offload.pids, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie left for a reaper that never comes counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_exit_when_the_crawl_process_is_killed() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None
        pids = [int(p) for p in child.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids)
    finally:
        child.send_signal(signal.SIGKILL)  # no chance to shut the pool down
        child.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids)

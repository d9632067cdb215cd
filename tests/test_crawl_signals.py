"""SIGTERM stops a real crawl (a child process against tests/mockserver.py) within
seconds, whatever the politeness delay, saves what it has and records the run as
interrupted; the next run finishes the job without fetching a page twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from linernotes.storage import Store, open_store
from linernotes.storage.models import CrawlRun, Document
from tests.mockserver import MockSite, blog_sources, run_cli

HANG = 90  # seconds: far beyond the grace period; reaching it means the crawl hung


def _big_sources(site: MockSite, path: Path, delay: float, batch_size: int) -> Path:
    head = blog_sources(site, batch_size=batch_size).split("[[source]]")[0]
    head = head.replace("delay = 0\n", f"delay = {delay}\n")
    path.write_text(
        head + f'[[source]]\nname = "big"\nstart_urls = ["{site.url}/big/"]\n'
        'follow = [":\\\\d+/big/$"]\nallow_private_addresses = true\n'
    )
    return path


def _start(db: str, sources: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "linernotes", "--db", db, "crawl", "--sources", str(sources)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _wait_for_hits(site: MockSite, n: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while sum(site.hits.values()) < n:
        assert proc.poll() is None and time.monotonic() < deadline, "the crawl did not start"
        time.sleep(0.05)


def _wait_for_run(db: str, proc: subprocess.Popen[bytes]) -> None:
    store = open_store(db)
    deadline = time.monotonic() + 60
    try:
        while True:
            with store.session() as s:
                if s.scalars(select(CrawlRun)).first() is not None:
                    return
            assert proc.poll() is None and time.monotonic() < deadline, "the crawl did not start"
            time.sleep(0.05)
    finally:
        store.close()


def _last_run(store: Store) -> CrawlRun:
    with store.session() as s:
        run = s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None
        return run


def _stored(store: Store) -> set[str]:
    with store.session() as s:
        return set(s.scalars(select(Document.canonical_url)))


def test_sigterm_stops_a_crawl_waiting_out_a_long_delay(tmp_path: Path) -> None:
    with MockSite() as site:
        sources = _big_sources(site, tmp_path / "slow.toml", delay=3600, batch_size=5)
        db = f"sqlite:///{tmp_path / 'slow.db'}"
        open_store(db).close()
        proc = _start(db, sources)
        try:
            _wait_for_run(db, proc)  # the handlers are in place once the run is recorded
            time.sleep(3)  # let Scrapy start and queue its first request behind the delay
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=HANG)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 1, err
        assert b"interrupted" in out
        store = open_store(db)
        try:
            assert _last_run(store).status == "interrupted"
        finally:
            store.close()


def test_sigterm_saves_buffered_pages_and_the_next_run_resumes(tmp_path: Path) -> None:
    with MockSite(big_pages=30, big_delay=0.2) as site:
        # one batch would hold every page: only the signal handler saves them early
        sources = _big_sources(site, tmp_path / "big.toml", delay=0, batch_size=1000)
        db = f"sqlite:///{tmp_path / 'big.db'}"
        open_store(db).close()
        proc = _start(db, sources)
        try:
            _wait_for_hits(site, 8, proc)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=HANG)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 1, err
        store = open_store(db)
        try:
            assert _last_run(store).status == "interrupted"
            before = _stored(store)
            assert before, "pages fetched before the signal were not saved"
            hits_before = dict(site.hits)
            result = run_cli(db, "crawl", "--sources", str(sources))
            assert result.returncode == 0, result.stderr
            assert len(_stored(store)) == 30 and before <= _stored(store)
            for url in before:
                path = "/" + url.split("/", 3)[3]
                assert site.hits[path] == hits_before[path], f"{path} fetched twice"
        finally:
            store.close()

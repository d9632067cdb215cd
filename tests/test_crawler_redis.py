"""A frontier shared through Redis: two crawler processes, one queue, no URL fetched twice.

The end-to-end tests start their own `redis-server` (Debian package) on a free port
and skip when it is not installed, except under CI (`CI` set), which installs it.
The codec, fingerprint and config tests need no server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from linernotes.crawler.sources import load_sources
from linernotes.storage import open_store
from linernotes.storage.models import CrawlLock, CrawlRun, Document
from tests.mockserver import MockSite

PAGES = 40


# --- no server needed ------------------------------------------------------------------


def test_requests_survive_the_json_codec() -> None:
    import scrapy
    from scrapy import Request
    from scrapy.utils.request import request_from_dict

    from linernotes.crawler.distributed import JsonRequestCodec

    class Spider(scrapy.Spider):
        name = "codec"

        def parse_page(self, response: Any) -> None: ...

        def on_error(self, failure: Any) -> None: ...

    spider = Spider()
    request = Request(
        "http://example.org/a.html",
        callback=spider.parse_page,
        errback=spider.on_error,
        headers={"If-None-Match": '"abc"'},
        priority=-2,
        meta={"ln_kind": "page", "ln_depth": 2, "redirect_urls": ["http://x/"]},
    )
    data = JsonRequestCodec.dumps(request.to_dict(spider=spider))
    assert isinstance(data, str) and "pickle" not in data
    back = request_from_dict(JsonRequestCodec.loads(data), spider=spider)
    assert back.url == request.url and back.priority == -2
    assert back.callback == spider.parse_page and back.errback == spider.on_error
    assert back.headers.get("If-None-Match") == b'"abc"'
    assert back.meta["ln_depth"] == 2 and back.meta["redirect_urls"] == ["http://x/"]


def test_fingerprint_is_of_the_canonical_url() -> None:
    from scrapy import Request

    from linernotes.crawler.distributed import CanonicalDupeFilter

    df = CanonicalDupeFilter(server=None, key="k")
    plain = df.request_fingerprint(Request("http://example.org/post.html"))
    tracked = df.request_fingerprint(
        Request("http://EXAMPLE.org/post.html?utm_source=home#comments")
    )
    assert plain == tracked
    assert plain != df.request_fingerprint(Request("http://example.org/other.html"))


def test_redis_url_is_opt_in_and_its_password_stays_out_of_locks(tmp_path: Path) -> None:
    from linernotes.crawler.distributed import SharedKeys, lock_owner

    path = tmp_path / "s.toml"
    source = '[[source]]\nname = "a"\nstart_urls = ["https://x.org/"]\n'
    path.write_text(source)
    assert load_sources(path).crawler.redis_url is None
    path.write_text('[crawler]\nredis_url = "redis://127.0.0.1:6379/0"\n' + source)
    assert load_sources(path).crawler.redis_url == "redis://127.0.0.1:6379/0"
    assert (
        lock_owner("redis://u:secret@db.example:6380/1") == "redis:redis://u:***@db.example:6380/1"
    )
    assert SharedKeys.of("blog").requests == "linernotes:blog:requests"
    assert SharedKeys.of("blog").dupefilter == "linernotes:blog:dupefilter"


# --- a real redis-server ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1 (no persistence), stopped at the end."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed, but CI installs it (make setup-services)")
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    import redis

    port, workdir = _free_port(), tmp_path_factory.mktemp("redis")
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        [*cmd, "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "redis-server did not answer PING"
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _sources(site: MockSite, path: Path) -> Path:
    """The 40-page archive; `/big/p-0.html` is a seed and a link (it must be fetched once)."""
    path.write_text(
        "[crawler]\ndelay = 0\ntimeout = 5\nredis_max_idle = 2\nbatch_size = 3\n"
        'contact = "https://example.org/linernotes-tests"\n\n'
        f'[[source]]\nname = "big"\nstart_urls = ["{site.url}/big/", "{site.url}/big/p-0.html"]\n'
        'follow = [":\\\\d+/big/$"]\nallow_private_addresses = true\n'
    )
    return path


def _workers(db: str, sources: Path, redis_url: str, n: int) -> list[tuple[int, str, str]]:
    """Start `n` `linernotes crawl --redis` processes at once; (returncode, stdout, stderr)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "linernotes", "--db", db, "crawl", "--sources", str(sources)]
    procs = [
        subprocess.Popen(
            [*cmd, "--redis", redis_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(n)
    ]
    out = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=90)
            out.append((proc.returncode, stdout, stderr))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return out


def test_two_workers_share_one_frontier_and_fetch_nothing_twice(
    redis_url: str, tmp_path: Path
) -> None:
    import redis

    with MockSite(big_pages=PAGES, big_delay=0.1) as site:
        sources = _sources(site, tmp_path / "big.toml")
        db = f"sqlite:///{tmp_path / 'shared.db'}"
        open_store(db).close()  # the shared store exists before its workers start
        results = _workers(db, sources, redis_url, 2)
        for code, stdout, stderr in results:
            assert code == 0, stderr
            assert "crawl run" in stdout
        pages = {f"/big/p-{i}.html" for i in range(PAGES)}
        assert {p for p in site.hits if p.startswith("/big/p-")} == pages
        twice = {p: n for p, n in site.hits.items() if n > 1 and p != "/robots.txt"}
        assert twice == {}, f"fetched more than once: {twice}"
        assert site.hits["/robots.txt"] <= 2  # at most once per worker

        store = open_store(db)
        try:
            with store.session() as s:
                per_run = dict(
                    s.execute(
                        select(Document.crawl_run_id, func.count())
                        .where(Document.canonical_url.like("%/big/p-%"))
                        .group_by(Document.crawl_run_id)
                    ).all()
                )
                runs = s.scalars(select(CrawlRun)).all()
                stored = s.scalar(select(func.count()).select_from(Document))
                locks = s.scalar(select(func.count()).select_from(CrawlLock))
            assert stored == PAGES  # every page stored once (the index is a hub)
            assert len(runs) == 2 and all(r.status == "finished" for r in runs)
            assert len(per_run) == 2, f"one worker did everything: {per_run}"
            assert sum(per_run.values()) == PAGES
            fetched = [r.stats["sources"]["big"]["fetched"] for r in runs]
            print(f"pages stored per worker run: {per_run}; responses per worker: {fetched}")
            assert locks == 0  # the last worker out released the shared lock
        finally:
            store.close()

        client = redis.Redis.from_url(redis_url)
        assert client.keys("linernotes:big:*") == []  # finished: queue, dupefilter, workers gone

        # the next crawl starts afresh: seeds fetched again, fresh pages not; what a
        # killed crawl left behind (a dead worker, its fingerprints) does not block it
        from scrapy import Request

        from linernotes.crawler.distributed import CanonicalDupeFilter, SharedKeys

        keys = SharedKeys.of("big")
        client.zadd(keys.workers, {"deadhost:1": time.time() - 3600})
        seed = CanonicalDupeFilter(None, "k").request_fingerprint(Request(f"{site.url}/big/"))
        client.sadd(keys.dupefilter, seed)
        again = _workers(db, sources, redis_url, 1)
        assert again[0][0] == 0, again[0][2]
        assert site.hits["/big/"] == 2 and site.hits["/big/p-0.html"] == 2
        assert site.hits["/big/p-1.html"] == 1


def test_unreachable_redis_is_one_clear_error(tmp_path: Path) -> None:
    with MockSite(big_pages=1) as site:
        sources = _sources(site, tmp_path / "big.toml")
        db = f"sqlite:///{tmp_path / 'x.db'}"
        ((code, _, stderr),) = _workers(db, sources, f"redis://127.0.0.1:{_free_port()}/0", 1)
        assert code == 1 and "cannot reach Redis" in stderr and "Traceback" not in stderr
        assert sum(site.hits.values()) == 0


def test_max_pages_is_one_budget_for_all_workers(redis_url: str) -> None:
    """Two workers' budgets on one Redis: together they schedule at most the limit."""
    import redis

    from linernotes.crawler.distributed import SharedKeys, SharedPageBudget

    client = redis.Redis.from_url(redis_url)
    first, second = (SharedPageBudget(client, "budget", 3) for _ in range(2))
    assert first.take("http://x/seed", force=True) and first.take("http://x/a")
    assert second.take("http://x/b")
    assert not second.take("http://x/c") and not first.take("http://x/d")  # 3 scheduled
    assert first.take("http://x/b")  # already scheduled by the other: the dupefilter drops it
    assert second.take("http://x/e", force=True)  # seeds are always fetched
    assert client.scard(SharedKeys.of("budget").pages) == 4
    client.delete(SharedKeys.of("budget").pages)


def test_max_pages_holds_for_a_shared_crawl(redis_url: str, tmp_path: Path) -> None:
    """Links on every page (a chained archive): the crawl stops at max_pages, keys cleaned."""
    import redis

    limit = 12
    with MockSite(big_pages=PAGES, big_delay=0.05, big_chain=True) as site:
        sources = _sources(site, tmp_path / "big.toml")
        sources.write_text(sources.read_text() + f"max_pages = {limit}\n")
        db = f"sqlite:///{tmp_path / 'shared.db'}"
        open_store(db).close()
        for code, _stdout, stderr in _workers(db, sources, redis_url, 2):
            assert code == 0, stderr
        fetched = {p for p in site.hits if p.startswith("/big/")}
        assert 2 < len(fetched) <= limit, sorted(fetched)  # index and p-0 are seeds
        assert all(n == 1 for p, n in site.hits.items() if p.startswith("/big/p-"))
    assert redis.Redis.from_url(redis_url).keys("linernotes:big:*") == []

"""End-to-end crawls of the test blog (tests/mockserver.py) in child processes.

Scrapy's reactor runs once per process, so every crawl is `python -m linernotes
crawl` against an in-process server on 127.0.0.1; the database is SQLite
(the documents API itself is tested on both backends in test_documents.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from linernotes.crawler.reextract import reextract
from linernotes.storage import Store, open_store
from linernotes.storage import documents as docs
from linernotes.storage.models import CrawlRun, Document
from tests.conftest import SHARED, needs_shared
from tests.mockserver import MockSite, blog_sources, run_cli


@pytest.fixture(scope="module")
def blog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One crawl of the whole test blog, shared by the assertions below."""
    tmp = tmp_path_factory.mktemp("blog")
    with MockSite() as site:
        sources = tmp / "sources.toml"
        sources.write_text(blog_sources(site))
        db = f"sqlite:///{tmp / 'blog.db'}"
        result = run_cli(db, "crawl", "--sources", str(sources))
        assert result.returncode == 0, result.stderr
        store = open_store(db)
        try:
            yield {
                "site": site,
                "db": db,
                "store": store,
                "out": result.stdout,
                "tmp": tmp,
                "sources": sources,
            }
        finally:
            store.close()


def rows(store: Store) -> dict[str, Document]:
    with store.session() as s:
        return {d.canonical_url.split("/", 3)[3]: d for d in s.scalars(select(Document))}


def last_stats(store: Store) -> dict[str, Any]:
    with store.session() as s:
        run = s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None
        return dict(run.stats["sources"]["blog"])


def test_posts_from_links_pagination_feeds_and_sitemaps_are_stored(blog: dict[str, Any]) -> None:
    docs_ = rows(blog["store"])
    for post in blog["site"].posts:
        doc = docs_[post["slug"] + ".html"]
        assert doc.status == "stored" and doc.duplicate_of is None
        assert doc.title == post["title"] and doc.author == post["author"]
        assert doc.published_at is not None and doc.published_at.date().isoformat() == post["date"]
        assert post["body"][0][:40] in (doc.text or "")
        assert "First! Loved this one" not in (doc.text or "")
    for only in ("only-in-rss", "only-in-atom", "only-in-sitemap"):  # feeds, sitemap index + gz
        assert docs_[f"2024/03/{only}.html"].status == "stored"
    assert "" not in docs_ and "page/2/" not in docs_  # hubs are followed, not stored
    assert "pages fetched" in blog["out"] and "errors:" in blog["out"]


def test_skips_duplicates_and_canonical_urls(blog: dict[str, Any]) -> None:
    docs_ = rows(blog["store"])
    assert docs_["downloads/press-kit"].skip_reason == "non_html:application/pdf"
    assert docs_["2024/01/empty.html"].skip_reason == "empty"
    assert docs_["2024/01/missing.html"].skip_reason == "soft_404"
    assert docs_["2024/01/chronique.html"].skip_reason == "language:fr"
    joni = docs_["2024/01/joni-blue-at-fifty.html"]
    printed = docs_["print/joni-blue-at-fifty.html"]
    assert printed.duplicate_of == joni.id and printed.skip_reason == "duplicate"
    assert printed.text is None
    blue = docs_["2024/01/blue-lines-revisited.html"]
    syndicated = docs_["syndicated/blue-lines-revisited.html"]
    pair = {blue.skip_reason, syndicated.skip_reason}
    assert pair == {None, "near_duplicate"}  # whichever came first is the original
    copy, original = (syndicated, blue) if syndicated.skip_reason else (blue, syndicated)
    assert copy.duplicate_of == original.id
    # a copy fetched before its original was counted as stored, then taken over: the run's
    # counters say so, and stored-minus-taken-over is what the database holds
    with blog["store"].session() as s:
        first = s.scalars(select(CrawlRun).order_by(CrawlRun.id)).first()
        assert first is not None
        counts = first.stats["sources"]["blog"]
    originals = sum(1 for d in docs_.values() if d.status == "stored")
    assert counts["stored"] - counts["took_over"] == originals
    # the utm/fragment spelling of a post collapsed onto the post itself
    assert not any("utm_" in k or "#" in k for k in docs_)


def test_safety_and_politeness(blog: dict[str, Any]) -> None:
    site, stats = blog["site"], last_stats(blog["store"])
    errors = stats["errors"]
    assert errors["private_address"] == 2  # /go/private -> 10.0.0.1, /go/metadata -> 169.254...
    assert errors["too_large"] == 2  # gzip bomb and huge page
    assert errors["timeout"] == 1 and errors["http_500"] == 1
    assert errors["robots_disallowed"] == 1
    assert site.hits["/private/notes.html"] == 0  # robots.txt obeyed
    for trap in ("/calendar/2024/01/", "/archive/x/x/x/", "/search", "/tag/rock/"):
        assert site.hits[trap] == 0, trap
    filtered = stats["filtered"]
    assert filtered["trap:calendar"] >= 1 and filtered["trap:query_explosion"] >= 1
    assert filtered["trap:repeated_segment"] >= 1 and filtered["offsite"] >= 1
    docs_ = rows(blog["store"])
    assert docs_["2024/03/moved-here.html"].status == "stored"  # followed a same-site redirect
    assert not any(k.startswith(("bomb", "huge", "slow", "error")) for k in docs_)


def test_warc_archive_and_reextract_offline(blog: dict[str, Any]) -> None:
    from linernotes.crawler.warc import read_archive

    store = blog["store"]
    (_, path), *_ = docs.warc_paths(store)
    urls = {r.url for r in read_archive(Path(path))}
    assert any(u.endswith("/robots.txt") for u in urls)
    assert any(u.endswith("/2024/01/joni-blue-at-fifty.html") for u in urls)
    with store.session() as s:
        doc = s.scalar(select(Document).where(Document.canonical_url.like("%/fela-zombie.html")))
        assert doc is not None
        good_title, doc.title, doc.text = doc.title, "garbled", "garbled"
    result = reextract(store)  # no network: the server is not consulted
    assert result.outcomes.get("unchanged", 0) + result.outcomes.get("updated", 0) >= 10
    with store.session() as s:
        doc = s.scalar(select(Document).where(Document.canonical_url.like("%/fela-zombie.html")))
        assert doc is not None and doc.title == good_title and "Tony Allen" in (doc.text or "")


def test_incremental_recrawl_and_conditional_get(blog: dict[str, Any]) -> None:
    site, store, db = blog["site"], blog["store"], blog["db"]
    post = "/2024/02/nina-simone-feeling-good.html"
    before = site.hits[post]
    # within recrawl_after (default 7 days): only seeds are fetched, nothing new is stored
    again = run_cli(db, "crawl", "--sources", str(blog["sources"]))
    assert again.returncode == 0, again.stderr
    assert site.hits[post] == before
    stats = last_stats(store)
    assert stats["stored"] == 0 and stats["updated"] == 0
    # the changed post, with every page due for a revisit (recrawl_after = 0)
    site.version = 2
    sources = blog["tmp"] / "recrawl.toml"
    sources.write_text(blog_sources(site, recrawl_after=0))
    changing = rows(store)["2024/02/changing-post.html"]
    third = run_cli(db, "crawl", "--sources", str(sources))
    assert third.returncode == 0, third.stderr
    stats = last_stats(store)
    assert stats["stored"] == 0 and stats["updated"] == 1
    assert stats["not_modified"] >= 8  # ETag honoured: 304 for unchanged posts
    assert site.hits["304 " + post] == 1
    updated = rows(store)["2024/02/changing-post.html"]
    assert updated.id == changing.id and "remaster" in (updated.text or "")
    assert updated.content_hash != changing.content_hash
    assert updated.extracted_hash != updated.content_hash  # due for re-extraction


def test_lock_refuses_a_second_run(blog: dict[str, Any]) -> None:
    store = blog["store"]
    run = docs.start_run(store, ["blog"])
    docs.acquire_locks(store, ["blog"], run, docs.lock_owner())  # this (live) process holds it
    try:
        result = run_cli(blog["db"], "crawl", "--sources", str(blog["sources"]))
    finally:
        docs.release_locks(store, ["blog"], docs.lock_owner())
    assert result.returncode == 1
    assert "already being crawled" in result.stderr and "Traceback" not in result.stderr


def test_private_addresses_refused_without_opt_in(tmp_path: Path) -> None:
    with MockSite() as site:
        text = blog_sources(site).replace("allow_private_addresses = true\n", "")
        sources = tmp_path / "s.toml"
        sources.write_text(text)
        result = run_cli(f"sqlite:///{tmp_path / 'p.db'}", "crawl", "--sources", str(sources))
        assert result.returncode == 0, result.stderr
        assert "private_address" in result.stdout
        assert sum(site.hits.values()) == 0  # not even robots.txt was requested


def test_sigkill_and_resume_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    with MockSite(big_pages=40, big_delay=0.15) as site:
        sources = tmp_path / "big.toml"
        text = blog_sources(site, batch_size=3).split("[[source]]")[0]
        sources.write_text(
            text + f'[[source]]\nname = "big"\nstart_urls = ["{site.url}/big/"]\n'
            'follow = [":\\\\d+/big/$"]\nallow_private_addresses = true\n'
        )
        db = f"sqlite:///{tmp_path / 'k.db'}"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        cmd = [sys.executable, "-m", "linernotes", "--db", db, "crawl", "--sources", str(sources)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        store = open_store(db)
        try:
            _wait_for_documents(store, 6, proc)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            assert proc.returncode == -signal.SIGKILL
            before = _documents(store)
            assert 6 <= len(before) < 40, "the crawl must really be interrupted"
            hits_before = dict(site.hits)
            result = run_cli(db, "crawl", "--sources", str(sources))
            assert result.returncode == 0, result.stderr
            after = _documents(store)
            assert len(after) == 40 and all(r[1] == "stored" for r in after.values())
            for url, (doc_id, _) in before.items():  # nothing lost, same rows
                assert after[url][0] == doc_id
                path = "/" + url.split("/", 3)[3]
                assert site.hits[path] == hits_before[path], f"{path} fetched twice"
        finally:
            if proc.poll() is None:
                proc.kill()
            store.close()


def _documents(store: Store) -> dict[str, tuple[int, str]]:
    with store.session() as s:
        return {
            r[0]: (r[1], r[2])
            for r in s.execute(select(Document.canonical_url, Document.id, Document.status))
        }


def _wait_for_documents(store: Store, n: int, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            count = len(_documents(store))
        except Exception:
            count = 0
        if count >= n:
            return count
        time.sleep(0.05)
    raise AssertionError("crawl stored nothing in time")


@needs_shared
def test_personal_review_site_stored_and_second_run_adds_nothing(tmp_path: Path) -> None:
    root = SHARED / "data/sites/personal_music_review_site"
    with MockSite(static_root=root) as site:
        sources = tmp_path / "personal.toml"
        sources.write_text(
            "[crawler]\ndelay = 0\n\n[[source]]\n"
            f'name = "personal"\nstart_urls = ["{site.url}/index.html"]\n'
            "allow_private_addresses = true\n"
        )
        db = f"sqlite:///{tmp_path / 'p.db'}"
        first = run_cli(db, "crawl", "--sources", str(sources))
        assert first.returncode == 0, first.stderr
        store = open_store(db)
        try:
            docs_ = {d.canonical_url.rsplit("/", 1)[1]: d for d in _all(store)}
            expected = {
                "Mary_Wells.html": ["Mary Wells"],
                "Mayer_Hawthorne.html": ["Mayer Hawthorne"],
                "top5new2020.html": ["Riz Ahmed"],
                "Top50.html": ["M.I.A.", "Kanye West", "Prince"],
                "index.html": ["Aaliyah", "The Beach Boys", "Bob Dylan"],
            }
            for name, artists in expected.items():
                assert docs_[name].status == "stored", name
                for artist in artists:
                    assert artist in (docs_[name].text or ""), (name, artist)
            second = run_cli(db, "crawl", "--sources", str(sources))
            assert second.returncode == 0, second.stderr
            assert "stored 0 new" in second.stdout
            assert len(_all(store)) == len(docs_)
        finally:
            store.close()


def _all(store: Store) -> list[Document]:
    with store.session() as s:
        return list(s.scalars(select(Document)))


def _extracted(db: str) -> dict[str, tuple[Any, ...]]:
    """What extraction produced for every document of `db`, by path."""
    store = open_store(db)
    try:
        return {
            d.canonical_url.split("/", 3)[3]: (
                d.status,
                d.skip_reason,
                d.title,
                d.author,
                d.published_at,
                d.language,
                d.content_hash,
                d.simhash,
            )
            for d in _all(store)
        }
    finally:
        store.close()


def test_worker_processes_store_what_in_process_extraction_stores(tmp_path: Path) -> None:
    """extract_workers (crawler/offload.py) moves extraction, not its results."""
    found = {}
    with MockSite() as site:
        for workers in (0, 2):
            sources = tmp_path / f"w{workers}.toml"
            sources.write_text(blog_sources(site, extract_workers=workers))
            db = f"sqlite:///{tmp_path / f'w{workers}.db'}"
            result = run_cli(db, "crawl", "--sources", str(sources))
            assert result.returncode == 0, result.stderr
            found[workers] = _extracted(db)
    in_process, in_workers = found[0], found[2]
    assert in_process.keys() == in_workers.keys() and len(in_process) > 15
    copies = ("duplicate", "near_duplicate")
    for url, row in in_process.items():
        if row[1] in copies or in_workers[url][1] in copies:  # which copy comes first may differ
            assert row[2:] == in_workers[url][2:], url
        else:
            assert row == in_workers[url], url
    stored = [
        {r[6] for r in rows.values() if r[0] == "stored"} for rows in (in_process, in_workers)
    ]
    assert stored[0] == stored[1]

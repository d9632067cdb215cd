"""Sitemap `<lastmod>` and feed dates decide which known pages a re-crawl requests.

A small site on 127.0.0.1 (its own server, so the shared test blog keeps its
counts) is crawled three times by `python -m linernotes crawl` in child
processes: first everything, then with every page due for a revisit
(`recrawl_after = 0`) only the pages whose date moved, that have no date or an
unreadable one; then with `reverify_after = 0` every page again.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from linernotes.crawler.lastmod import UNREADABLE, parse_date, read_date
from tests.mockserver import run_cli

OLD = "2024-05-01T10:00:00+00:00"


class DatedSite:
    """A home page, a sitemap, an Atom and an RSS feed over six pages; dates set by the test."""

    def __init__(self) -> None:
        self.lastmod = {"same": OLD, "moved": OLD, "undated": None, "bad": OLD, "both": OLD}
        self.atom_updated = {"atom-only": OLD}
        self.rss_published = {"both": "Wed, 01 May 2024 10:00:00 +0000"}
        self.hits: Counter[str] = Counter()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path
        self.hits[path] += 1
        if path == "/sitemap.xml":
            body, ctype = self.sitemap(), "application/xml"
        elif path == "/atom.xml":
            body, ctype = self.atom(), "application/atom+xml"
        elif path == "/rss.xml":
            body, ctype = self.rss(), "application/rss+xml"
        elif path == "/":  # links to every page, undated: the dates must still decide
            links = "".join(f'<a href="/p/{n}">{n}</a> ' for n in [*self.lastmod, "atom-only"])
            body, ctype = f"<html><body>{links}</body></html>", "text/html"
        elif path.startswith("/p/"):
            name = path[3:]
            text = " ".join(f"{name} is a song about the sea and the night sky." for _ in range(30))
            body, ctype = f"<html><body><p>{text}</p></body></html>", "text/html"
        else:
            req.send_response(404)
            req.end_headers()
            return
        data = body.encode()
        req.send_response(200)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def sitemap(self) -> str:
        entries = "".join(
            f"<url><loc>{self.url}/p/{name}</loc>"
            + (f"<lastmod>{date}</lastmod>" if date else "")
            + "</url>"
            for name, date in self.lastmod.items()
        )
        ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        return f'<?xml version="1.0"?><urlset {ns}>{entries}</urlset>'

    def atom(self) -> str:
        entries = "".join(
            f'<entry><title>{name}</title><link rel="alternate" href="{self.url}/p/{name}"/>'
            f"<updated>{date}</updated></entry>"
            for name, date in self.atom_updated.items()
        )
        return f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{entries}</feed>'

    def rss(self) -> str:
        items = "".join(
            f"<item><title>{name}</title><link>{self.url}/p/{name}</link>"
            f"<pubDate>{date}</pubDate></item>"
            for name, date in self.rss_published.items()
        )
        return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'

    def sources(self, **extra: str) -> str:
        keys = "".join(f'{k} = "{v}"\n' for k, v in extra.items())
        return (
            "[crawler]\ndelay = 0\ntimeout = 5\n\n[[source]]\n"
            f'name = "dated"\nstart_urls = ["{self.url}/"]\n'
            f'sitemaps = ["{self.url}/sitemap.xml"]\n'
            f'feeds = ["{self.url}/rss.xml", "{self.url}/atom.xml"]\n'
            f"allow_private_addresses = true\n{keys}"
        )

    def page_hits(self) -> dict[str, int]:
        return {p[3:]: n for p, n in self.hits.items() if p.startswith("/p/")}


@pytest.fixture()
def site() -> Iterator[DatedSite]:
    site = DatedSite()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()


def crawl(site: DatedSite, tmp: Path, db: str, **extra: str) -> Any:
    sources = tmp / "sources.toml"
    sources.write_text(site.sources(**extra), encoding="utf-8")
    site.hits.clear()
    result = run_cli(db, "crawl", "--sources", str(sources))
    assert result.returncode == 0, result.stderr
    return result


def test_a_recrawl_requests_only_pages_whose_date_moved(site: DatedSite, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'dated.db'}"
    crawl(site, tmp_path, db)
    every = {"same", "moved", "undated", "bad", "both", "atom-only"}
    assert set(site.page_hits()) == every
    # the site changes "moved" and "both" (its sitemap says so; its RSS pubDate does not)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    site.lastmod["moved"] = now
    site.lastmod["both"] = now
    site.lastmod["bad"] = "last tuesday"
    second = crawl(site, tmp_path, db, recrawl_after="0")
    assert set(site.page_hits()) == {"moved", "both", "undated", "bad"}
    bad_lines = [line for line in second.stderr.splitlines() if "last tuesday" in line]
    assert len(bad_lines) == 1
    assert f"{site.url}/sitemap.xml" in bad_lines[0] and f"{site.url}/p/bad" in bad_lines[0]
    # dates are trusted only for reverify_after: past it, every page is verified again
    crawl(site, tmp_path, db, recrawl_after="0", reverify_after="0")
    assert set(site.page_hits()) == every


def test_dates_read_as_the_latest_instant_they_can_mean() -> None:
    assert parse_date("2024-05-01") == datetime(2024, 5, 2, tzinfo=UTC)
    assert parse_date("2024-05") == datetime(2024, 6, 1, tzinfo=UTC)
    assert parse_date("2024") == datetime(2025, 1, 1, tzinfo=UTC)
    # whole seconds: the end of that second
    assert parse_date("2024-05-01T10:00:00+02:00") == datetime(2024, 5, 1, 8, 0, 1, tzinfo=UTC)
    assert parse_date("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC)
    assert parse_date("2024-05-01T10:00:00.25Z") == datetime(2024, 5, 1, 10, 0, 0, 250000, UTC)
    assert parse_date("Wed, 01 May 2024 10:00:00 GMT") == datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC)
    assert read_date(None) == (None, True) and read_date("  ") == (None, True)
    assert read_date("2024-13-45") == (UNREADABLE, False)
    assert read_date("soon") == (UNREADABLE, False)

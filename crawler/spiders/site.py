"""One spider for every source: start URLs, RSS/Atom feeds and XML sitemaps.

Each seed kind has its own callback, but they all end in the same decision
for every URL they find (`_follow`): same site, allowed by the source's
patterns, not a trap, not fresh in the frontier, not dated by a sitemap or
feed as unchanged since we last fetched it (crawler/lastmod.py), under
max_pages. Pages are
extracted and handed to the storage pipeline together with the links they
led to, so the pipeline can commit both in one transaction (the frontier is
the database, which is what makes a killed run resumable).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from linernotes.crawler.lastmod import feed_links, read_date, unchanged_since_fetch
from linernotes.crawler.sources import Source, site_key
from linernotes.crawler.urls import canonicalize, scheme_allowed, trap_reason

if TYPE_CHECKING:
    from linernotes.storage.frontier import FrontierEntry
    from linernotes.storage.validators import Validators


class Counts(Protocol):
    """A source's counters in this run."""

    def count(self, category: str, key: str, n: int = 1) -> None: ...


class SpiderRun(Protocol):
    """What a spider needs from its run (crawler.runner.RunContext provides it).

    Why a protocol: the runner builds spiders, so the spider must not import the
    runner back (that circle is what this breaks).
    """

    source_ids: dict[str, int]
    max_pages: int | None
    max_bytes: int
    redis_url: str | None
    started_at: datetime

    def frontier(self, source_id: int) -> dict[str, FrontierEntry]: ...

    def validators(self, source_id: int) -> dict[str, Validators]: ...

    def stats_for(self, name: str) -> Counts: ...

    def on_response(self, response: Any, request: Any, spider: Any = None, **_: Any) -> None: ...

    async def page_record(self, spider: Any, response: Any, html: bool) -> Any: ...

    def page_item(
        self, spider: Any, response: Any, requests: list[Any], record: Any = None
    ) -> dict[str, Any]: ...

    def failure_item(self, spider: Any, request: Any, failure: Any) -> dict[str, Any]: ...


SEED_PRIORITY = 10
log = logging.getLogger("linernotes.crawl")


class SiteSpider(scrapy.Spider):
    """Crawls one source; many instances share one run (and one CrawlerProcess)."""

    name = "site"
    handle_httpstatus_list = [304]

    def __init__(self, source: Source, run: SpiderRun, **kwargs: Any) -> None:
        super().__init__(name=f"site:{source.name}", **kwargs)
        self.source = source
        self.run = run
        self.source_id = run.source_ids[source.name]
        self.allow = [re.compile(p) for p in source.allow]
        self.deny = [re.compile(p) for p in source.deny]
        self.follow = [re.compile(p) for p in source.follow]
        if source.delay is not None:
            self.download_delay = source.delay
        self.max_pages = run.max_pages or source.max_pages
        self.pages_scheduled = 0
        self.shared_budget = None  # max_pages across workers of a shared (Redis) frontier
        if run.redis_url is not None and self.max_pages is not None:
            from linernotes.crawler.distributed import SharedPageBudget, connect

            self.shared_budget = SharedPageBudget(
                connect(run.redis_url), source.name, self.max_pages
            )
        self.seen: set[str] = set()
        self.frontier = run.frontier(self.source_id)
        self.validators = run.validators(self.source_id)
        self.counts = run.stats_for(source.name)
        # a shared (Redis) frontier's dupefilter must see seeds too, or every worker refetches them
        self.refetch_seeds = run.redis_url is None
        # Known pages a sitemap or feed dated as unchanged, and known pages found by an
        # undated link, held back until every sitemap and feed requested so far is read
        # (or the spider idles): whichever is read first, a date decides over a plain link.
        self.dated_unchanged: set[str] = set()
        self.held: dict[str, tuple[str, int]] = {}
        self.dated_pending = 0  # sitemap and feed requests not answered yet
        self.hold_undated = run.redis_url is None and bool(source.sitemaps or source.feeds)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SiteSpider:
        from scrapy import signals

        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.run.on_response, signal=signals.response_received)
        crawler.signals.connect(spider.release_held, signal=signals.spider_idle)
        return spider

    def release_held(self) -> None:
        """At idle (a sitemap request dropped unanswered): request what is still held."""
        from scrapy.exceptions import DontCloseSpider

        requests = self._release()
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def _answered(self, meta: dict[str, Any]) -> list[scrapy.Request]:
        """A sitemap or feed was answered: once none is pending, the held pages go out."""
        if meta.get("ln_kind") in ("sitemap", "feed"):
            self.dated_pending -= 1
        return self._release() if self.dated_pending <= 0 else []

    def _release(self) -> list[scrapy.Request]:
        """Requests for the held-back pages no sitemap or feed date vouched for."""
        held, self.held = self.held, {}
        out = []
        for canonical, (url, depth) in sorted(held.items(), key=lambda kv: kv[1][1]):
            if canonical in self.seen or canonical in self.dated_unchanged:
                continue
            self.seen.add(canonical)
            if not self._page_allowed(canonical):
                self.counts.count("filtered", "max_pages")
                continue
            out.append(self._request(url, "page", depth))
        return out

    # --- seeds ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for url in self.source.sitemaps:
            yield self._request(url, "sitemap", 0, seed=True)
        for url in self.source.feeds:
            yield self._request(url, "feed", 0, seed=True)
        for url in self.source.start_urls:
            yield self._request(url, "page", 0, seed=True)
        for entry in sorted(self.frontier.values(), key=lambda e: (e.depth, e.canonical_url)):
            if entry.status == "pending" and entry.canonical_url not in self.seen:
                request = self._maybe(entry.url, entry.kind, entry.depth)
                if request is not None:
                    yield request

    def _request(self, url: str, kind: str, depth: int, seed: bool = False) -> scrapy.Request:
        canonical = canonicalize(url)
        self.seen.add(canonical)
        if kind in ("sitemap", "feed"):
            self.dated_pending += 1
        if kind == "page":
            self.pages_scheduled += 1
            if seed and self.shared_budget is not None:
                self.shared_budget.take(canonical, force=True)
        headers = {}
        known = self.validators.get(canonical)
        if known is not None and kind == "page":
            if known.etag:
                headers["If-None-Match"] = known.etag
            if known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
        callback = {"page": self.parse_page, "feed": self.parse_feed, "sitemap": self.parse_sitemap}
        return scrapy.Request(
            url,
            callback=callback[kind],
            errback=self.on_error,
            headers=headers,
            # sitemaps and feeds first: their dates decide which known pages need a request
            priority=SEED_PRIORITY if seed or kind != "page" else -depth,
            dont_filter=seed and self.refetch_seeds,
            meta={"ln_kind": kind, "ln_depth": depth, "ln_canonical": canonical, "ln_seed": seed},
        )

    # --- the follow decision -------------------------------------------------------------

    def _wanted(self, url: str) -> bool:
        return not self.allow or any(p.search(url) for p in self.allow + self.follow)

    def _stored(self, url: str, kind: str) -> bool:
        """Pages are stored when they match `allow` (all pages when it is empty), not `follow`."""
        if kind != "page" or any(p.search(url) for p in self.follow):
            return False
        return not self.allow or any(p.search(url) for p in self.allow)

    def _maybe(
        self, url: str, kind: str, depth: int, stamp: datetime | None = None
    ) -> scrapy.Request | None:
        """A request for a discovered URL, or None (counted) when it must not be fetched.

        `stamp` is the date a sitemap or feed gave the URL (crawler/lastmod.py).
        """
        canonical = canonicalize(url)
        if canonical in self.seen or (canonical in self.held and stamp is None):
            return None
        refusal = self._refusal(url, kind, depth)
        if refusal:
            self.seen.add(canonical)
            self.counts.count("filtered", refusal)
            return None
        if self._fresh(canonical):
            self.seen.add(canonical)
            self.counts.count("filtered", "fresh")
            return None
        if kind == "page" and not self._dated_due(canonical, url, depth, stamp):
            return None
        self.seen.add(canonical)
        if kind == "page" and not self._page_allowed(canonical):
            self.counts.count("filtered", "max_pages")
            return None
        return self._request(url, kind, depth)

    def _page_allowed(self, canonical: str) -> bool:
        """Under max_pages: this run's own count, or the whole shared crawl's."""
        if self.max_pages is None:
            return True
        if self.shared_budget is not None:
            return self.shared_budget.take(canonical)
        return self.pages_scheduled < self.max_pages

    def _fresh(self, canonical: str) -> bool:
        """Handled within `recrawl_after`: not due for a revisit yet."""
        entry = self.frontier.get(canonical)
        if entry is None or entry.status == "pending" or entry.done_at is None:
            return False
        return self.run.started_at - entry.done_at < timedelta(seconds=self.source.recrawl_after)

    def _dated_due(self, canonical: str, url: str, depth: int, stamp: datetime | None) -> bool:
        """False for a known page its date says is unchanged, or held for one (release_held).

        Of two dates for one URL (sitemap and feed) a newer one that says 'changed' wins.
        """
        if canonical in self.dated_unchanged and stamp is None:
            return False
        entry = self.frontier.get(canonical)
        if entry is None or entry.status != "done":
            return True  # never fetched (or failed): no date can vouch for it
        if stamp is not None:
            if unchanged_since_fetch(
                stamp,
                entry,
                self.validators.get(canonical),
                self.run.started_at,
                self.source.reverify_after,
            ):
                if canonical not in self.dated_unchanged:
                    self.dated_unchanged.add(canonical)
                    self.counts.count("filtered", "unchanged_by_date")
                self.held.pop(canonical, None)
                return False
            return True
        if self.hold_undated and self.dated_pending > 0:
            self.held.setdefault(canonical, (url, depth))
            return False
        return True

    def _refusal(self, url: str, kind: str, depth: int) -> str | None:
        if not scheme_allowed(url):
            return "bad_scheme"
        if site_key(url) not in self.source.hosts:
            return "offsite"
        if any(p.search(url) for p in self.deny):
            return "denied"
        if kind == "page" and not self._wanted(url):
            return "not_allowed"
        if depth > self.source.max_depth:
            return "trap:depth"
        return trap_reason(url)

    def _links(
        self, found: list[str], kind: str, depth: int, stamps: list[datetime | None] | None = None
    ) -> Iterator[scrapy.Request]:
        for i, url in enumerate(found):
            request = self._maybe(url, kind, depth, stamps[i] if stamps else None)
            if request is not None:
                yield request

    def _stamps(
        self, response: Response, what: str, dated: list[tuple[str, str | None]]
    ) -> list[datetime | None]:
        """Each URL's date; an unreadable one is logged (naming where) and means 'fetch it'."""
        stamps: list[datetime | None] = []
        for url, raw in dated:
            stamp, readable = read_date(raw)
            if not readable:
                log.warning(
                    "%s %s: unreadable date %r for %s; fetching it", what, response.url, raw, url
                )
            stamps.append(stamp)
        return stamps

    # --- callbacks -----------------------------------------------------------------------

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        """A stored page's document and links come from a worker (crawler/offload.py); the
        links of a page that is only followed are extracted here."""
        meta = response.meta
        depth = meta["ln_depth"]
        html = response.status != 304 and _is_html(response)
        links: list[str] = []
        record = None
        if response.status != 304 and self._stored(response.url, "page"):
            record, links = await self.run.page_record(self, response, html)
        elif html:
            from linernotes.crawler.records import page_links

            links = page_links(response)
        requests = list(self._links(links, "page", depth + 1))
        yield self.run.page_item(self, response, requests, record)
        for request in requests:
            yield request

    def parse_feed(self, response: Response) -> Iterator[Any]:
        from lxml import etree

        try:
            root = etree.fromstring(response.body, parser=_xml_parser())
        except etree.XMLSyntaxError:
            root = None
        dated = feed_links(root, response.urljoin) if root is not None else []
        stamps = self._stamps(response, "feed", dated)
        links = [url for url, _ in dated]
        requests = list(self._links(links, "page", meta_depth(response) + 1, stamps))
        yield self.run.page_item(self, response, requests)
        yield from requests
        yield from self._answered(response.meta)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        from scrapy.utils.gz import gunzip
        from scrapy.utils.sitemap import Sitemap

        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.run.max_bytes)
            except Exception:
                self.counts.count("errors", "bad_sitemap")
                body = b""
        requests: list[scrapy.Request] = []
        try:
            sitemap = Sitemap(body) if body else None
        except Exception:
            sitemap = None
        if sitemap is not None:
            kind = "sitemap" if sitemap.type == "sitemapindex" else "page"
            dated = [
                (response.urljoin(e["loc"]), e.get("lastmod")) for e in sitemap if e.get("loc")
            ]
            stamps = self._stamps(response, "sitemap", dated) if kind == "page" else None
            locs = [url for url, _ in dated]
            requests = list(self._links(locs, kind, meta_depth(response) + 1, stamps))
        yield self.run.page_item(self, response, requests)
        yield from requests
        yield from self._answered(response.meta)

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        yield self.run.failure_item(self, request, failure)
        yield from self._answered(request.meta)


def meta_depth(response: Response) -> int:
    return int(response.meta.get("ln_depth", 0))


def _is_html(response: Response) -> bool:
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    return "html" in ctype or (not ctype and b"<html" in response.body[:1024].lower())


def _xml_parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)

"""Downloader middlewares: refuse unsafe requests, and robots.txt with host pausing.

`SafetyMiddleware` runs first for every request, redirects included (Scrapy
sends a redirect's target back through the whole chain), so a page that
redirects to 10.0.0.1 or 169.254.169.254 is refused before any connection is
made. Private addresses are allowed only for the source's own hosts, on the
ports of its seed URLs, and only when it sets `allow_private_addresses` (a
test server, an intranet blog); any other host must resolve to public
addresses only. The answer is checked again when the connection is made
(crawler/resolver.py), since a name can answer differently the second time.

`PoliteRobotsMiddleware` keeps Scrapy's robots.txt handling but reads the
status the way search engines do: 4xx (403 included) means no rules, so
everything is allowed; 5xx means the site is struggling, so the host is
paused (nothing fetched from it this run).
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from linernotes.crawler.sources import site_origin
from linernotes.crawler.urls import private_address_reason, scheme_allowed


class RefusedRequest(IgnoreRequest):
    """A request refused on purpose; `kind` is the error kind in run summaries."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class SafetyMiddleware:
    """Only http(s), and no private, loopback or link-local targets unless allowed."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> SafetyMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not scheme_allowed(request.url):
            raise RefusedRequest("bad_scheme", f"refused non-http(s) URL {request.url}")
        source = getattr(self.crawler.spider, "source", None)
        if source is not None and source.allow_private_addresses and _own_origin(source, request):
            return
        reason = private_address_reason(request.url)
        if reason:
            raise RefusedRequest(reason, f"refused private/loopback address {request.url}")


def _own_origin(source: Any, request: Request) -> bool:
    """The request goes to one of the source's own (host, port) pairs: another port of a
    trusted host (a redirect to a local admin service) is not exempt."""
    try:
        return site_origin(request.url) in source.origins
    except ValueError:
        return False


class PoliteRobotsMiddleware(RobotsTxtMiddleware):
    """robots.txt with 4xx = allow everything and 5xx = pause the host for this run."""

    paused: set[str]

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.paused = set()

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if 400 <= response.status < 500:
            response = response.replace(body=b"")
        elif response.status >= 500:
            self.paused.add(netloc)
        await super()._parse_robots(response, netloc, request)

    def process_request_2(self, rp: Any, request: Request) -> None:
        from scrapy.utils.httpobj import urlparse_cached

        if urlparse_cached(request).netloc in self.paused:
            raise RefusedRequest("host_paused", f"host paused (robots.txt 5xx): {request.url}")
        try:
            super().process_request_2(rp, request)
        except RefusedRequest:
            raise
        except IgnoreRequest:
            kind = "robots_disallowed"
            raise RefusedRequest(kind, f"forbidden by robots.txt: {request.url}") from None

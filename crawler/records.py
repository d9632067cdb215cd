"""Document records from responses, and short names for failed requests.

`build_record` is the extraction step of every fetched page: it runs in the
extraction worker processes (crawler/offload.py pickles `build_page`, which
also extracts a stored page's links, by its module path) and again, without
the network, when `reextract` replays the WARC archives. `error_kind` names why a request failed;
the run summary groups errors by it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from linernotes.crawler.dedup import content_hash, long_enough, simhash, words_of
from linernotes.crawler.urls import canonicalize
from linernotes.storage import documents as docs


def _now() -> datetime:
    return datetime.now(UTC)


def response_headers(response: Any) -> dict[str, str]:
    """A Scrapy response's headers as text, names lower-cased, the last value of each."""
    return {
        k.decode("latin-1").lower(): v[-1].decode("latin-1")
        for k, v in response.headers.items()
        if v
    }


def not_modified_record(url: str, canonical_url: str, source_id: int) -> docs.DocumentRecord:
    """The record of a 304: the stored document is still current, nothing was extracted."""
    return docs.DocumentRecord(url, canonical_url, source_id, _now(), 304, not_modified=True)


def build_record(
    url: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
    source_id: int | None,
    languages: tuple[str, ...] = (),
    fetched_at: datetime | None = None,
) -> docs.DocumentRecord:
    """A document record from a response (live or archived): extraction plus hashes."""
    from linernotes.crawler.extraction import extract

    found = extract(body, url, headers.get("content-type"), languages)
    text = found.text or ""
    words = words_of(text)
    return docs.DocumentRecord(
        url=url,
        canonical_url=canonicalize(url),
        source_id=source_id,
        fetched_at=fetched_at or _now(),
        http_status=status,
        status=found.status,
        skip_reason=found.skip_reason,
        title=found.title,
        author=found.author,
        published_at=found.published_at,
        language=found.language,
        text=found.text,
        content_hash=content_hash(text, words) if text else None,
        simhash=simhash(text, words) if text else None,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        metadata=found.metadata,
        check_near=long_enough(text),
    )


def page_links(response: Any) -> list[str]:
    """The links of an HTML response, as the spider follows them (Scrapy's LinkExtractor)."""
    from scrapy.linkextractors import LinkExtractor

    return [link.url for link in LinkExtractor(unique=True).extract_links(response)]


def build_page(
    url: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
    source_id: int | None,
    languages: tuple[str, ...],
    html: tuple[type, dict[bytes, list[bytes]]] | None,
) -> tuple[docs.DocumentRecord, list[str]]:
    """A stored page's record and, for HTML, its links: both in the extraction worker.

    Why here: link extraction parses the page again (lxml) and was the largest
    piece of per-page work left in the reactor. `html` is the response's class and
    raw headers, so the response rebuilt here decodes the body as the crawl's did
    and yields the same links.
    """
    record = build_record(url, status, headers, body, source_id, languages)
    if html is None:
        return record, []
    cls, raw_headers = html
    return record, page_links(cls(url=url, status=status, headers=raw_headers, body=body))


def error_kind(failure: Any) -> str:
    """A short, stable name for why a request failed (the run summary groups by it)."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import defer, error

    exc = failure.value
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str):
        return kind
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    text = str(exc)
    if "DOWNLOAD_MAXSIZE" in text or "max size" in text.lower() or "maxsize" in text.lower():
        return "too_large"
    if isinstance(exc, IgnoreRequest):
        return "ignored"
    if isinstance(exc, defer.TimeoutError | error.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, defer.CancelledError):
        return "too_large"
    name = type(exc).__name__
    # Scrapy >= 2.19 wraps Twisted's errors in its own (scrapy.exceptions), matched by name.
    if isinstance(exc, error.DNSLookupError) or name == "CannotResolveHostError":
        return "dns"
    if isinstance(exc, error.ConnectionRefusedError | error.ConnectError) or name in {
        "DownloadConnectionRefusedError",
        "DownloadFailedError",
    }:
        return "connection"
    if name == "ResponseDataLossError":
        return "data_loss"
    return "timeout" if "Timeout" in name else name.lower()

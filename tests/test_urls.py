"""Canonical URLs: w3lib's path/query normalisation with our host and tracking rules on top."""

from __future__ import annotations

import re

import pytest

from linernotes.crawler.urls import canonicalize
from linernotes.storage import Store
from linernotes.storage import documents as docs
from linernotes.storage.models import Document
from tests.conftest import SHARED, needs_shared
from tests.test_documents import record


def test_escaped_percent_keeps_its_escape() -> None:
    # was "/100%-pure/": an invalid URL naming another resource
    assert canonicalize("http://x.org/100%25-pure/") == "http://x.org/100%25-pure/"
    assert canonicalize("http://x.org/a%2520b") == "http://x.org/a%2520b"


def test_escaped_slash_is_not_a_path_separator() -> None:
    # was folded into "/a/b", another page
    assert canonicalize("http://x.org/a%2Fb") == "http://x.org/a%2Fb"
    assert canonicalize("http://x.org/a%2fb") == canonicalize("http://x.org/a%2Fb")
    assert canonicalize("http://x.org/a%2Fb") != canonicalize("http://x.org/a/b")


def test_query_bytes_that_are_not_utf8_are_kept() -> None:
    # was "q=%EF%BF%BD" (the replacement character): every such query became one URL
    assert canonicalize("http://x.org/s?q=%e9") == "http://x.org/s?q=%E9"
    assert canonicalize("http://x.org/s?q=%e9") != canonicalize("http://x.org/s?q=%e8")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://Example.ORG:443/a//b/?utm_source=x&b=2&a=1&fbclid=z#f",
            "https://example.org/a/b/?a=1&b=2",
        ),
        ("http://example.org", "http://example.org/"),
        ("http://example.org:8080/%7Euser/", "http://example.org:8080/~user/"),
        ("http://user:pw@Example.org./p?", "http://example.org/p"),
        ("http://x.org/caf\u00e9/?q=a b", "http://x.org/caf%C3%A9/?q=a+b"),
        ("http://x.org/caf%c3%a9/", "http://x.org/caf%C3%A9/"),
        ("http://x.org/?UTM_Medium=m&Ref=r&keep=1", "http://x.org/?keep=1"),
        ("http://x.org/p?utm%5Fsource=x&a=1", "http://x.org/p?a=1"),
        ("http://b\u00fccher.de/x", "http://b\u00fccher.de/x"),  # host kept as stored before
        ("http://[::1]:8000/a", "http://[::1]:8000/a"),
    ],
)
def test_canonical_forms(url: str, expected: str) -> None:
    assert canonicalize(url) == expected


def _old_canonicalize(url: str) -> str:
    """The canonical form before w3lib, frozen: stored keys were made by it."""
    from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

    from linernotes.crawler.urls import _DEFAULT_PORTS, TRACKING_PARAMS, TRACKING_PREFIXES

    parts = urlsplit(url.strip())
    scheme, host, port = (
        parts.scheme.lower(),
        (parts.hostname or "").lower().rstrip("."),
        parts.port,
    )
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~%") or "/")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


ORDINARY = [
    "https://pitchfork.com/reviews/albums/aldous-harding-train-on-the-island/",
    "https://www.example.com/2024/01/a-dated-post.html?page=2&sort=new",
    "https://blog.example.org/tag/rock/page/3/",
    "https://www.example.org/music/Bj%C3%B6rk-review",
    "https://example.org/search?q=sigur+r%C3%B3s&x=",
]


def test_ordinary_page_urls_keep_their_stored_form() -> None:
    for url in ORDINARY:
        assert canonicalize(url) == _old_canonicalize(url), url


@needs_shared
def test_shared_corpus_urls_keep_their_stored_form() -> None:
    """Of ~24k URLs in ../shared, only those whose old key was wrong change."""
    text = "\n".join(
        p.read_text("utf-8", "replace")
        for p in (SHARED / "data").rglob("*")
        if p.is_file() and p.suffix in (".csv", ".jsonl", ".html", ".json")
    )
    urls = {u for u in re.findall(r"https?://[^\s\"'<>),\\]+", text)}
    changed = [u for u in urls if canonicalize(u) != _old_canonicalize(u)]
    assert len(urls) > 1000
    assert all("%25" in u or u.endswith("/.") for u in changed), changed[:5]
    assert len(changed) <= len(urls) // 1000


def test_recrawl_under_a_changed_key_dedupes(store: Store) -> None:
    """A page stored under its old key is re-crawled under the new one: no second copy."""
    url = "https://a.org/p/AC%2FDC"
    old_key, new_key = _old_canonicalize(url), canonicalize(url)
    assert old_key != new_key
    run = docs.start_run(store, ["s"])
    (first,) = docs.save_documents(store, [record(url, canonical_url=old_key)], run)
    (again,) = docs.save_documents(store, [record(url, canonical_url=new_key)], run)
    assert first.outcome == "stored"
    assert again.outcome == "duplicate" and again.original == first.doc_id
    with store.session() as s:
        texts = [d.text for d in s.query(Document).all() if d.text]
    assert len(texts) == 1

"""URL hygiene, trap guards, the private-address check, dedup hashes and extraction."""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import datetime

import pytest

from linernotes.crawler.dedup import (
    MAX_DISTANCE,
    SimhashIndex,
    content_hash,
    distance,
    simhash,
    words_of,
)
from linernotes.crawler.extraction import extract
from linernotes.crawler.urls import canonicalize, is_public_ip, private_address_reason, trap_reason
from tests.conftest import SHARED, needs_shared
from tests.mockserver import page, prose


def test_canonical_urls() -> None:
    assert (
        canonicalize("HTTPS://Example.ORG:443/a//b/?utm_source=x&b=2&a=1&fbclid=z#frag")
        == "https://example.org/a/b/?a=1&b=2"
    )
    assert canonicalize("http://example.org") == "http://example.org/"
    assert canonicalize("http://example.org:8080/%7Euser/") == "http://example.org:8080/~user/"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://x.org/calendar/2024/01/", "trap:calendar"),
        ("http://x.org/events/?month=2024-02", "trap:calendar"),
        ("http://x.org/a/b/a/b/a/", "trap:repeated_segment"),
        ("http://x.org/s?a=1&b=2&c=3&d=4&e=5", "trap:query_explosion"),
        ("http://x.org/" + "x" * 600, "trap:long_url"),
        ("http://x.org/2024/01/a-dated-post.html", None),
    ],
)
def test_traps(url: str, reason: str | None) -> None:
    assert trap_reason(url) == reason


def test_private_addresses_refused() -> None:
    for url in (
        "http://127.0.0.1/",
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://192.168.1.1/",
        "http://localhost:8080/",
        "http://0.0.0.0/",
    ):
        assert private_address_reason(url) == "private_address", url
    assert is_public_ip("93.184.216.34")
    assert not is_public_ip("::ffff:10.0.0.1")


def test_simhash_separates_copies_from_other_texts() -> None:
    a, b = prose(1, 200), prose(2, 200)
    assert distance(simhash(a), simhash(a + " First published elsewhere.")) <= 6
    assert distance(simhash(a), simhash(b)) > 12
    assert content_hash("Hello,  World") == content_hash("hello world")
    index = SimhashIndex()
    index.add(1, simhash(a))
    index.add(2, simhash(b))
    assert index.near(simhash(a + " First published elsewhere.")) == 1
    index.discard(1)
    assert index.near(simhash(a)) is None


def _nearest_reference(entries: dict[int, int], value: int, exclude: int | None) -> int | None:
    """The closest entry within MAX_DISTANCE bits, lowest id first among ties: a plain loop."""
    close = [
        (distance(value, other), doc_id)
        for doc_id, other in entries.items()
        if doc_id != exclude and distance(value, other) <= MAX_DISTANCE
    ]
    return min(close)[1] if close else None


def test_simhash_index_answers_like_a_scan_of_every_entry_through_growth_and_removals() -> None:
    """Adds, re-adds and removals past the index's first 1,024 slots (so it grows and drops
    dead slots); every lookup equals the plain loop, ties going to the lowest id."""
    rng = random.Random(5)
    index, entries = SimhashIndex(), {}
    bases = [rng.getrandbits(64) - (1 << 63) for _ in range(40)]
    for step in range(3000):
        doc_id = rng.randrange(1, 2500)
        if rng.random() < 0.3:
            index.discard(doc_id)
            entries.pop(doc_id, None)
            continue
        value = rng.choice(bases) ^ sum(1 << rng.randrange(64) for _ in range(rng.randrange(5)))
        index.add(doc_id, value)
        entries[doc_id] = value
        if step % 7 == 0:
            probe = rng.choice(bases) ^ (1 << rng.randrange(64))
            exclude = rng.choice([None, doc_id])
            assert index.near(probe, exclude) == _nearest_reference(entries, probe, exclude)
    assert len(index) == len(entries)


def test_simhash_index_loaded_in_bulk_answers_like_one_built_add_by_add() -> None:
    """A crawl's start-up loads every stored original with `add_many`; the index then grows,
    loses and gains entries as one built one `add` at a time does."""
    rng = random.Random(9)
    pairs = [(doc_id, rng.getrandbits(64) - (1 << 63)) for doc_id in range(1, 1500)]
    bulk, one_by_one, entries = SimhashIndex(), SimhashIndex(), dict(pairs)
    bulk.add_many(pairs)
    for doc_id, value in pairs:
        one_by_one.add(doc_id, value)
    for doc_id in range(1, 1500, 3):
        bulk.discard(doc_id)
        entries.pop(doc_id)
    bulk.add_many([(5000, pairs[0][1]), (2, pairs[4][1])])  # not empty: one `add` each
    entries.update({5000: pairs[0][1], 2: pairs[4][1]})
    assert len(bulk) == len(entries) and len(one_by_one) == len(pairs)
    for doc_id, value in pairs[::7]:
        probe = value ^ (1 << rng.randrange(64))
        assert one_by_one.near(probe) == doc_id
        assert bulk.near(probe) == _nearest_reference(entries, probe, None)


def _simhash_reference(text: str) -> int:
    """The textbook bit-by-bit SimHash over blake2b word 3-shingles."""
    words = re.findall(r"\w+", text.casefold())
    feats = words if len(words) < 3 else [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    votes = [0] * 64
    for f in feats:
        h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            votes[bit] += 1 if h >> bit & 1 else -1
    value = sum(1 << bit for bit in range(64) if votes[bit] > 0)
    return value - (1 << 64) if value >= 1 << 63 else value


def test_simhash_values_stay_those_stored_by_earlier_crawls() -> None:
    # Near-duplicate lookups compare against hashes already in the database.
    for text in ["", "solo", "two words", prose(3, 150), prose(4, 7) + " Ünïcode élan"]:
        assert simhash(text) == _simhash_reference(text)
    assert simhash("The quick brown fox jumps over the lazy dog, again and again.") == (
        5165679524016436432
    )


def test_both_hashes_from_words_tokenised_once_equal_those_from_the_text() -> None:
    # build_record tokenises a page once and hands the words to both hashes.
    for text in ["", "solo", prose(3, 150), "İstanbul ßtraße, Ünïcode élan; 東京 tokyo"]:
        words = words_of(text)
        assert simhash(text, words) == simhash(text) == _simhash_reference(text)
        assert content_hash(text, words) == content_hash(text)


def test_extraction_drops_boilerplate_and_reads_json_ld() -> None:
    ld = {
        "@type": "BlogPosting",
        "headline": "Real Title",
        "author": {"name": "A. Writer"},
        "datePublished": "2024-03-01T10:00:00+01:00",
    }
    html = page("Shown title", [prose(5), prose(6)], ld=ld).encode()
    found = extract(html, "http://x.org/p", "text/html; charset=utf-8")
    assert found.status == "stored"
    assert (found.title, found.author) == ("Real Title", "A. Writer")
    assert found.published_at is not None and found.published_at.isoformat() == (
        "2024-03-01T09:00:00+00:00"
    )
    assert found.language == "en"
    assert found.text is not None
    assert "First! Loved this one" not in found.text  # comments
    assert "Older posts" not in found.text and "All rights reserved" not in found.text


def test_extraction_skips() -> None:
    assert extract(b"%PDF-1.4", "http://x/f", "application/pdf").skip_reason == (
        "non_html:application/pdf"
    )
    assert extract(page("Untitled", []).encode(), "http://x/e", "text/html").skip_reason == "empty"
    soft = page("Page not found", ["Sorry, the page you are looking for does not exist."])
    assert extract(soft.encode(), "http://x/m", "text/html").skip_reason == "soft_404"
    french = page(
        "Chronique",
        ["Le disque est une merveille et la production est remarquable " * 5],
        lang="fr",
    ).encode()
    assert extract(french, "http://x/f", "text/html", ("en",)).skip_reason == "language:fr"
    assert extract(french, "http://x/f", "text/html").status == "stored"


@needs_shared
def test_pitchfork_metadata_matches_json_ld() -> None:
    path = SHARED / "data/sites/pitchfork_review/aldous-harding-train-on-the-island.html"
    body = path.read_bytes()
    scripts = re.findall(rb'<script type="application/ld\+json"[^>]*>(.*?)</script>', body, re.S)
    ld = next(d for d in (json.loads(s) for s in scripts) if d.get("@type") == "Review")
    found = extract(body, "https://pitchfork.com/reviews/albums/x/", "text/html")
    assert found.status == "stored"
    assert found.title == ld["headline"]
    assert found.author == ld["author"][0]["name"]
    assert found.published_at == datetime.fromisoformat(ld["datePublished"])
    assert found.text is not None and "Aldous Harding" in found.text
    assert found.metadata["jsonld"]["@type"] == "Review"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("CannotResolveHostError", "dns"),
        ("DownloadConnectionRefusedError", "connection"),
        ("DownloadTimeoutError", "timeout"),
        ("ResponseDataLossError", "data_loss"),
    ],
)
def test_scrapy_download_errors_get_stable_kinds(name: str, kind: str) -> None:
    import scrapy.exceptions
    from twisted.python.failure import Failure

    from linernotes.crawler.records import error_kind

    exc_type = getattr(scrapy.exceptions, name, None)
    if exc_type is None:
        pytest.skip(f"this Scrapy has no {name}")
    assert error_kind(Failure(exc_type("boom"))) == kind

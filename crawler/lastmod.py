"""Sitemap `<lastmod>` and feed entry dates: may a known page be left unrequested?

A re-crawl that sends a conditional GET for every known page pays a round
trip per page even when nothing changed (1,084 of them for 50 changed posts
at 1,000 pages). Sitemaps and feeds already say when each page last changed,
so a page is not requested when its date is no later than what we hold for
it: the time we last fetched or re-verified it (`done_at`) and, where the
server sent one, its Last-Modified. Whichever is earlier counts, so a
server clock ahead of ours errs towards fetching.

Dates are trusted only for `reverify_after` (a source key, default 30
days) since the page was last verified: past that it gets a conditional GET
whatever the sitemap says, so a sitemap that lies (or never updates its
dates) cannot hide a change for ever. A date that cannot be read is
reported once and the page is fetched: bad data never skips a page.
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from linernotes.storage.frontier import FrontierEntry
    from linernotes.storage.validators import Validators

# "Newer than anything we hold": what an unreadable date means (fetch the page).
UNREADABLE = datetime.max.replace(tzinfo=UTC)
_YEAR_MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(text: str) -> datetime:
    """The latest instant a W3C (sitemap, Atom) or RFC 822 (RSS) date can mean, in UTC.

    A date without a time of day ("2024-05-01", or "2024-05") could be any moment
    of that day or month, so it counts as its end: a page changed later that same
    day is then still fetched. Likewise a time in whole seconds counts as the end
    of its second (a change in the second we fetched the page is not missed). A
    time without a zone is read as UTC. Raises ValueError for anything else.
    """
    text = text.strip()
    coarse = _YEAR_MONTH.match(text)
    if coarse:
        year, month = int(coarse.group(1)), coarse.group(2)
        if month is None:
            return datetime(year + 1, 1, 1, tzinfo=UTC)
        start = datetime(year, int(month), 1, tzinfo=UTC)
        return (start + timedelta(days=32)).replace(day=1)
    if _DATE.match(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC) + timedelta(days=1)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        stamp = _rfc822(text)
    stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return stamp + timedelta(seconds=1) if stamp.microsecond == 0 else stamp


def _rfc822(text: str) -> datetime:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not a W3C or RFC 822 date: {text!r}") from None


def read_date(text: str | None) -> tuple[datetime | None, bool]:
    """(date, readable): None for no date; UNREADABLE (and False) for a bad one."""
    if text is None or not text.strip():
        return None, True
    try:
        return parse_date(text), True
    except (ValueError, OverflowError):
        return UNREADABLE, False


def unchanged_since_fetch(
    stamp: datetime,
    entry: FrontierEntry | None,
    validators: Validators | None,
    now: datetime,
    reverify_after: float,
) -> bool:
    """True when `stamp` (the page's listed date) says nothing changed since we last verified it.

    False for a page never fetched, one whose last verification is older than
    `reverify_after` seconds, and one whose date is later than what we hold.
    """
    if entry is None or entry.status != "done" or entry.done_at is None:
        return False
    if now - entry.done_at >= timedelta(seconds=reverify_after):
        return False
    held = entry.done_at
    if validators is not None and validators.last_modified:
        # a bad stored header: the fetch time alone decides
        with suppress(ValueError, OverflowError):
            modified = _rfc822(validators.last_modified)  # as sent: its second's start
            held = min(held, modified if modified.tzinfo else modified.replace(tzinfo=UTC))
    return stamp <= held


# An entry's date: when it last changed if the feed says so, else when it was published.
_ENTRY_TAGS = ("entry", "item")
_DATE_TAGS = ("updated", "modified", "published", "pubDate", "date", "issued")


def feed_links(root: Any, urljoin: Any) -> list[tuple[str, str | None]]:
    """(URL, raw date) of every link of an RSS or Atom feed; links outside an entry are undated."""
    from lxml import etree

    out: list[tuple[str, str | None]] = []
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).localname != "link":
            continue
        if el.get("href") and el.get("rel", "alternate") == "alternate":
            url = el.get("href")
        elif (el.text or "").strip():
            url = el.text.strip()
        else:
            continue
        entry = next(
            (a for a in el.iterancestors() if etree.QName(a).localname in _ENTRY_TAGS), None
        )
        out.append((urljoin(url), None if entry is None else entry_date(entry)))
    return out


def entry_date(entry: Any) -> str | None:
    """The first of updated/modified, then published/pubDate/date an entry carries."""
    from lxml import etree

    found = {
        etree.QName(child).localname: (child.text or "").strip()
        for child in entry
        if isinstance(child.tag, str)
    }
    return next((found[tag] for tag in _DATE_TAGS if found.get(tag)), None)

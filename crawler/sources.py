"""The sources file (TOML): what to crawl and how politely.

Format (see CONTRACT.md): one `[[source]]` table per site. Beyond the
contract, a source may set `follow` (URL regexes of hub pages whose links are
followed but which are not stored, e.g. pagination), `recrawl_after` (how long
a stored page stays fresh: seconds or "12h"/"7d"), `reverify_after` (how long
a sitemap or feed date saying a page is unchanged is trusted, crawler/lastmod.py),
`languages` (keep only pages in these languages), `delay` and `max_depth`. An
optional `[crawler]` table sets run-wide politeness: `contact` (the URL put in
the User-Agent), `delay`, `timeout`, `max_bytes`, `warc_dir`, `batch_size`, `extract_workers`
(processes extracting pages beside the fetching one, crawler/offload.py) and,
to share one source's frontier between several crawler processes, `redis_url`
with `redis_max_idle` (see crawler/distributed.py). An optional `[extract]`
table sets how `run` extracts mentions: `transformer_ner` (see docs/mentions.md).

Every mistake is reported as one `SourceConfigError` naming file, source and
key, because a user editing the file needs to know exactly where to look.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from linernotes.crawler.errors import CrawlerError

DEFAULT_CONTACT = "https://github.com/linernotes/linernotes"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Upper bounds: past these a value is a typo (or `inf`), not a choice, and some
# would stall a crawl (a delay of days) or overflow the libraries they reach.
HOUR = 3600.0
MAX_RECRAWL_AFTER = 10 * 365 * 86400.0
REVERIFY_AFTER = 30 * 86400.0
MAX_PAGES = 10**9
MAX_DEPTH = 1000
MAX_BYTES = 2**40
MAX_BATCH = 100_000

SOURCE_KEYS = {
    "name",
    "schedule",
    "start_urls",
    "feeds",
    "sitemaps",
    "allow",
    "deny",
    "follow",
    "max_pages",
    "allow_private_addresses",
    "recrawl_after",
    "reverify_after",
    "languages",
    "delay",
    "max_depth",
}
MAX_EXTRACT_WORKERS = 64
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
CRAWLER_KEYS = {
    "contact",
    "delay",
    "timeout",
    "max_bytes",
    "warc_dir",
    "user_agent",
    "batch_size",
    "redis_url",
    "redis_max_idle",
    "extract_workers",
}
EXTRACT_KEYS = {"transformer_ner"}


class SourceConfigError(CrawlerError):
    """A sources file that cannot be used; the message names file, source and key."""


@dataclass(frozen=True)
class Source:
    """One site to crawl, validated."""

    name: str
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    follow: tuple[str, ...] = ()
    max_pages: int | None = None
    allow_private_addresses: bool = False
    recrawl_after: float = 7 * 86400.0
    reverify_after: float = REVERIFY_AFTER
    languages: tuple[str, ...] = ()
    delay: float | None = None
    max_depth: int = 8

    @property
    def seeds(self) -> tuple[str, ...]:
        return self.start_urls + self.feeds + self.sitemaps

    @property
    def hosts(self) -> frozenset[str]:
        """The sites links may stay within: hosts of every seed, 'www.' folded."""
        return frozenset(site_key(u) for u in self.seeds)

    @property
    def origins(self) -> frozenset[tuple[str, int]]:
        """(host, port) of every seed: what `allow_private_addresses` exempts, and nothing more."""
        return frozenset(site_origin(u) for u in self.seeds)

    def as_config(self) -> dict[str, Any]:
        """The source as plain JSON (kept in the `sources` table as last seen)."""
        return {
            "start_urls": list(self.start_urls),
            "feeds": list(self.feeds),
            "sitemaps": list(self.sitemaps),
            "allow": list(self.allow),
            "deny": list(self.deny),
            "follow": list(self.follow),
            "max_pages": self.max_pages,
            "allow_private_addresses": self.allow_private_addresses,
            "recrawl_after": self.recrawl_after,
            "reverify_after": self.reverify_after,
            "languages": list(self.languages),
        }


@dataclass(frozen=True)
class CrawlerConfig:
    """Run-wide politeness settings from the optional `[crawler]` table."""

    contact: str = DEFAULT_CONTACT
    delay: float = 1.0
    timeout: float = 20.0
    max_bytes: int = 5 * 1024 * 1024
    warc_dir: str | None = None
    user_agent: str | None = None
    batch_size: int = 25
    # set: the frontier is shared through Redis (scrapy-redis), see crawler/distributed.py
    redis_url: str | None = None
    # a shared-frontier worker exits once the queue has stayed empty this many seconds
    redis_max_idle: float = 5.0
    # processes extracting pages beside the reactor (crawler/offload.py); None: one per spare core
    extract_workers: int | None = None

    @property
    def user_agent_string(self) -> str:
        from importlib.metadata import version

        base = self.user_agent or f"linernotes/{version('linernotes')}"
        return f"{base} (+{self.contact})"


@dataclass(frozen=True)
class ExtractConfig:
    """How `run` extracts mentions, from the optional `[extract]` table.

    `transformer_ner`: add the transformer NER as a candidate source, the better one on
    conversational text (queries, forum posts); None when the file does not say.
    """

    transformer_ner: bool | None = None


@dataclass(frozen=True)
class SourcesFile:
    path: Path
    sources: tuple[Source, ...]
    crawler: CrawlerConfig = field(default_factory=CrawlerConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)

    def select(self, name: str | None) -> tuple[Source, ...]:
        """All sources, or the one called `name` (an error naming the known ones otherwise)."""
        if name is None:
            return self.sources
        chosen = tuple(s for s in self.sources if s.name == name)
        if not chosen:
            known = ", ".join(s.name for s in self.sources) or "none"
            raise SourceConfigError(f"{self.path}: no source named {name!r} (known: {known})")
        return chosen


def site_key(url: str) -> str:
    """Host of a URL without a leading 'www.', lower-cased: one site, either spelling."""
    return fold_host(urlsplit(url).hostname or "")


def site_origin(url: str) -> tuple[str, int]:
    """(site_key, port) of a URL, the port defaulting by scheme; ValueError for a bad port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return fold_host(parts.hostname or ""), port


def fold_host(host: str) -> str:
    """A host name as `site_key` spells it (lower case, no 'www.', no trailing dot)."""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def parse_duration(value: Any, maximum: float = MAX_RECRAWL_AFTER) -> float:
    """Seconds from a number or '30m'/'12h'/'7d'/'2w', finite and at most `maximum`."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) if math.isfinite(value) else None
    elif isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds is None:
        raise ValueError(f"expected seconds or a duration like '12h' or '7d', got {value!r}")
    if seconds < 0:
        raise ValueError("must not be negative")
    if seconds > maximum:
        raise ValueError(f"must be at most {maximum:g} seconds, got {value!r}")
    return seconds


class _Reader:
    """Typed access to one TOML table with errors that say where."""

    def __init__(self, path: Path, where: str, table: dict[str, Any]) -> None:
        self.path, self.where, self.table = path, where, table

    def fail(self, key: str, message: str) -> SourceConfigError:
        return SourceConfigError(f"{self.path}: {self.where}: key {key!r}: {message}")

    def urls(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "expected a list of URLs")
        for url in value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise self.fail(key, f"{url!r} is not an http(s) URL")
            try:
                parts.port  # noqa: B018 - urllib checks the port when it is read
            except ValueError:
                raise self.fail(key, f"{url!r} has a bad port") from None
        return tuple(value)

    def patterns(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "expected a list of regular expressions")
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise self.fail(key, f"bad regular expression {pattern!r}: {exc}") from None
        return tuple(value)

    def duration(self, key: str, default: float) -> float:
        """Seconds from a number or a "12h"/"7d" string, or a readable error naming the key."""
        try:
            return parse_duration(self.table.get(key, default))
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def number(self, key: str, default: Any, kind: type, minimum: float, maximum: float) -> Any:
        """A finite number in [minimum, maximum] (TOML allows inf and nan; they hang a crawl)."""
        value = self.table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise self.fail(key, f"expected a finite number, got {value!r}")
        if kind is int and not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {value!r}")
        if not minimum <= value <= maximum:
            raise self.fail(key, f"must be between {minimum:g} and {maximum:g}, got {value!r}")
        return kind(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def unknown(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                raise self.fail(key, f"unknown key (known: {', '.join(sorted(allowed))})")


def _source(path: Path, index: int, table: Any) -> Source:
    if not isinstance(table, dict):
        raise SourceConfigError(f"{path}: source #{index + 1}: expected a [[source]] table")
    name = table.get("name")
    where = f"source {name!r}" if isinstance(name, str) else f"source #{index + 1}"
    r = _Reader(path, where, table)
    if not isinstance(name, str) or not name.strip():
        raise r.fail("name", "every source needs a non-empty name")
    r.unknown(SOURCE_KEYS)
    start, feeds, maps = r.urls("start_urls"), r.urls("feeds"), r.urls("sitemaps")
    if not (start or feeds or maps):
        raise r.fail("start_urls", "a source needs start_urls, feeds or sitemaps")
    languages = table.get("languages", [])
    if isinstance(languages, str):
        languages = [languages]
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise r.fail("languages", "expected a list of language codes like ['en']")
    return Source(
        name=name,
        start_urls=start,
        feeds=feeds,
        sitemaps=maps,
        allow=r.patterns("allow"),
        deny=r.patterns("deny"),
        follow=r.patterns("follow"),
        max_pages=r.number("max_pages", None, int, 1, MAX_PAGES),
        allow_private_addresses=r.flag("allow_private_addresses", False),
        recrawl_after=r.duration("recrawl_after", 7 * 86400),
        reverify_after=r.duration("reverify_after", REVERIFY_AFTER),
        languages=tuple(x.lower() for x in languages),
        delay=r.number("delay", None, float, 0, HOUR),
        max_depth=r.number("max_depth", 8, int, 0, MAX_DEPTH),
    )


def _crawler(path: Path, table: Any) -> CrawlerConfig:
    if table is None:
        return CrawlerConfig()
    if not isinstance(table, dict):
        raise SourceConfigError(f"{path}: [crawler]: expected a table")
    r = _Reader(path, "[crawler]", table)
    r.unknown(CRAWLER_KEYS)
    contact = table.get("contact", DEFAULT_CONTACT)
    if not isinstance(contact, str) or not contact.startswith(("http://", "https://", "mailto:")):
        raise r.fail("contact", "expected a URL where site owners can reach you")
    for key in ("warc_dir", "user_agent"):
        if key in table and not isinstance(table[key], str):
            raise r.fail(key, "expected a string")
    redis_url = table.get("redis_url")
    if redis_url is not None and (
        not isinstance(redis_url, str) or not redis_url.startswith(REDIS_SCHEMES)
    ):
        raise r.fail("redis_url", "expected a URL like 'redis://127.0.0.1:6379/0'")
    return CrawlerConfig(
        contact=contact,
        delay=r.number("delay", 1.0, float, 0, HOUR),
        timeout=r.number("timeout", 20.0, float, 1, HOUR),
        max_bytes=r.number("max_bytes", 5 * 1024 * 1024, int, 1024, MAX_BYTES),
        warc_dir=table.get("warc_dir"),
        user_agent=table.get("user_agent"),
        batch_size=r.number("batch_size", 25, int, 1, MAX_BATCH),
        redis_url=redis_url,
        redis_max_idle=r.number("redis_max_idle", 5.0, float, 0.5, 24 * HOUR),
        extract_workers=r.number("extract_workers", None, int, 0, MAX_EXTRACT_WORKERS),
    )


def _extract(path: Path, table: Any) -> ExtractConfig:
    if table is None:
        return ExtractConfig()
    if not isinstance(table, dict):
        raise SourceConfigError(f"{path}: [extract]: expected a table")
    r = _Reader(path, "[extract]", table)
    r.unknown(EXTRACT_KEYS)
    if "transformer_ner" not in table:
        return ExtractConfig()
    return ExtractConfig(transformer_ner=r.flag("transformer_ner", False))


def read_sources_text(path: Path) -> str:
    """The file's text; TOML is UTF-8, so another encoding is named with its line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceConfigError(f"{path}: sources file not found") from None
    except IsADirectoryError:
        raise SourceConfigError(f"{path}: is a directory, not a sources file") from None
    except OSError as exc:
        raise SourceConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceConfigError(
            f"{path}: line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        ) from None


def load_sources(path: Path) -> SourcesFile:
    """Read and validate a sources file."""
    try:
        raw = tomllib.loads(read_sources_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise SourceConfigError(f"{path}: not valid TOML: {exc}") from None
    for key in raw:
        if key not in ("source", "crawler", "extract"):
            raise SourceConfigError(f"{path}: unknown top-level key {key!r} (use [[source]])")
    tables = raw.get("source", [])
    if not isinstance(tables, list) or not tables:
        raise SourceConfigError(f"{path}: no [[source]] tables found")
    sources = tuple(_source(path, i, t) for i, t in enumerate(tables))
    seen: set[str] = set()
    for src in sources:
        if src.name in seen:
            raise SourceConfigError(f"{path}: source {src.name!r}: key 'name': used twice")
        seen.add(src.name)
    return SourcesFile(
        path, sources, _crawler(path, raw.get("crawler")), _extract(path, raw.get("extract"))
    )

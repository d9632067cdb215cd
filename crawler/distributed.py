"""Several crawler processes sharing one source's frontier through Redis (scrapy-redis).

Opt-in: `[crawler] redis_url = "redis://host:6379/0"` in the sources file or
`linernotes crawl --redis URL`; without it this module is never imported. With it,
every worker of a source (on one machine or many) uses these Redis keys:

- `linernotes:<source>:requests`: scrapy-redis's priority queue, the shared frontier
  every worker pops from;
- `linernotes:<source>:dupefilter`: fingerprints of every URL any worker scheduled.
  The fingerprint is of *our* canonical URL (tracking parameters and fragments folded,
  as in the `documents` table), so two spellings of a page are one request. Seeds
  are filtered too in shared mode, so N workers enqueue them once, not N times;
- `linernotes:<source>:workers`: live workers and their last heartbeat.

A worker exits once the queue has stayed empty for `redis_max_idle` seconds (a
scrapy-redis spider would otherwise idle forever). The last worker to leave a
finished crawl deletes the dupefilter, so the next crawl fetches the seeds again;
an interrupted crawl leaves queue and dupefilter in place and the next workers
resume from them. Requests are stored as JSON, never pickles: write access to Redis
must not mean code execution in every worker. The database stays the store of
record: documents are unique by canonical URL whichever worker saved them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy_redis.connection import get_redis, get_redis_from_settings
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from linernotes.crawler.errors import CrawlerError
from linernotes.crawler.urls import canonicalize

KEY_PREFIX = "linernotes"
STALE_WORKER_AFTER = 120.0  # seconds without a heartbeat: the worker is presumed dead
POLL_INTERVAL = 1.0  # seconds between looks at the shared queue while idle (Scrapy: 5)

# Atomically: dead workers are forgotten and this one registers. The first worker of a
# crawl (nobody else alive, nothing queued) drops a dupefilter left by a crawl whose
# workers were killed, so seeds are fetched again; with requests queued it resumes.
# Returns the number of other live workers.
_JOIN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[1])
local others = redis.call('ZCARD', KEYS[1])
if others == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3], KEYS[4])
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return others
"""

# Atomically: this worker leaves, dead workers are forgotten, and when nobody is left
# and the queue is empty (the crawl finished) the dupefilter goes, so the next crawl
# starts afresh. Returns the number of live workers still registered.
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local left = redis.call('ZCARD', KEYS[1])
if left == 0 and ARGV[3] == '1' and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3], KEYS[4])
end
return left
"""

# Atomically: may one more page be scheduled under the crawl-wide max_pages? A page
# another worker already scheduled is allowed (the shared dupefilter drops it); ARGV[2]
# < 0 records without limit (seeds).
_TAKE_PAGE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
local limit = tonumber(ARGV[2])
if limit >= 0 and redis.call('SCARD', KEYS[1]) >= limit then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
"""


class RedisUnavailableError(CrawlerError):
    """The Redis server of a shared frontier cannot be reached."""


@dataclass(frozen=True)
class SharedKeys:
    """The Redis keys of one source's shared frontier."""

    requests: str
    dupefilter: str
    workers: str
    pages: str  # canonical URLs of the pages scheduled in this crawl (for max_pages)

    @classmethod
    def of(cls, source: str) -> SharedKeys:
        base = f"{KEY_PREFIX}:{source}"
        return cls(f"{base}:requests", f"{base}:dupefilter", f"{base}:workers", f"{base}:pages")

    def lifecycle(self) -> list[str]:
        """The keys the join and leave scripts take, in their order."""
        return [self.workers, self.requests, self.dupefilter, self.pages]


class SharedPageBudget:
    """A source's `max_pages` counted across every worker of a shared crawl.

    Why: each worker schedules the links of the pages it parses, so a budget
    per worker lets n workers fetch n times `max_pages`.
    """

    def __init__(self, client: Any, source: str, limit: int) -> None:
        self.client = client
        self.key = SharedKeys.of(source).pages
        self.limit = limit

    def take(self, canonical: str, *, force: bool = False) -> bool:
        """Schedule `canonical` if the crawl-wide budget allows (always, with force)."""
        limit = -1 if force else self.limit
        return bool(self.client.eval(_TAKE_PAGE, 1, self.key, canonical, limit))


def display_url(redis_url: str) -> str:
    """The URL without its password (it ends up in locks, logs and error messages)."""
    parts = urlsplit(redis_url)
    if parts.password is None:
        return redis_url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def lock_owner(redis_url: str) -> str:
    """The `crawl_locks` owner every worker of a shared frontier uses.

    All workers on the same Redis hold the source's lock together (each run's own
    `host:pid` would refuse the second worker), while a plain run of the source
    is still refused as long as they beat it.
    """
    return f"redis:{display_url(redis_url)}"


def connect(redis_url: str) -> Any:
    """A client for `redis_url`, checked with PING so a wrong URL fails before crawling."""
    client = get_redis(url=redis_url, socket_connect_timeout=5, socket_timeout=30)
    try:
        client.ping()
    except Exception as exc:
        raise RedisUnavailableError(
            f"cannot reach Redis at {display_url(redis_url)} for the shared frontier: {exc}"
        ) from None
    return client


def live_workers(client: Any, source: str) -> int:
    """How many workers of `source` beat within STALE_WORKER_AFTER."""
    return int(
        client.zcount(SharedKeys.of(source).workers, time.time() - STALE_WORKER_AFTER, "+inf")
    )


def scrapy_settings(redis_url: str, max_idle: float, extensions: dict[str, Any]) -> dict[str, Any]:
    """The Scrapy settings that turn a run into a shared-frontier worker."""
    return {
        "SCHEDULER": "linernotes.crawler.distributed.SharedScheduler",
        "DUPEFILTER_CLASS": "linernotes.crawler.distributed.CanonicalDupeFilter",
        # workers share the queue: none may clear it when it closes (SharedCrawl cleans up)
        "SCHEDULER_PERSIST": True,
        "REDIS_URL": redis_url,
        "LN_REDIS_MAX_IDLE": max_idle,
        "EXTENSIONS": extensions | {"linernotes.crawler.distributed.SharedCrawl": 500},
    }


# --- requests as JSON ----------------------------------------------------------------------

_BYTES, _PAIRS = "__ln_bytes__", "__ln_pairs__"


def _pack(value: Any) -> Any:
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _pack(v) for k, v in value.items()}
        return {_PAIRS: [[_pack(k), _pack(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_pack(v) for v in value]
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_BYTES}:
            return base64.b64decode(value[_BYTES])
        if set(value) == {_PAIRS}:
            return {_unpack(k): _unpack(v) for k, v in value[_PAIRS]}
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


class JsonRequestCodec:
    """scrapy-redis serializer for `Request.to_dict()`: JSON with tagged bytes."""

    @staticmethod
    def dumps(obj: dict[str, Any]) -> str:
        return json.dumps(_pack(obj), separators=(",", ":"))

    @staticmethod
    def loads(data: str | bytes) -> dict[str, Any]:
        return dict(_unpack(json.loads(data)))


# --- scheduler and dupefilter --------------------------------------------------------------


class CanonicalDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """scrapy-redis's Redis-set dupefilter, keyed per source on our canonical URL."""

    @classmethod
    def from_spider(cls, spider: Any) -> CanonicalDupeFilter:
        server = get_redis_from_settings(spider.settings)
        return cls(server, key=SharedKeys.of(spider.source.name).dupefilter)

    def request_fingerprint(self, request: Any) -> str:
        body = hashlib.sha1(request.body or b"").hexdigest()
        data = f"{request.method} {canonicalize(request.url)} {body}"
        return hashlib.sha1(data.encode("utf-8")).hexdigest()


class SharedScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler with per-source keys and JSON requests."""

    def open(self, spider: Any) -> None:
        self.spider = spider
        keys = SharedKeys.of(spider.source.name)
        # the queue %-formats its key with the spider name: escape a '%' in a source name
        self.queue = PriorityQueue(
            server=self.server,
            spider=spider,
            key=keys.requests.replace("%", "%%"),
            serializer=JsonRequestCodec,
        )
        self.df = CanonicalDupeFilter.from_spider(spider)
        if len(self.queue):
            spider.logger.info("joining a shared crawl: %d requests queued", len(self.queue))


# --- worker lifecycle ----------------------------------------------------------------------


class SharedCrawl:
    """Scrapy extension: registers the worker, ends it when the queue stays empty,
    and lets the last worker of a finished crawl clear the dupefilter."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.max_idle = crawler.settings.getfloat("LN_REDIS_MAX_IDLE", 5.0)
        self.server = get_redis_from_settings(crawler.settings)
        self.worker = _worker_id()
        self.keys: SharedKeys | None = None
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedCrawl:
        ext = cls(crawler)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.beat, signal=signals.response_received)
        crawler.signals.connect(ext.idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self, spider: Any) -> None:
        self.keys = SharedKeys.of(spider.source.name)
        keys = self.keys.lifecycle()
        now = time.time()
        others = self.server.eval(
            _JOIN, len(keys), *keys, self.worker, now - STALE_WORKER_AFTER, now
        )
        spider.logger.info("shared frontier: %d other live workers", others)
        # Scrapy looks at an idle scheduler every 5 s; a worker waiting for the others'
        # links should look more often. Read when the engine starts, right after this.
        self.crawler.engine._SLOT_HEARTBEAT_INTERVAL = POLL_INTERVAL

    def beat(self, **_: Any) -> None:
        if self.keys is not None:
            self.server.zadd(self.keys.workers, {self.worker: time.time()})

    def idle(self, spider: Any) -> None:
        """Keep the worker alive while the shared queue holds work or has not stayed empty."""
        assert self.keys is not None
        self.beat()
        if self.server.zcard(self.keys.requests) > 0:
            self.idle_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.max_idle:
            raise DontCloseSpider

    def closed(self, spider: Any, reason: str) -> None:
        if self.keys is None:
            return
        keys = self.keys.lifecycle()
        stale = time.time() - STALE_WORKER_AFTER
        finished = "1" if reason == "finished" else "0"
        self.server.eval(_LEAVE, len(keys), *keys, self.worker, stale, finished)


def _worker_id() -> str:
    from linernotes.storage.documents import lock_owner as host_pid

    return host_pid()

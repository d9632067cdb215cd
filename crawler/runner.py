"""One crawl run: lock the sources, run one spider per source, record and summarise.

`crawl_sources` is the public entry point (`linernotes crawl` and `linernotes
run` call it). Scrapy's Twisted reactor cannot be restarted inside a
process, so it may be called once per process; tests run it in child
processes (`python -m linernotes crawl ...`).

The `RunContext` is the state every spider of the run shares: the store,
the run id, the WARC archive, the near-duplicate index and the counters that
become the run's stats and the terminal summary. What it builds lives next
door: document records and error names in crawler/records.py, the counters
and the summary in crawler/summary.py, the lock helpers in crawler/locks.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from linernotes.crawler.dedup import SimhashIndex
from linernotes.crawler.locks import lock_owner, releasable, shared_frontier
from linernotes.crawler.offload import Offload, default_workers
from linernotes.crawler.records import (
    build_page,
    error_kind,
    not_modified_record,
    response_headers,
)
from linernotes.crawler.shutdown import StopState, stop_on_signals
from linernotes.crawler.sources import Source, load_sources
from linernotes.crawler.summary import CrawlSummary, SourceStats
from linernotes.crawler.urls import canonicalize
from linernotes.crawler.writer import Writer, reactor_first
from linernotes.storage import Store
from linernotes.storage import documents as docs

if TYPE_CHECKING:
    from linernotes.crawler.spiders.site import SiteSpider
    from linernotes.crawler.warc import WarcArchive

_reactor_used = False


class RunContext:
    """State shared by the spiders and pipelines of one run."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        source_ids: dict[str, int],
        sources: dict[str, Source],
        max_pages: int | None,
        max_bytes: int,
        warc: WarcArchive | None,
        owner: str,
        extract_workers: int = 0,
    ) -> None:
        self.store, self.run_id, self.source_ids = store, run_id, source_ids
        self.sources, self.max_pages, self.max_bytes = sources, max_pages, max_bytes
        self.warc, self.owner = warc, owner
        self.redis_url: str | None = None  # set: the frontier is shared (crawler/distributed.py)
        self.started_at = datetime.now(UTC)
        self.stats: dict[str, SourceStats] = {name: SourceStats() for name in sources}
        self.near = SimhashIndex()
        self.near.add_many(docs.load_simhashes(store))
        self.offload = Offload(extract_workers)  # forks: before the writer thread exists
        self.writer = Writer()

    def stats_for(self, name: str) -> SourceStats:
        return self.stats[name]

    def frontier(self, source_id: int) -> dict[str, docs.FrontierEntry]:
        return docs.load_frontier(self.store, source_id)

    def validators(self, source_id: int) -> dict[str, docs.Validators]:
        return docs.load_validators(self.store, source_id)

    def stats_dict(self) -> dict[str, Any]:
        return {name: s.as_dict() for name, s in self.stats.items()}

    # --- signals and items ---------------------------------------------------------------

    def on_response(self, response: Any, request: Any, spider: Any = None, **_: Any) -> None:
        """Archive every response (robots.txt, feeds, redirects, errors included)."""
        source = request.meta.get("ln_source") or getattr(spider, "source", None)
        name = source.name if isinstance(source, Source) else None
        if name is None and len(self.stats) == 1:
            name = next(iter(self.stats))
        if name in self.stats:
            self.stats[name].count("counts", "fetched")
        if self.warc is not None:  # written by the writer thread (crawler/writer.py)
            headers = [(k, v) for k, values in response.headers.items() for v in values]
            args = (response.url, response.status, headers, response.body, name)
            self.writer.submit(f"the archive record of {response.url}", self.warc.write, *args)

    async def page_record(
        self, spider: SiteSpider, response: Any, html: bool
    ) -> tuple[docs.DocumentRecord, list[str]]:
        """The document of a fetched page and (`html`) its links, from a worker process
        (crawler/offload.py)."""
        raw = (type(response), dict(response.headers)) if html else None
        return await self.offload.run(
            build_page,
            response.url,
            response.status,
            response_headers(response),
            response.body,
            spider.source_id,
            spider.source.languages,
            raw,
        )

    def page_item(
        self,
        spider: SiteSpider,
        response: Any,
        requests: list[Any],
        record: docs.DocumentRecord | None = None,
    ) -> dict[str, Any]:
        """The pipeline's unit of work: maybe a document, the links found, the URLs handled.

        `record` is the page's document when it is stored (`page_record`); a 304 gets
        a not-modified record here.
        """
        meta = response.meta
        kind = meta["ln_kind"]
        final = canonicalize(response.url)
        handled = [(response.url, final, kind, "done")]
        if meta["ln_canonical"] != final:
            handled.append((response.request.url, meta["ln_canonical"], kind, "done"))
        links = [
            (r.url, r.meta["ln_canonical"], r.meta["ln_kind"], r.meta["ln_depth"]) for r in requests
        ]
        if response.status == 304:
            record = not_modified_record(response.url, meta["ln_canonical"], spider.source_id)
        return {
            "source_id": spider.source_id,
            "source": spider.source.name,
            "record": record,
            "links": links,
            "handled": handled,
        }

    def failure_item(self, spider: SiteSpider, request: Any, failure: Any) -> dict[str, Any]:
        from linernotes.crawler.resolver import refused_address

        kind = error_kind(failure)
        if kind == "dns" and refused_address(urlsplit(request.url).hostname or ""):
            kind = "private_address"  # the resolver refused the answer (crawler/resolver.py)
        spider.counts.count("errors", kind)
        meta = request.meta
        handled = [
            (
                request.url,
                meta.get("ln_canonical") or canonicalize(request.url),
                meta.get("ln_kind", "page"),
                "failed",
            )
        ]
        return {
            "source_id": spider.source_id,
            "source": spider.source.name,
            "record": None,
            "links": [],
            "handled": handled,
        }


# --- the public entry point ------------------------------------------------------------


def default_warc_dir(store: Store) -> Path:
    """Archives live next to a SQLite database, else in ./warc (or $LINERNOTES_WARC_DIR)."""
    env = os.environ.get("LINERNOTES_WARC_DIR")
    if env:
        return Path(env)
    if store.dialect == "sqlite" and store.engine.url.database:
        return Path(store.engine.url.database).resolve().parent / "warc"
    return Path("warc").resolve()


def crawl_sources(
    store: Store,
    sources_file: Path,
    source: str | None = None,
    max_pages: int | None = None,
    *,
    debug: bool = False,
    redis_url: str | None = None,
) -> CrawlSummary:
    """Crawl the sources of `sources_file` (or the one named `source`) into `store`.

    `redis_url` (or the file's `[crawler] redis_url`) makes this process one worker
    of a frontier shared through Redis: workers of a source run side by side.
    Raises SourceConfigError for a bad file and CrawlLockedError when another
    live run holds one of the sources. Once per process (Scrapy's reactor).
    """
    global _reactor_used
    config = load_sources(Path(sources_file))
    chosen = config.select(source)
    if _reactor_used:
        raise RuntimeError("crawl_sources can run once per process (Scrapy's reactor)")
    cfg = replace(config.crawler, redis_url=redis_url or config.crawler.redis_url)
    redis = shared_frontier(cfg.redis_url)
    names = [s.name for s in chosen]
    source_ids = {s.name: docs.ensure_source(store, s.name, s.as_config()) for s in chosen}
    warc_dir = Path(cfg.warc_dir) if cfg.warc_dir else default_warc_dir(store)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    with stop_on_signals() as stopped:
        run_id = docs.start_run(store, names, str(warc_dir / f"crawl-{{run_id}}-{stamp}.warc.gz"))
        owner = lock_owner(cfg.redis_url)
        try:
            docs.acquire_locks(store, names, run_id, owner)
        except docs.CrawlLockedError as exc:
            docs.finish_run(store, run_id, "failed", {"error": str(exc)})
            raise
        try:
            job = _Job(cfg, chosen, source_ids, run_id, owner, max_pages, debug)
            return _run(store, job, stopped)
        finally:
            docs.release_locks(store, releasable(redis, names), owner)


@dataclass(frozen=True)
class _Job:
    """What `_run` needs besides the store: the run's settings, sources and identity."""

    cfg: Any
    chosen: tuple[Source, ...]
    source_ids: dict[str, int]
    run_id: int
    owner: str
    max_pages: int | None
    debug: bool


def _preload_download_handler() -> None:
    """Import Scrapy's HTTP download handler now, from a thread of its own.

    Why: the module builds deprecated aliases through scrapy.utils.deprecate, which
    calls inspect.stack(): it reads the source of every frame on the stack and scans
    sys.modules for each. Imported where Scrapy does it (deep under click, the runner
    and the engine, with a thousand modules loaded) it cost 0.6 s of every crawl's
    start-up; from a fresh thread's shallow stack 0.15 s. Same module, same result.
    """
    import importlib
    import threading

    name = "scrapy.core.downloader.handlers.http11"
    loader = threading.Thread(target=importlib.import_module, args=(name,), daemon=True)
    loader.start()
    loader.join()


def _run(store: Store, job: _Job, stopped: StopState) -> CrawlSummary:
    global _reactor_used
    import logging

    from scrapy.crawler import CrawlerProcess

    from linernotes.crawler.settings import build_settings
    from linernotes.crawler.spiders.site import SiteSpider
    from linernotes.crawler.warc import WarcArchive

    cfg, chosen, run_id, debug = job.cfg, job.chosen, job.run_id, job.debug

    _preload_download_handler()
    warc_path = docs.run_warc_path(store, run_id)
    warc = WarcArchive(Path(warc_path)) if warc_path else None
    ctx = RunContext(
        store,
        run_id,
        job.source_ids,
        {s.name: s for s in chosen},
        job.max_pages,
        cfg.max_bytes,
        warc,
        job.owner,
        default_workers() if cfg.extract_workers is None else cfg.extract_workers,
    )
    ctx.redis_url = cfg.redis_url
    status, error = "failed", None
    try:
        trusted = sorted({h for s in chosen if s.allow_private_addresses for h in s.hosts})
        settings = build_settings(cfg, debug) | {
            "LOG_INSTALL_ROOT_HANDLER": False,
            "LN_PRIVATE_HOSTS": trusted,
        }
        process = CrawlerProcess(settings)
        if not debug:
            logging.getLogger("scrapy").setLevel(logging.ERROR)
        for src in chosen:
            process.crawl(SiteSpider, source=src, run=ctx)
        _reactor_used = True
        stopped.process = process
        if not stopped.signalled:
            with reactor_first():  # the writer thread must not starve the reactor
                process.start(install_signal_handlers=False)
        if stopped.signalled:
            status, error = "interrupted", "stopped by a signal"
        else:
            status = "finished"
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted"
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        ctx.offload.close()
        ctx.writer.close()
        if warc is not None:
            warc.close()
        stats: dict[str, Any] = {"sources": ctx.stats_dict()}
        if error:
            stats["error"] = error
        docs.finish_run(store, run_id, status, stats)
    return CrawlSummary(run_id, status, ctx.stats_dict(), warc_path, error)

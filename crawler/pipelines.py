"""The storage pipeline: items are written in batches through `storage.documents`.

A batch carries documents together with the frontier changes of the pages
that produced them (links discovered, URLs handled) and commits them in one
transaction: after a SIGKILL the database holds either a page, its document
and its links, or none of them, so the next run neither loses nor repeats
anything. Each flush also beats the source lock and saves progress stats.
"""

from __future__ import annotations

from typing import Any

from linernotes.storage import documents as docs

BATCH_SIZE = 25


class StoragePipeline:
    """Buffers items and saves them `LN_BATCH_SIZE` at a time (and at close)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.batch_size = crawler.settings.getint("LN_BATCH_SIZE", BATCH_SIZE)
        self.buffer: list[dict[str, Any]] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> StoragePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def close_spider(self) -> None:
        self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        spider = self.crawler.spider
        run = spider.run
        items, self.buffer = self.buffer, []
        records = [i["record"] for i in items if i["record"] is not None]
        frontier: dict[int, tuple[list[Any], list[Any]]] = {}
        for item in items:
            links, handled = frontier.setdefault(item["source_id"], ([], []))
            links.extend(item["links"])
            handled.extend(item["handled"])
        outcomes = docs.save_documents(
            run.store, records, run.run_id, near=run.near, frontier=frontier
        )
        for record, outcome in zip(records, outcomes, strict=True):
            if outcome.outcome == "skipped":
                spider.counts.count("skipped", record.skip_reason or "unknown")
                spider.counts.count("counts", "skipped")
            else:
                spider.counts.count("counts", outcome.outcome)
        docs.heartbeat(run.store, [spider.source.name], run.owner)
        docs.update_run_stats(run.store, run.run_id, {"sources": run.stats_dict()})

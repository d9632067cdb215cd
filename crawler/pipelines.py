"""The storage pipeline: items are written in batches through `storage.documents`.

A batch carries documents together with the frontier changes of the pages
that produced them (links discovered, URLs handled) and commits them in one
transaction: after a SIGKILL the database holds either a page, its document
and its links, or none of them, so the next run neither loses nor repeats
anything. Each batch also beats the source lock and saves progress stats.

Batches are committed by the run's writer thread (crawler/writer.py), not in
the reactor: the reactor only fills the buffer and hands a full one over.
`flush` (at close and on a stop signal) hands over what is buffered and waits
until every batch handed over is committed.
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
            self._hand_over()
        return item

    def close_spider(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Save what is buffered and wait until every batch of this run is committed."""
        self._hand_over()
        self.crawler.spider.run.writer.drain()

    def _hand_over(self) -> None:
        if not self.buffer:
            return
        spider = self.crawler.spider
        items, self.buffer = self.buffer, []
        spider.run.writer.submit(f"{len(items)} pages", save_batch, spider, items)


def save_batch(spider: Any, items: list[dict[str, Any]]) -> None:
    """Commit one batch (in the writer thread) and count what happened to each document."""
    run = spider.run
    records = [i["record"] for i in items if i["record"] is not None]
    frontier: dict[int, tuple[list[Any], list[Any]]] = {}
    for item in items:
        links, handled = frontier.setdefault(item["source_id"], ([], []))
        links.extend(item["links"])
        handled.extend(item["handled"])
    outcomes = docs.save_documents(run.store, records, run.run_id, near=run.near, frontier=frontier)
    for record, outcome in zip(records, outcomes, strict=True):
        if outcome.outcome == "skipped":
            spider.counts.count("skipped", record.skip_reason or "unknown")
            spider.counts.count("counts", "skipped")
        else:
            spider.counts.count("counts", outcome.outcome)
        if outcome.replaced is not None:
            spider.counts.count("counts", "took_over")
    docs.heartbeat(run.store, [spider.source.name], run.owner)
    docs.update_run_stats(run.store, run.run_id, {"sources": run.stats_dict()})

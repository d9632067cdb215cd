"""What a crawl run did: per-source counters while it runs, the summary when it ends.

`SourceStats` is filled by the spiders and pipelines of a run (through the run's
`RunContext`); `as_dict()` is what the run stores as its stats. `CrawlSummary` is
what `crawl_sources` returns: the CLI prints `format()` and checks `ok`.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

COUNTERS = (
    "fetched",
    "stored",
    "updated",
    "unchanged",
    "not_modified",
    "duplicate",
    "near_duplicate",
    "skipped",
    "took_over",
)


@dataclass
class SourceStats:
    """Counters of one source in one run.

    The reactor counts fetches and refusals while the writer thread counts saved
    documents and copies the lot into the run's progress stats, hence the lock.
    """

    counts: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    filtered: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, category: str, key: str, n: int = 1) -> None:
        counter = {"skipped": self.skipped, "errors": self.errors, "filtered": self.filtered}
        with self._lock:
            counter.get(category, self.counts)[key] += n

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                **{k: self.counts.get(k, 0) for k in COUNTERS},
                "skipped_by_reason": dict(self.skipped),
                "errors": dict(self.errors),
                "filtered": dict(self.filtered),
            }


@dataclass
class CrawlSummary:
    """What a run did; `format()` is the terminal summary."""

    run_id: int
    status: str
    sources: dict[str, dict[str, Any]]
    warc_path: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"

    def total(self, key: str) -> int:
        return sum(int(s.get(key, 0)) for s in self.sources.values())

    def errors(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for stats in self.sources.values():
            total.update(stats.get("errors", {}))
        return total

    def format(self) -> str:
        lines = [
            f"crawl run {self.run_id}: {self.status}" + (f" ({self.error})" if self.error else ""),
            f"  pages fetched {self.total('fetched')}, stored {self.total('stored')} new, "
            f"{self.total('updated')} updated, {self.total('unchanged')} unchanged, "
            f"{self.total('not_modified')} not modified, "
            f"duplicates {self.total('duplicate')} exact + {self.total('near_duplicate')} near, "
            f"skipped {self.total('skipped')}",
        ]
        took_over = self.total("took_over")
        if took_over:
            # a copy fetched first was counted as stored; its original demoted it since
            pages = "1 stored page" if took_over == 1 else f"{took_over} stored pages"
            lines.append(
                f"  earlier publications: {pages} took over the copy of their text fetched"
                " before them (the copy is now their duplicate)"
            )
        errors = self.errors()
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "none"
        lines.append(f"  errors: {kinds}")
        for name, stats in sorted(self.sources.items()):
            lines.append(
                f"  {name}: fetched {stats.get('fetched', 0)}, stored {stats.get('stored', 0)}, "
                f"updated {stats.get('updated', 0)}, "
                f"duplicates {stats.get('duplicate', 0) + stats.get('near_duplicate', 0)}, "
                f"errors {sum(stats.get('errors', {}).values())}"
            )
        if self.warc_path:
            lines.append(f"  archive: {self.warc_path}")
        return "\n".join(lines)

"""The crawl frontier: every URL a source discovered, pending or handled.

Kept in the database (committed with the documents of the same batch, see
`storage.documents.save_documents`), so a killed run resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from linernotes.storage.db import Store
from linernotes.storage.models import CrawlFrontier
from linernotes.storage.runs import now, source_rows
from linernotes.storage.upsert import upsert

Link = tuple[str, str, str, int]  # url, canonical_url, kind, depth: discovered
Handled = tuple[str, str, str, str]  # url, canonical_url, kind, status: fetched or refused


@dataclass(frozen=True)
class FrontierEntry:
    url: str
    canonical_url: str
    kind: str
    depth: int
    status: str
    done_at: datetime | None


def load_frontier(store: Store, source_id: int) -> dict[str, FrontierEntry]:
    """Every URL this source ever discovered, by canonical URL."""
    f = CrawlFrontier
    rows = source_rows(
        store, f.source_id, source_id, f.url, f.canonical_url, f.kind, f.depth, f.status, f.done_at
    )
    out = {}
    for r in rows:
        done = r[5].replace(tzinfo=UTC) if r[5] is not None and r[5].tzinfo is None else r[5]
        out[r[1]] = FrontierEntry(r[0], r[1], r[2], r[3], r[4], done)
    return out


def _row(
    source_id: int, url: str, canonical: str, kind: str, depth: int, status: str, stamp: datetime
) -> dict[str, Any]:
    """One frontier row, discovered now; handled now unless still pending."""
    return {
        "source_id": source_id,
        "url": url,
        "canonical_url": canonical,
        "kind": kind,
        "depth": depth,
        "status": status,
        "discovered_at": stamp,
        "done_at": None if status == "pending" else stamp,
    }


def add_to_frontier(session: Session, source_id: int, links: Iterable[Link]) -> None:
    """Record discovered (url, canonical_url, kind, depth) as pending; known ones stay."""
    stamp = now()
    rows = [_row(source_id, u, c, k, depth, "pending", stamp) for u, c, k, depth in links]
    upsert(session, CrawlFrontier, rows, keys=["source_id", "canonical_url"], update=[])


def mark_frontier(session: Session, source_id: int, done: Iterable[Handled]) -> None:
    """Mark (url, canonical_url, kind, status) handled; unknown URLs are added as handled."""
    stamp = now()
    rows = [_row(source_id, u, c, k, 0, status, stamp) for u, c, k, status in done]
    upsert(
        session,
        CrawlFrontier,
        rows,
        keys=["source_id", "canonical_url"],
        update=["status", "done_at"],
    )

"""Sources and crawl runs: the rows that say what was crawled, when, and how it went.

A run row is written when a crawl starts, its stats are refreshed while it goes
(so a killed run still leaves its counts) and it is closed with a status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from linernotes.storage.db import Store
from linernotes.storage.models import CrawlRun, Source


def now() -> datetime:
    return datetime.now(UTC)


def ensure_source(store: Store, name: str, config: dict[str, Any]) -> int:
    """The id of source `name`, created or its config refreshed.

    Workers of a shared frontier start together: when another one creates the row
    between our look and our insert, the unique name refuses ours and we use theirs.
    """
    try:
        return _ensure_source(store, name, config)
    except IntegrityError:
        return _ensure_source(store, name, config)


def _ensure_source(store: Store, name: str, config: dict[str, Any]) -> int:
    with store.session() as session:
        row = session.scalar(select(Source).where(Source.name == name))
        if row is None:
            row = Source(name=name, config=config, created_at=now())
            session.add(row)
            session.flush()
        else:
            row.config = config
        return row.id


def source_rows(store: Store, source_column: Any, source_id: int, *columns: Any) -> list[Any]:
    """`columns` of every row of one source in the table of `source_column`."""
    with store.session() as session:
        return list(session.execute(select(*columns).where(source_column == source_id)).all())


def start_run(store: Store, sources: Sequence[str], warc_template: str | None = None) -> int:
    """Record a new run; `warc_template` may contain '{run_id}' (the archive is per run)."""
    with store.session() as session:
        run = CrawlRun(sources=list(sources), started_at=now(), status="running", stats={})
        session.add(run)
        session.flush()
        if warc_template:
            run.warc_path = warc_template.format(run_id=run.id)
        return run.id


def run_warc_path(store: Store, run_id: int) -> str | None:
    with store.session() as session:
        return session.scalar(select(CrawlRun.warc_path).where(CrawlRun.id == run_id))


def finish_run(store: Store, run_id: int, status: str, stats: dict[str, Any]) -> None:
    with store.session() as session:
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id)
            .values(status=status, stats=stats, finished_at=now())
        )


def update_run_stats(store: Store, run_id: int, stats: dict[str, Any]) -> None:
    """Progress so far, so a killed run still leaves its counts behind."""
    with store.session() as session:
        session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(stats=stats))


def warc_paths(store: Store) -> list[tuple[int, str]]:
    """(run id, WARC path) of every run that archived responses, oldest first."""
    with store.session() as session:
        rows = session.execute(
            select(CrawlRun.id, CrawlRun.warc_path)
            .where(CrawlRun.warc_path.is_not(None))
            .order_by(CrawlRun.id)
        ).all()
    return [(int(r[0]), str(r[1])) for r in rows]

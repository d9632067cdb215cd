"""Document persistence for the crawler: documents, duplicates, frontier, runs, locks.

The crawler (or `reextract`) hands batches of plain `DocumentRecord`s here;
this module decides, inside one transaction per batch, whether each record
is new, unchanged, changed (content_hash moves, so the NLP stage sees
content_hash != extracted_hash and re-extracts), an exact duplicate of
another document (same content_hash) or a near-duplicate (a caller-supplied
SimHash lookup): duplicates are recorded as skipped rows pointing at the
original through `duplicate_of`, with no second copy of the text.

The frontier and the lock live here too so a killed run resumes from the
database and two runs of one source never overlap, on SQLite and PostgreSQL
alike. Nothing here imports Scrapy.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import StorageError, Store
from storage.models import (
    CrawlFrontier,
    CrawlLock,
    CrawlRun,
    Document,
    DocumentSubject,
    Mention,
    Source,
)
from storage.upsert import upsert

STALE_LOCK_AFTER = timedelta(minutes=15)


class NearIndex(Protocol):
    """A SimHash index the caller owns (the crawler's in-memory one)."""

    def near(self, value: int, exclude: int | None = None) -> int | None: ...

    def add(self, doc_id: int, value: int) -> None: ...

    def discard(self, doc_id: int) -> None: ...


class CrawlLockedError(StorageError):
    """Another live run holds a source's lock."""


@dataclass
class DocumentRecord:
    """One fetched page as the crawler saw it (no ORM, no Scrapy)."""

    url: str
    canonical_url: str
    source_id: int | None
    fetched_at: datetime
    http_status: int | None = 200
    status: str = "stored"
    skip_reason: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    text: str | None = None
    content_hash: str | None = None
    simhash: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    not_modified: bool = False
    check_near: bool = True  # false for texts too short for SimHash to mean anything


@dataclass(frozen=True)
class SaveOutcome:
    """What happened to one record: stored, updated, unchanged, not_modified,
    skipped, duplicate or near_duplicate; `doc_id` is its row, `original` the
    document it duplicates.
    """

    canonical_url: str
    outcome: str
    doc_id: int | None
    original: int | None = None


def now() -> datetime:
    return datetime.now(UTC)


# --- sources and runs -------------------------------------------------------------------


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


# --- locks ------------------------------------------------------------------------------


def lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(owner: str, heartbeat: datetime) -> bool:
    """A lock is stale when its process is gone (same host) or it stopped beating."""
    if heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=UTC)
    if now() - heartbeat > STALE_LOCK_AFTER:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire_locks(store: Store, names: Sequence[str], run_id: int, owner: str) -> None:
    """Lock every source for this run, or raise CrawlLockedError and lock none."""
    stamp = now()
    with store.session() as session:
        for name in names:
            upsert(
                session,
                CrawlLock,
                [
                    {
                        "source_name": name,
                        "run_id": run_id,
                        "owner": owner,
                        "acquired_at": stamp,
                        "heartbeat_at": stamp,
                    }
                ],
                keys=["source_name"],
                update=[],
            )
            row = session.get(CrawlLock, name, populate_existing=True)
            assert row is not None
            if row.owner == owner:
                continue
            if not _owner_gone(row.owner, row.heartbeat_at):
                raise CrawlLockedError(
                    f"source {name!r} is already being crawled by run {row.run_id} "
                    f"({row.owner}, since {row.acquired_at:%Y-%m-%d %H:%M:%S}); "
                    "wait for it to finish (a lock whose process is gone is taken over)"
                )
            old_owner, old_run = row.owner, row.run_id
            taken = session.execute(
                update(CrawlLock)
                .where(and_(CrawlLock.source_name == name, CrawlLock.owner == old_owner))
                .values(run_id=run_id, owner=owner, acquired_at=stamp, heartbeat_at=stamp)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                raise CrawlLockedError(f"source {name!r} was locked by another run just now")
            if old_run is not None:
                session.execute(
                    update(CrawlRun)
                    .where(and_(CrawlRun.id == old_run, CrawlRun.status == "running"))
                    .values(status="interrupted", finished_at=stamp)
                )


def heartbeat(store: Store, names: Sequence[str], owner: str) -> None:
    with store.session() as session:
        session.execute(
            update(CrawlLock)
            .where(and_(CrawlLock.source_name.in_(list(names)), CrawlLock.owner == owner))
            .values(heartbeat_at=now())
        )


def release_locks(store: Store, names: Sequence[str], owner: str) -> None:
    with store.session() as session:
        session.query(CrawlLock).filter(
            CrawlLock.source_name.in_(list(names)), CrawlLock.owner == owner
        ).delete(synchronize_session=False)


# --- frontier ---------------------------------------------------------------------------


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
    with store.session() as session:
        rows = session.execute(
            select(
                CrawlFrontier.url,
                CrawlFrontier.canonical_url,
                CrawlFrontier.kind,
                CrawlFrontier.depth,
                CrawlFrontier.status,
                CrawlFrontier.done_at,
            ).where(CrawlFrontier.source_id == source_id)
        ).all()
    out = {}
    for r in rows:
        done = r[5].replace(tzinfo=UTC) if r[5] is not None and r[5].tzinfo is None else r[5]
        out[r[1]] = FrontierEntry(r[0], r[1], r[2], r[3], r[4], done)
    return out


def add_to_frontier(
    session: Session, source_id: int, links: Iterable[tuple[str, str, str, int]]
) -> None:
    """Record discovered (url, canonical_url, kind, depth) as pending; known ones stay."""
    stamp = now()
    rows = [
        {
            "source_id": source_id,
            "url": url,
            "canonical_url": canonical,
            "kind": kind,
            "depth": depth,
            "status": "pending",
            "discovered_at": stamp,
            "done_at": None,
        }
        for url, canonical, kind, depth in links
    ]
    upsert(session, CrawlFrontier, rows, keys=["source_id", "canonical_url"], update=[])


def mark_frontier(
    session: Session, source_id: int, done: Iterable[tuple[str, str, str, str]]
) -> None:
    """Mark (url, canonical_url, kind, status) handled; unknown URLs are added as handled."""
    stamp = now()
    rows = [
        {
            "source_id": source_id,
            "url": url,
            "canonical_url": canonical,
            "kind": kind,
            "depth": 0,
            "status": status,
            "discovered_at": stamp,
            "done_at": stamp,
        }
        for url, canonical, kind, status in done
    ]
    upsert(
        session,
        CrawlFrontier,
        rows,
        keys=["source_id", "canonical_url"],
        update=["status", "done_at"],
    )


# --- documents --------------------------------------------------------------------------


@dataclass(frozen=True)
class Validators:
    """What a conditional GET needs to know about a stored page."""

    etag: str | None
    last_modified: str | None
    content_hash: str | None


def load_validators(store: Store, source_id: int) -> dict[str, Validators]:
    with store.session() as session:
        rows = session.execute(
            select(
                Document.canonical_url,
                Document.etag,
                Document.last_modified,
                Document.content_hash,
            ).where(Document.source_id == source_id)
        ).all()
    return {r[0]: Validators(r[1], r[2], r[3]) for r in rows}


def load_simhashes(store: Store) -> list[tuple[int, int]]:
    """(id, simhash) of every stored original: the near-duplicate index's seed."""
    with store.session() as session:
        rows = session.execute(
            select(Document.id, Document.simhash).where(
                Document.status == "stored",
                Document.duplicate_of.is_(None),
                Document.simhash.is_not(None),
            )
        ).all()
    return [(int(r[0]), int(r[1])) for r in rows if r[1] is not None]


def _values(rec: DocumentRecord, run_id: int | None) -> dict[str, Any]:
    values = {
        "url": rec.url,
        "canonical_url": rec.canonical_url,
        "source_id": rec.source_id,
        "crawl_run_id": run_id,
        "http_status": rec.http_status,
        "status": rec.status,
        "skip_reason": rec.skip_reason,
        "title": rec.title,
        "author": rec.author,
        "published_at": rec.published_at,
        "language": rec.language,
        "text": rec.text,
        "content_hash": rec.content_hash,
        "simhash": rec.simhash,
        "duplicate_of": None,
        "etag": rec.etag,
        "last_modified": rec.last_modified,
        "metadata_json": rec.metadata,
        "fetched_at": rec.fetched_at,
    }
    if run_id is None:  # re-extraction from an archive keeps the run that fetched it
        del values["crawl_run_id"]
    return values


def _write(session: Session, existing: Document | None, values: dict[str, Any]) -> Document:
    if existing is None:
        existing = Document(**values)
        session.add(existing)
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    session.flush()
    return existing


def _exact_original(session: Session, rec: DocumentRecord, own_id: int | None) -> int | None:
    if not rec.content_hash:
        return None
    query = select(Document.id).where(
        Document.content_hash == rec.content_hash,
        Document.status == "stored",
        Document.duplicate_of.is_(None),
        Document.canonical_url != rec.canonical_url,
    )
    if own_id is not None:
        query = query.where(Document.id != own_id)
    return session.scalar(query.order_by(Document.id).limit(1))


def _demote(
    session: Session, existing: Document | None, near: NearIndex | None, original: int | None
) -> None:
    """A stored document stops being one: forget what was extracted from its old text.

    Its mentions and subject would otherwise keep feeding evidence next to the
    original's (the same text counted twice), and copies that pointed at it
    now point at `original` (or stand alone when there is none).
    """
    if existing is None or existing.status != "stored":
        return
    session.execute(delete(Mention).where(Mention.document_id == existing.id))
    session.execute(delete(DocumentSubject).where(DocumentSubject.document_id == existing.id))
    existing.extracted_hash, existing.extracted_at = None, None
    session.execute(
        update(Document).where(Document.duplicate_of == existing.id).values(duplicate_of=original)
    )
    if near is not None:
        near.discard(existing.id)


def _published_earlier(session: Session, rec: DocumentRecord, original: int) -> bool:
    """True when `rec` is dated strictly before the stored original it copies."""
    if rec.published_at is None:
        return False
    theirs = session.scalar(select(Document.published_at).where(Document.id == original))
    if theirs is None:
        return False
    return _naive_utc(rec.published_at) < _naive_utc(theirs)


def _naive_utc(value: datetime) -> datetime:
    """Comparable either way: SQLite gives naive datetimes (UTC), PostgreSQL aware ones."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _take_over(
    session: Session,
    rec: DocumentRecord,
    values: dict[str, Any],
    existing: Document | None,
    original: int,
    kind: str,
    near: NearIndex | None,
) -> SaveOutcome:
    """`rec` was published before the text it copies: it becomes the original.

    Why: a syndicated copy fetched first must not own the article; the
    earliest publication does (its date drives trends, its URL the evidence).
    The old original becomes the duplicate, and its copies follow.
    """
    row = _write(session, existing, values)
    old = session.get(Document, original)
    if old is not None:
        _demote(session, old, near, row.id)
        old.status, old.skip_reason, old.text, old.duplicate_of = "skipped", kind, None, row.id
        session.flush()
    if near is not None and rec.simhash is not None and rec.check_near:
        near.add(row.id, rec.simhash)
    return SaveOutcome(rec.canonical_url, "stored" if existing is None else "updated", row.id)


def _save_one(
    session: Session,
    rec: DocumentRecord,
    run_id: int | None,
    near: NearIndex | None,
    refresh: bool,
) -> SaveOutcome:
    existing = session.scalar(select(Document).where(Document.canonical_url == rec.canonical_url))
    own_id = existing.id if existing is not None else None
    if rec.not_modified and existing is not None:
        existing.fetched_at, existing.crawl_run_id = rec.fetched_at, run_id
        return SaveOutcome(rec.canonical_url, "not_modified", own_id)
    values = _values(rec, run_id)
    if rec.status != "stored":
        _demote(session, existing, near, None)
        _write(session, existing, values | {"text": None})
        return SaveOutcome(rec.canonical_url, "skipped", own_id)
    unchanged = existing is not None and existing.content_hash == rec.content_hash
    if unchanged and existing is not None and existing.status == "stored":
        existing.fetched_at, existing.crawl_run_id = rec.fetched_at, run_id
        existing.etag, existing.last_modified = rec.etag, rec.last_modified
        if refresh:
            keep = {"extracted_hash", "extracted_at", "duplicate_of"}
            _write(session, existing, {k: v for k, v in values.items() if k not in keep})
        return SaveOutcome(rec.canonical_url, "unchanged", own_id)
    original = _exact_original(session, rec, own_id)
    kind = "duplicate"
    if original is None and near is not None and rec.simhash is not None and rec.check_near:
        original, kind = near.near(rec.simhash, own_id), "near_duplicate"
    if original is not None and _published_earlier(session, rec, original):
        return _take_over(session, rec, values, existing, original, kind, near)
    if original is not None:
        _demote(session, existing, near, original)
        row = _write(
            session,
            existing,
            values
            | {"status": "skipped", "skip_reason": kind, "text": None, "duplicate_of": original},
        )
        return SaveOutcome(rec.canonical_url, kind, row.id, original)
    row = _write(session, existing, values)
    if near is not None and rec.simhash is not None and rec.check_near:
        if own_id is not None:
            near.discard(own_id)
        near.add(row.id, rec.simhash)
    return SaveOutcome(rec.canonical_url, "stored" if existing is None else "updated", row.id)


def save_documents(
    store: Store,
    records: Sequence[DocumentRecord],
    run_id: int | None,
    *,
    near: NearIndex | None = None,
    frontier: dict[int, tuple[list[tuple[str, str, str, int]], list[tuple[str, str, str, str]]]]
    | None = None,
    refresh: bool = False,
) -> list[SaveOutcome]:
    """Save a batch in one transaction, with the frontier changes that go with it.

    `frontier` maps source id to (discovered links, handled URLs): committing
    them with the documents means a kill between batches never records a page
    as handled without its document, nor loses the links it led to.
    `near` finds near-duplicate originals and learns every newly stored text;
    `refresh` rewrites unchanged documents too (used by `reextract`).
    """
    outcomes = []
    with store.session() as session:
        for rec in records:
            outcomes.append(_save_one(session, rec, run_id, near, refresh))
        for source_id, (links, handled) in (frontier or {}).items():
            add_to_frontier(session, source_id, links)
            mark_frontier(session, source_id, handled)
    return outcomes

"""Saving crawled documents: new, unchanged, changed or a duplicate, one batch per transaction.

The crawler (or `reextract`) hands batches of plain `DocumentRecord`s here;
`save_documents` decides, inside one transaction per batch, whether each record
is new, unchanged, changed (content_hash moves, so the NLP stage sees
content_hash != extracted_hash and re-extracts), an exact duplicate of
another document (same content_hash) or a near-duplicate (a caller-supplied
SimHash lookup); who owns a duplicated text is `storage.syndication`'s call.

The crawler's other bookkeeping lives next door, one module per responsibility:
`storage.runs`, `storage.locks`, `storage.frontier`, `storage.validators`. Their
names are re-exported here, so `from storage import documents as docs` stays the
crawler's one handle on storage. Nothing here imports Scrapy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from linernotes.storage.chunks import chunked
from linernotes.storage.db import Store
from linernotes.storage.frontier import (
    FrontierEntry,
    Handled,
    Link,
    add_to_frontier,
    load_frontier,
    mark_frontier,
)
from linernotes.storage.locks import (
    CrawlLockedError,
    acquire_locks,
    heartbeat,
    lock_owner,
    release_locks,
)
from linernotes.storage.models import Document
from linernotes.storage.runs import (
    ensure_source,
    finish_run,
    run_warc_path,
    start_run,
    update_run_stats,
    warc_paths,
)
from linernotes.storage.syndication import (
    NearIndex,
    demote,
    exact_original,
    hand_over,
    load_simhashes,
    published_earlier,
)
from linernotes.storage.validators import Validators, load_validators

__all__ = [
    "CrawlLockedError",
    "DocumentRecord",
    "FrontierEntry",
    "SaveOutcome",
    "Validators",
    "acquire_locks",
    "ensure_source",
    "finish_run",
    "heartbeat",
    "load_frontier",
    "load_simhashes",
    "load_validators",
    "lock_owner",
    "release_locks",
    "run_warc_path",
    "save_documents",
    "start_run",
    "update_run_stats",
    "warc_paths",
]


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
    document it duplicates, `replaced` the copy it took over (a copy fetched
    before this earlier publication of its text, now this one's duplicate).
    """

    canonical_url: str
    outcome: str
    doc_id: int | None
    original: int | None = None
    replaced: int | None = None


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


@dataclass
class _Known:
    """What one batch's records already have in the database, read in two queries.

    Why: asking per record (its row by URL, then any row with its text) cost two
    round trips a page, the largest share of a crawl's storage time. `rows` holds
    the batch's existing documents by canonical URL; `hashes` every content hash
    among them that some row has. Both learn each row the batch writes, so a
    record sees the ones before it, as the per-record queries did. A hash not in
    `hashes` cannot have an exact original; one in it is still asked in full.
    """

    rows: dict[str, Document]
    hashes: set[str]

    @classmethod
    def load(cls, session: Session, records: Sequence[DocumentRecord]) -> _Known:
        urls = sorted({r.canonical_url for r in records})
        wanted = sorted({r.content_hash for r in records if r.content_hash})
        rows: dict[str, Document] = {}
        hashes: set[str] = set()
        for chunk in chunked(urls):
            found = session.scalars(select(Document).where(Document.canonical_url.in_(chunk)))
            rows.update((doc.canonical_url, doc) for doc in found)
        for chunk in chunked(wanted):
            query = select(Document.content_hash).where(Document.content_hash.in_(chunk))
            hashes.update(h for h in session.scalars(query.distinct()) if h)
        return cls(rows, hashes)

    def wrote(self, row: Document) -> None:
        self.rows[row.canonical_url] = row
        if row.content_hash:
            self.hashes.add(row.content_hash)


def _write(
    session: Session,
    existing: Document | None,
    values: dict[str, Any],
    known: _Known,
    flush: bool = True,
) -> Document:
    if existing is None:
        existing = Document(**values)
        session.add(existing)
    else:
        for key, value in values.items():
            setattr(existing, key, value)
    if flush:
        session.flush()
    known.wrote(existing)
    return existing


# Placeholder ids of rows not flushed yet: far above any id a database hands out.
PLACEHOLDER_IDS = 1 << 62


@dataclass
class _NewRows:
    """New documents of a batch that wait for one flush to learn their ids.

    Why: a flush per new document (the ORM's unit of work, only to learn the
    row's id) was most of a crawl batch's storage time. Until the flush a new
    text sits in the near-duplicate index under a placeholder id above any real
    one (so, as before, an older document wins a tie). A later record of the
    batch can meet a waiting row three ways: the same URL, the same text hash, or
    a near-duplicate lookup that answers a placeholder; each settles first
    (flush, placeholders re-keyed to real ids), so from there on everything is
    as if every row had been flushed when written.
    """

    near: NearIndex | None
    waiting: int = 0  # rows added since the last settle
    rows: dict[int, tuple[Document, int]] = field(default_factory=dict)  # placeholder -> row

    def add(self, row: Document, simhash: int | None) -> None:
        """A new row; its near-index entry (none without a SimHash) under a placeholder."""
        self.waiting += 1
        if self.near is not None and simhash is not None:
            placeholder = PLACEHOLDER_IDS + len(self.rows)
            self.near.add(placeholder, simhash)
            self.rows[placeholder] = (row, simhash)

    def real_id(self, session: Session, doc_id: int | None) -> int | None:
        """`doc_id` itself, or for a placeholder its row's id (settling the batch first)."""
        if doc_id is None or doc_id < PLACEHOLDER_IDS:
            return doc_id
        row = self.rows[doc_id][0]
        self.settle(session)
        return int(row.id)

    def settle(self, session: Session) -> None:
        """Flush the waiting rows and re-key their near-index entries to their ids."""
        if self.waiting:
            session.flush()
            self.forget(keep=True)
            self.waiting = 0

    def forget(self, keep: bool = False) -> None:
        """Placeholders out of the near index (with `keep`, back in under real ids)."""
        for placeholder, (row, simhash) in self.rows.items():
            assert self.near is not None
            self.near.discard(placeholder)
            if keep:
                self.near.add(int(row.id), simhash)
        self.rows.clear()


def _take_over(
    session: Session,
    rec: DocumentRecord,
    values: dict[str, Any],
    existing: Document | None,
    original: int,
    kind: str,
    near: NearIndex | None,
    known: _Known,
) -> SaveOutcome:
    """`rec` was published before the text it copies: it becomes the original.

    Why: a syndicated copy fetched first must not own the article; the
    earliest publication does (its date drives trends, its URL the evidence).
    """
    row = _write(session, existing, values, known)
    hand_over(session, original, row.id, kind, near)
    if near is not None and rec.simhash is not None and rec.check_near:
        near.add(row.id, rec.simhash)
    outcome = "stored" if existing is None else "updated"
    return SaveOutcome(rec.canonical_url, outcome, row.id, replaced=original)


def _save_one(
    session: Session,
    rec: DocumentRecord,
    run_id: int | None,
    near: NearIndex | None,
    refresh: bool,
    known: _Known,
    new_rows: _NewRows,
) -> SaveOutcome | Document:
    existing = known.rows.get(rec.canonical_url)
    if existing is not None:
        new_rows.settle(session)  # it may be a row this batch wrote: give it its id
    own_id = existing.id if existing is not None else None
    if rec.not_modified and existing is not None:
        existing.fetched_at, existing.crawl_run_id = rec.fetched_at, run_id
        return SaveOutcome(rec.canonical_url, "not_modified", own_id)
    values = _values(rec, run_id)
    if rec.status != "stored":
        demote(session, existing, near, None)
        _write(session, existing, values | {"text": None}, known)
        return SaveOutcome(rec.canonical_url, "skipped", own_id)
    unchanged = existing is not None and existing.content_hash == rec.content_hash
    if unchanged and existing is not None and existing.status == "stored":
        existing.fetched_at, existing.crawl_run_id = rec.fetched_at, run_id
        existing.etag, existing.last_modified = rec.etag, rec.last_modified
        if refresh:
            keep = {"extracted_hash", "extracted_at", "duplicate_of"}
            _write(session, existing, {k: v for k, v in values.items() if k not in keep}, known)
        return SaveOutcome(rec.canonical_url, "unchanged", own_id)
    original = None
    if rec.content_hash in known.hashes:
        new_rows.settle(session)  # the text may be a waiting row's
        original = exact_original(session, rec.canonical_url, rec.content_hash, own_id)
    kind = "duplicate"
    if original is None and near is not None and rec.simhash is not None and rec.check_near:
        found = near.near(rec.simhash, own_id)
        original, kind = new_rows.real_id(session, found), "near_duplicate"
    if original is not None and published_earlier(session, rec.published_at, original):
        return _take_over(session, rec, values, existing, original, kind, near, known)
    if original is not None:
        demote(session, existing, near, original)
        row = _write(
            session,
            existing,
            values
            | {"status": "skipped", "skip_reason": kind, "text": None, "duplicate_of": original},
            known,
        )
        return SaveOutcome(rec.canonical_url, kind, row.id, original)
    indexed = near is not None and rec.simhash is not None and rec.check_near
    if existing is None:  # its id comes with the batch's flush (`_NewRows`)
        row = _write(session, None, values, known, flush=False)
        new_rows.add(row, rec.simhash if indexed else None)
        return row
    row = _write(session, existing, values, known)
    if near is not None and indexed and rec.simhash is not None:
        near.discard(existing.id)
        near.add(row.id, rec.simhash)
    return SaveOutcome(rec.canonical_url, "updated", row.id)


def save_documents(
    store: Store,
    records: Sequence[DocumentRecord],
    run_id: int | None,
    *,
    near: NearIndex | None = None,
    frontier: dict[int, tuple[list[Link], list[Handled]]] | None = None,
    refresh: bool = False,
) -> list[SaveOutcome]:
    """Save a batch in one transaction, with the frontier changes that go with it.

    `frontier` maps source id to (discovered links, handled URLs): committing
    them with the documents means a kill between batches never records a page
    as handled without its document, nor loses the links it led to.
    `near` finds near-duplicate originals and learns every newly stored text;
    `refresh` rewrites unchanged documents too (used by `reextract`).
    """
    saved: list[SaveOutcome | Document] = []
    new_rows = _NewRows(near)
    try:
        with store.session() as session:
            known = _Known.load(session, records)
            for rec in records:
                saved.append(_save_one(session, rec, run_id, near, refresh, known, new_rows))
            new_rows.settle(session)
            for source_id, (links, handled) in (frontier or {}).items():
                add_to_frontier(session, source_id, links)
                mark_frontier(session, source_id, handled)
    finally:
        new_rows.forget()  # a failed batch leaves no placeholder (nor row) behind
    return [
        SaveOutcome(s.canonical_url, "stored", s.id) if isinstance(s, Document) else s
        for s in saved
    ]

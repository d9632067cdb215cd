"""Who owns a text: the original of exact and near duplicates, and syndicated copies.

A duplicate is stored as a skipped row pointing at its original through
`duplicate_of`, with no second copy of the text. The earliest publication owns an
article: a dated copy fetched after a later-dated one takes its place (its date
drives trends, its URL the evidence) and the old original becomes the duplicate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from linernotes.storage.db import Store
from linernotes.storage.models import Document, DocumentSubject, Mention


class NearIndex(Protocol):
    """A SimHash index the caller owns (the crawler's in-memory one)."""

    def near(self, value: int, exclude: int | None = None) -> int | None: ...

    def add(self, doc_id: int, value: int) -> None: ...

    def discard(self, doc_id: int) -> None: ...


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


def exact_original(
    session: Session, canonical_url: str, content_hash: str | None, own_id: int | None
) -> int | None:
    """The stored original with the same text at another URL, if any."""
    if not content_hash:
        return None
    query = select(Document.id).where(
        Document.content_hash == content_hash,
        Document.status == "stored",
        Document.duplicate_of.is_(None),
        Document.canonical_url != canonical_url,
    )
    if own_id is not None:
        query = query.where(Document.id != own_id)
    return session.scalar(query.order_by(Document.id).limit(1))


def demote(
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


def published_earlier(session: Session, published_at: datetime | None, original: int) -> bool:
    """True when `published_at` is strictly before the date of the stored original."""
    if published_at is None:
        return False
    theirs = session.scalar(select(Document.published_at).where(Document.id == original))
    if theirs is None:
        return False
    return _naive_utc(published_at) < _naive_utc(theirs)


def _naive_utc(value: datetime) -> datetime:
    """Comparable either way: SQLite gives naive datetimes (UTC), PostgreSQL aware ones."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def hand_over(
    session: Session, original: int, new_owner: int, kind: str, near: NearIndex | None
) -> None:
    """The old `original` becomes a duplicate of `new_owner`, and its copies follow."""
    old = session.get(Document, original)
    if old is None:
        return
    demote(session, old, near, new_owner)
    old.status, old.skip_reason, old.text, old.duplicate_of = "skipped", kind, None, new_owner
    session.flush()

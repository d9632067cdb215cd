"""The extract stage glue: only new or changed documents, replaced not duplicated, resumable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from linernotes.nlp.extract import count_pending, extract_documents
from linernotes.nlp.mentions import DocumentMentions, FoundMention
from linernotes.storage import Store
from linernotes.storage.models import Document, DocumentSubject, Mention


@dataclass
class FakeExtractor:
    """Finds every occurrence of 'Robyn'; fails on texts containing 'BOOM'."""

    calls: int = 0

    def extract(self, items):  # type: ignore[no-untyped-def]
        for text, _title in items:
            self.calls += 1
            if "BOOM" in text:
                raise ValueError("cannot parse")
            found = []
            start = text.find("Robyn")
            while start >= 0:
                found.append(
                    FoundMention(
                        start,
                        start + 5,
                        "ARTIST",
                        "Robyn",
                        "ar:robyn",
                        "Robyn",
                        0.9,
                        "test",
                        0,
                        len(text),
                    )
                )
                start = text.find("Robyn", start + 1)
            subject = found[0] if found else None
            yield DocumentMentions(found, subject, [(0, len(text))] if subject else [])


def _doc(session, n: int, text: str, **extra):  # type: ignore[no-untyped-def]
    doc = Document(
        url=f"http://blog.test/{n}",
        canonical_url=f"http://blog.test/{n}",
        text=text,
        content_hash=f"h{n}-{len(text)}",
        fetched_at=datetime.now(UTC),
        **extra,
    )
    session.add(doc)
    return doc


def _mentions(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(Mention)) or 0


def test_only_new_or_changed_documents_are_extracted(store: Store) -> None:
    with store.session() as s:
        _doc(s, 1, "Robyn and Robyn again.")
        _doc(s, 2, "Nothing here.")
        _doc(s, 3, "Robyn duplicate.", status="skipped")
    fake = FakeExtractor()
    summary = extract_documents(store, extractor=fake)  # type: ignore[arg-type]
    assert (summary.documents, summary.mentions, summary.linked) == (2, 2, 2)
    assert count_pending(store) == 0
    assert extract_documents(store, extractor=fake).documents == 0  # type: ignore[arg-type]
    with store.session() as s:
        doc = s.scalars(select(Document).where(Document.url.endswith("/1"))).one()
        doc.text, doc.content_hash = "Robyn once.", "changed"
    summary = extract_documents(store, extractor=fake)  # type: ignore[arg-type]
    assert summary.documents == 1
    assert _mentions(store) == 1  # replaced, not added to
    with store.session() as s:
        subject = s.scalars(select(DocumentSubject)).one()
        assert (subject.entity_kind, subject.entity_id) == ("artist", "ar:robyn")


def test_a_failing_document_costs_only_itself(store: Store) -> None:
    with store.session() as s:
        _doc(s, 1, "Robyn is fine.")
        _doc(s, 2, "BOOM Robyn")
        _doc(s, 3, "Robyn too.")
    summary = extract_documents(store, extractor=FakeExtractor(), chunk_size=10)  # type: ignore[arg-type]
    assert summary.documents == 3 and len(summary.failed) == 1
    assert _mentions(store) == 2
    assert count_pending(store) == 0  # not retried forever


def test_interrupted_run_resumes_without_duplicates(sqlite_store: Store) -> None:
    with sqlite_store.session() as s:
        for n in range(5):
            _doc(s, n, f"Robyn number {n}")

    class Crash(FakeExtractor):
        def extract(self, items):  # type: ignore[no-untyped-def]
            if self.calls >= 2:
                raise KeyboardInterrupt
            yield from super().extract(items)

    with pytest.raises(KeyboardInterrupt):
        extract_documents(sqlite_store, extractor=Crash(), chunk_size=2)  # type: ignore[arg-type]
    assert count_pending(sqlite_store) == 3
    summary = extract_documents(sqlite_store, extractor=FakeExtractor(), chunk_size=2)  # type: ignore[arg-type]
    assert summary.documents == 3
    assert _mentions(sqlite_store) == 5


def test_postgres_workers_split_the_work(pg_url: str) -> None:
    """Two concurrent workers on PostgreSQL process every document exactly once."""
    import threading
    import time

    from linernotes.storage import open_store

    store = open_store(pg_url)
    with store.session() as s:
        for n in range(12):
            _doc(s, n, f"Robyn number {n}")
    seen: list[str] = []

    class Slow(FakeExtractor):
        def extract(self, items):  # type: ignore[no-untyped-def]
            for item in items:
                seen.append(item[0])
                time.sleep(0.1)
                yield from super().extract([item])

    summaries = []
    workers = [
        threading.Thread(
            target=lambda: summaries.append(
                extract_documents(open_store(pg_url), extractor=Slow(), chunk_size=1)  # type: ignore[arg-type]
            )
        )
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(seen) == sorted(f"Robyn number {n}" for n in range(12))
    assert sum(s.documents for s in summaries) == 12
    assert all(s.documents > 0 for s in summaries)
    assert _mentions(store) == 12
    store.close()

"""storage.documents on both backends: new/unchanged/changed/duplicate records, frontier, locks."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from linernotes.crawler.dedup import SimhashIndex, content_hash, simhash
from linernotes.storage import Store
from linernotes.storage import documents as docs
from linernotes.storage.models import CrawlLock, CrawlRun, Document

ARTICLE = (
    "Joni Mitchell wrote Blue in a season of travel and heartbreak, and the songs still feel "
    "close to the bone. A Case of You remains the centrepiece, a love song that admits it "
    "might also be a wound. The dulcimer on California gives the record its bright colour, "
    "while River turns a Christmas melody into one of the loneliest tunes anyone has written. "
    "Few albums are this honest, and fewer still manage it without a single wasted line. "
    "Carey is the bright, restless song of a summer on a Greek island, all wine and laughter, "
    "and All I Want opens the record with a plea for connection that sounds like a diary entry. "
    "Fifty years later the album still asks more of its listener than almost anything else."
)


def record(url: str, text: str | None = ARTICLE, **kw: object) -> docs.DocumentRecord:
    fields: dict[str, object] = {
        "url": url,
        "canonical_url": url,
        "source_id": None,
        "fetched_at": datetime.now(UTC),
        "text": text,
        "title": "Blue",
        "content_hash": content_hash(text) if text else None,
        "simhash": simhash(text) if text else None,
    }
    fields.update(kw)
    return docs.DocumentRecord(**fields)  # type: ignore[arg-type]


def test_new_unchanged_changed(store: Store) -> None:
    run = docs.start_run(store, ["s"])
    (first,) = docs.save_documents(store, [record("https://a.org/1")], run)
    assert first.outcome == "stored"
    (again,) = docs.save_documents(store, [record("https://a.org/1")], run)
    assert again.outcome == "unchanged" and again.doc_id == first.doc_id
    with store.session() as s:
        doc = s.get(Document, first.doc_id)
        assert doc is not None
        doc.extracted_hash = doc.content_hash
    changed = ARTICLE.replace("Christmas", "winter")
    (upd,) = docs.save_documents(store, [record("https://a.org/1", changed)], run)
    assert upd.outcome == "updated" and upd.doc_id == first.doc_id
    with store.session() as s:
        doc = s.get(Document, first.doc_id)
        assert doc is not None and doc.text == changed
        assert doc.content_hash != doc.extracted_hash  # marked for re-extraction
    (nm,) = docs.save_documents(store, [record("https://a.org/1", None, not_modified=True)], run)
    assert nm.outcome == "not_modified"
    with store.session() as s:
        assert s.scalar(select(Document.text).where(Document.id == first.doc_id)) == changed


def test_exact_and_near_duplicates_link_to_original(store: Store) -> None:
    index = SimhashIndex()
    syndicated = ARTICLE + " This review first appeared elsewhere."
    out = docs.save_documents(
        store,
        [
            record("https://a.org/1"),
            record("https://b.org/copy"),
            record("https://c.org/syndicated", syndicated),
        ],
        None,
        near=index,
    )
    assert [o.outcome for o in out] == ["stored", "duplicate", "near_duplicate"]
    with store.session() as s:
        rows = {d.canonical_url: d for d in s.scalars(select(Document))}
    original = rows["https://a.org/1"].id
    for url in ("https://b.org/copy", "https://c.org/syndicated"):
        assert rows[url].duplicate_of == original
        assert rows[url].status == "skipped" and rows[url].text is None


def test_a_batch_flushes_its_new_rows_once_and_indexes_them_under_real_ids(
    store: Store,
) -> None:
    """New rows wait for the batch's flush; the near index ends with their ids, no
    placeholder, and a batch that fails leaves the index as it found it."""
    index = SimhashIndex()
    other = " ".join(ARTICLE.split()[::-1])  # same words, another text: no near duplicate
    out = docs.save_documents(
        store, [record("https://a.org/1"), record("https://a.org/2", other)], None, near=index
    )
    assert [o.outcome for o in out] == ["stored", "stored"]
    with store.session() as s:
        ids = {d.canonical_url: d.id for d in s.scalars(select(Document))}
    assert [o.doc_id for o in out] == [ids["https://a.org/1"], ids["https://a.org/2"]]
    assert len(index) == 2 and index.near(simhash(other)) == ids["https://a.org/2"]
    bad = record("https://a.org/3", ARTICLE + " Again.")
    bad.url = None  # type: ignore[assignment]  # NOT NULL: the batch's flush fails
    with pytest.raises(IntegrityError):
        docs.save_documents(
            store, [record("https://a.org/4", other + " Too."), bad], None, near=index
        )
    assert len(index) == 2 and index.near(simhash(other)) == ids["https://a.org/2"]
    with store.session() as s:
        assert len(s.scalars(select(Document)).all()) == 2


def test_a_batch_meeting_its_own_waiting_rows_behaves_as_if_each_was_flushed(
    store: Store,
) -> None:
    """The same URL twice in a batch is one row, updated; an earlier publication of a text
    this batch just wrote takes it over, and the demoted copy leaves the near index."""
    index = SimhashIndex()
    changed = ARTICLE.replace("Fifty years later", "Half a century on")
    out = docs.save_documents(
        store, [record("https://a.org/1"), record("https://a.org/1", changed)], None, near=index
    )
    assert [o.outcome for o in out] == ["stored", "updated"]
    assert out[0].doc_id == out[1].doc_id and len(index) == 1
    assert index.near(simhash(changed)) == out[0].doc_id

    index = SimhashIndex()
    may, march = datetime(2024, 5, 2, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    syndicated = ARTICLE + " This review first appeared elsewhere."
    copy, source = docs.save_documents(
        store,
        [
            record("https://copy.org/1", syndicated, published_at=may),
            record("https://source.org/1", ARTICLE + " Reviewed.", published_at=march),
        ],
        None,
        near=index,
    )
    assert (copy.outcome, source.outcome) == ("stored", "stored")
    assert source.replaced == copy.doc_id and copy.replaced is None  # the summary counts it
    with store.session() as s:
        demoted = s.scalar(select(Document).where(Document.canonical_url == "https://copy.org/1"))
    assert demoted is not None and demoted.duplicate_of == source.doc_id
    assert len(index) == 1 and index.near(simhash(syndicated)) == source.doc_id


def test_skipped_records_keep_reason(store: Store) -> None:
    (out,) = docs.save_documents(
        store, [record("https://a.org/x.pdf", None, status="skipped", skip_reason="non_html")], None
    )
    assert out.outcome == "skipped"
    with store.session() as s:
        doc = s.scalar(select(Document))
        assert doc is not None and doc.skip_reason == "non_html" and doc.status == "skipped"


def test_frontier_commits_with_documents(store: Store) -> None:
    sid = docs.ensure_source(store, "blog", {"start_urls": ["https://a.org/"]})
    frontier = {
        sid: (
            [("https://a.org/2", "https://a.org/2", "page", 1)],
            [("https://a.org/1", "https://a.org/1", "page", "done")],
        )
    }
    docs.save_documents(store, [record("https://a.org/1")], None, frontier=frontier)
    loaded = docs.load_frontier(store, sid)
    assert loaded["https://a.org/2"].status == "pending"
    assert loaded["https://a.org/1"].status == "done"
    assert loaded["https://a.org/1"].done_at is not None
    # rediscovering a handled URL does not make it pending again
    docs.save_documents(
        store, [], None, frontier={sid: ([("https://a.org/1", "https://a.org/1", "page", 2)], [])}
    )
    assert docs.load_frontier(store, sid)["https://a.org/1"].status == "done"


def test_lock_blocks_live_owner_and_takes_over_dead_one(store: Store) -> None:
    run1 = docs.start_run(store, ["blog"])
    docs.acquire_locks(store, ["blog"], run1, docs.lock_owner())
    run2 = docs.start_run(store, ["blog"])
    with pytest.raises(docs.CrawlLockedError, match="already being crawled by run"):
        docs.acquire_locks(store, ["blog"], run2, "otherhost:1")
    docs.release_locks(store, ["blog"], docs.lock_owner())
    # a lock left by a process that no longer exists is taken over
    dead = _dead_pid()
    import socket

    docs.acquire_locks(store, ["blog"], run1, f"{socket.gethostname()}:{dead}")
    docs.acquire_locks(store, ["blog"], run2, docs.lock_owner())
    with store.session() as s:
        lock = s.get(CrawlLock, "blog")
        assert lock is not None and lock.run_id == run2
        old = s.get(CrawlRun, run1)
        assert old is not None and old.status == "interrupted"


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_an_earlier_publication_takes_over_as_original(store: Store) -> None:
    index = SimhashIndex()
    may, march = datetime(2024, 5, 2, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    syndicated = ARTICLE + " This review first appeared elsewhere."
    first = docs.save_documents(
        store,
        [
            record("https://copy.org/1", syndicated, published_at=may),
            record("https://copy.org/2", syndicated, published_at=may),
        ],
        None,
        near=index,
    )
    assert [o.outcome for o in first] == ["stored", "duplicate"]
    (source,) = docs.save_documents(
        store, [record("https://source.org/review", published_at=march)], None, near=index
    )
    assert source.outcome == "stored"
    with store.session() as s:
        rows = {d.canonical_url: d for d in s.scalars(select(Document))}
    assert rows["https://source.org/review"].status == "stored"
    for url in ("https://copy.org/1", "https://copy.org/2"):
        assert rows[url].duplicate_of == source.doc_id and rows[url].text is None
    # a later copy of the same text now links straight to the source
    (late,) = docs.save_documents(
        store, [record("https://copy.org/3", syndicated, published_at=may)], None, near=index
    )
    assert late.outcome == "near_duplicate" and late.original == source.doc_id


def test_publication_dates_compare_across_time_zones(store: Store) -> None:
    from datetime import timedelta, timezone

    utc_midnight = datetime(2024, 3, 1, tzinfo=UTC)
    an_hour_before = datetime(2024, 3, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    docs.save_documents(store, [record("https://copy.org/1", published_at=utc_midnight)], None)
    (source,) = docs.save_documents(
        store, [record("https://source.org/1", published_at=an_hour_before)], None
    )
    assert source.outcome == "stored"  # 23:00 UTC the day before: it takes over

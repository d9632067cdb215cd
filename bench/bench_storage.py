"""Storage writes: bulk inserts, and the crawl's document batches, against bare sqlite3.

Bulk inserts: synthetic descriptor rows (the table an incremental embed
rewrites the most of, with a JSON column). Three writes of the same rows into
fresh databases, same run: `insert_rows` (the table's INSERT, executemany), the
ORM bulk path it replaced (`session.execute(insert(Descriptor), rows)`), and
the floor, sqlite3 `executemany` into a bare table of the same columns with
the JSON encoded by hand.

Crawl batches: `storage.documents.save_documents` of synthetic pages, 100 per
batch as the crawl commits them, each checked for exact and near duplicates
against a SimHash index that already holds 100,000 documents (a corpus crawled
before); the floor is sqlite3 `executemany` of the same rows, batch by batch,
into a bare table. Both timed in CPU seconds of this process: a commit's fsync
waits on a shared disk for anything from nothing to seconds.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from linernotes.crawler.dedup import SimhashIndex, content_hash, long_enough, simhash, words_of
from linernotes.storage import documents as docs
from linernotes.storage import open_store
from linernotes.storage.models import Descriptor
from linernotes.storage.upsert import insert_rows

COLUMNS = ("entity_kind", "entity_id", "term", "weight", "count", "doc_freq", "evidence_ids")


def descriptor_rows(n: int) -> list[dict[str, Any]]:
    """`n` inferred-term rows over n/30 tracks."""
    return [
        {
            "entity_kind": "track",
            "entity_id": f"tr:{i // 30}",
            "term": f"term {i % 30}",
            "weight": 0.25 + (i % 7) / 10,
            "count": 0,
            "doc_freq": i % 50,
            "evidence_ids": [i, i + 1, i + 2],
            "source": "neighbours",
        }
        for i in range(n)
    ]


def _through_store(path: Path, rows: list[dict[str, Any]], orm: bool) -> float:
    store = open_store(f"sqlite:///{path}")
    started = time.perf_counter()
    with store.session() as session:
        if orm:
            for start in range(0, len(rows), 5000):
                session.execute(insert(Descriptor), rows[start : start + 5000])
        else:
            insert_rows(session, Descriptor, rows)
    took = time.perf_counter() - started
    store.close()
    return took


def _bare(path: Path, rows: list[dict[str, Any]]) -> float:
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE d ({', '.join(COLUMNS)}, source)")
    started = time.perf_counter()
    conn.executemany(
        "INSERT INTO d VALUES (?,?,?,?,?,?,?,?)",
        ([*(r[c] for c in COLUMNS[:-1]), json.dumps(r["evidence_ids"]), r["source"]] for r in rows),
    )
    conn.commit()
    took = time.perf_counter() - started
    conn.close()
    return took


def page_records(n: int) -> list[docs.DocumentRecord]:
    """`n` distinct pages of 150 words drawn from a 2,000-word vocabulary (seeded)."""
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(2000)]
    out = []
    for i in range(n):
        text = " ".join(rng.choices(vocabulary, k=150))
        words = words_of(text)
        out.append(
            docs.DocumentRecord(
                url=f"https://blog.example/p/{i}",
                canonical_url=f"https://blog.example/p/{i}",
                source_id=None,
                fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
                title=f"Post {i}",
                text=text,
                content_hash=content_hash(text, words),
                simhash=simhash(text, words),
                check_near=long_enough(text),
            )
        )
    return out


def _save_batches(path: Path, records: list[docs.DocumentRecord], indexed: int) -> float:
    store = open_store(f"sqlite:///{path}")
    index = SimhashIndex()
    rng = random.Random(4)
    for doc_id in range(10**9, 10**9 + indexed):  # ids no new row gets
        index.add(doc_id, rng.getrandbits(64) - (1 << 63))
    started = time.process_time()
    for start in range(0, len(records), 100):
        docs.save_documents(store, records[start : start + 100], None, near=index)
    took = time.process_time() - started
    store.close()
    return took


def _bare_batches(path: Path, records: list[docs.DocumentRecord]) -> float:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE d (url, canonical_url, title, text, content_hash, simhash)")
    started = time.process_time()
    for start in range(0, len(records), 100):
        conn.executemany(
            "INSERT INTO d VALUES (?,?,?,?,?,?)",
            (
                (r.url, r.canonical_url, r.title, r.text, r.content_hash, r.simhash)
                for r in records[start : start + 100]
            ),
        )
        conn.commit()
    took = time.process_time() - started
    conn.close()
    return took


def crawl_batches(quick: bool = False) -> dict[str, Any]:
    records = page_records(1000 if quick else 5000)
    with tempfile.TemporaryDirectory() as tmp:
        bare = _bare_batches(Path(tmp) / "bare.db", records)
        ours = _save_batches(Path(tmp) / "ours.db", records, 100_000)
    n = len(records)
    return {
        "bench": "crawl_batches",
        "metric": "pages/s saved (save_documents, batches of 100)",
        "value": n / ours,
        "unit": "pages/s",
        "baseline": n / bare,
        "ratio": bare / ours,
        "notes": f"{n} pages, 100,000 documents already in the SimHash index: {ours:.2f} CPU s "
        f"vs bare sqlite3 executemany per batch {bare:.2f} CPU s",
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    rows = descriptor_rows(20_000 if quick else 200_000)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bare = _bare(work / "bare.db", rows)
        core = _through_store(work / "core.db", rows, orm=False)
        orm = _through_store(work / "orm.db", rows, orm=True)
    n = len(rows)
    return [
        {
            "bench": "bulk_insert",
            "metric": "descriptor rows/s (insert_rows)",
            "value": n / core,
            "unit": "rows/s",
            "baseline": n / bare,
            "ratio": bare / core,
            "notes": f"{n} rows: {core:.2f} s vs bare sqlite3 executemany {bare:.2f} s",
        },
        {
            "bench": "bulk_insert",
            "metric": "speed-up over the ORM bulk path",
            "value": orm / core,
            "unit": "x",
            "baseline": n / orm,
            "ratio": orm / core,
            "notes": f"session.execute(insert(Descriptor)) {orm:.2f} s on the same rows",
        },
        crawl_batches(quick),
    ]

"""Bulk inserts: `storage.upsert.insert_rows` against the ORM's bulk path and bare sqlite3.

Input: synthetic descriptor rows (the table an incremental embed rewrites the
most of, with a JSON column). Three writes of the same rows into fresh
databases, same run: `insert_rows` (the table's INSERT, executemany), the
ORM bulk path it replaced (`session.execute(insert(Descriptor), rows)`), and
the floor, sqlite3 `executemany` into a bare table of the same columns with
the JSON encoded by hand.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

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
    ]

"""Catalogue import throughput: linernotes' importer against a plain executemany insert.

Input: the 212k-row catalogue in ../shared when present, else a synthetic
catalogue of the same shape. The baseline parses the same CSV with the csv
module and inserts the rows with sqlite3 executemany into one bare table: the
floor any importer that validates, merges and upserts has to pay on top of.
"""

from __future__ import annotations

import csv
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from linernotes.storage import open_store
from linernotes.storage.catalog import import_catalog

SHARED_CATALOG = Path(__file__).resolve().parents[1].parent / "shared/data/catalog/catalog.csv"


def synthetic_catalog(path: Path, rows: int) -> Path:
    """A catalogue CSV of `rows` tracks over rows/8 artists."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["artist_id", "artist", "track_id", "track", "album_id", "album"])
        for i in range(rows):
            writer.writerow(["", f"Artist {i // 8}", "", f"Song number {i}", "", ""])
    return path


def plain_insert(path: Path, db: Path) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE rows (artist_id, artist, track_id, track, album_id, album)")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        conn.executemany("INSERT INTO rows VALUES (?,?,?,?,?,?)", (r[:6] for r in reader))
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def run(quick: bool = False) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if SHARED_CATALOG.exists() and not quick:
            source, label = SHARED_CATALOG, "shared catalog.csv (212k rows)"
        else:
            source = synthetic_catalog(work / "synthetic.csv", 20000 if quick else 200000)
            label = "synthetic catalogue"
        baseline = plain_insert(source, work / "plain.db")
        store = open_store(f"sqlite:///{work / 'ln.db'}")
        started = time.perf_counter()
        summary = import_catalog(store, source)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = import_catalog(store, source)
        second = time.perf_counter() - started
        store.close()
    same = (summary.artists, summary.tracks, summary.albums) == (
        again.artists,
        again.tracks,
        again.albums,
    )
    rows = summary.rows
    return [
        {
            "bench": "catalog_import",
            "metric": "rows/s (first import)",
            "value": rows / first,
            "unit": "rows/s",
            "baseline": rows / baseline,
            "ratio": baseline / first,
            "notes": f"{label}; {first:.1f} s vs plain executemany {baseline:.1f} s",
        },
        {
            "bench": "catalog_import",
            "metric": "seconds (re-import, idempotent)",
            "value": second,
            "unit": "s",
            "baseline": None,
            "ratio": None,
            "notes": f"counts identical after re-import: {same}",
        },
    ]

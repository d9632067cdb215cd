"""Rebuild documents from the WARC archives, without the network.

Every archived 200 response of an HTML page that has a document row is run
through the same extraction as a live crawl, oldest run first, so the newest
archived copy wins. Unchanged text keeps its content_hash (no re-extraction
downstream); changed text updates the document like a live change would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from linernotes.crawler.dedup import SimhashIndex
from linernotes.crawler.records import build_record
from linernotes.crawler.urls import canonicalize
from linernotes.crawler.warc import read_archive
from linernotes.storage import Store
from linernotes.storage import documents as docs
from linernotes.storage.models import Document, Source

BATCH = 50


@dataclass
class ReextractResult:
    archives: int = 0
    responses: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def format(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "nothing"
        line = f"reextract: {self.archives} archives, {self.responses} responses: {parts}"
        if self.missing:
            line += f"\n  missing archives: {', '.join(self.missing)}"
        return line


def reextract(store: Store, run_id: int | None = None) -> ReextractResult:
    """Re-extract known documents from archived responses (one run's, or all)."""
    with store.session() as session:
        known = dict(session.execute(select(Document.canonical_url, Document.source_id)).all())
        languages = {
            sid: tuple(cfg.get("languages") or ())
            for sid, cfg in session.execute(select(Source.id, Source.config)).all()
        }
    index = SimhashIndex()
    index.add_many(docs.load_simhashes(store))
    result = ReextractResult()
    batch: list[docs.DocumentRecord] = []
    for rid, path in docs.warc_paths(store):
        if run_id is not None and rid != run_id:
            continue
        if not Path(path).exists():
            result.missing.append(path)
            continue
        result.archives += 1
        for resp in read_archive(Path(path)):
            canonical = canonicalize(resp.url)
            if resp.status != 200 or canonical not in known:
                continue
            result.responses += 1
            sid = known[canonical]
            batch.append(
                build_record(
                    resp.url,
                    resp.status,
                    resp.headers,
                    resp.body,
                    sid,
                    languages.get(sid, ()) if sid is not None else (),
                    resp.fetched_at,
                )
            )
            if len(batch) >= BATCH:
                _save(store, batch, index, result)
    _save(store, batch, index, result)
    return result


def _save(
    store: Store, batch: list[docs.DocumentRecord], index: SimhashIndex, result: ReextractResult
) -> None:
    if not batch:
        return
    for outcome in docs.save_documents(store, batch, None, near=index, refresh=True):
        result.outcomes[outcome.outcome] = result.outcomes.get(outcome.outcome, 0) + 1
    batch.clear()

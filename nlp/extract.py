"""The extract stage: documents in storage -> mentions and document subjects in storage.

Only documents whose text changed since their last extraction are read
(`documents.extracted_hash != content_hash`). Work is committed one chunk of
documents at a time, together with the new `extracted_hash`, so a killed run
loses at most one chunk and a re-run picks up exactly where it stopped;
re-extracting a document replaces its mentions, never duplicates them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from linernotes.nlp.blocks import BlockMemo
from linernotes.storage import Store
from linernotes.storage.blocks import load_blocks, prune_blocks, save_blocks
from linernotes.storage.catalog import catalog_names, file_catalog_names
from linernotes.storage.models import Document, DocumentSubject, Mention
from linernotes.storage.names import normalize_name
from linernotes.storage.upsert import upsert

if TYPE_CHECKING:
    from linernotes.nlp.gazetteer import Gazetteer
    from linernotes.nlp.mentions import DocumentMentions, MentionExtractor

log = logging.getLogger("linernotes.extract")
KIND_OF_LABEL = {"ARTIST": "artist", "TRACK": "track", "ALBUM": "album"}


@dataclass
class ExtractSummary:
    """Counts of one extract run."""

    documents: int = 0
    mentions: int = 0
    linked: int = 0
    subjects: int = 0
    by_label: dict[str, int] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)
    transformer_ner: bool = False
    blocks: int = 0  # distinct text blocks (lines) of the documents
    cached_blocks: int = 0  # of which the block cache already held the result

    def format(self) -> str:
        if not self.documents:
            return "extract: no new or changed documents"
        labels = ", ".join(f"{k} {v}" for k, v in sorted(self.by_label.items()))
        return (
            f"extract: {self.documents} documents, {self.mentions} mentions "
            f"({self.linked} linked; {labels or 'none'}), {self.subjects} document subjects"
            + (" (with the transformer NER)" if self.transformer_ner else "")
            + (
                f"; {self.cached_blocks} of {self.blocks} text blocks unchanged"
                if self.cached_blocks
                else ""
            )
            + (f"; {len(self.failed)} failed (see log)" if self.failed else "")
        )


def load_gazetteer(store: Store | None, catalog: Path | None = None) -> Gazetteer:
    """The gazetteer of every catalogue name in the database, or in a catalogue file.

    Both go through storage.catalog (`catalog_names` / `file_catalog_names`), so a file gives
    the ids an import of it would give.
    """
    from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer

    if catalog is not None:
        return Gazetteer.from_entries_cached(
            [CatalogEntry(*name) for name in file_catalog_names(catalog)]
        )
    if store is None:
        raise ValueError("no catalogue: give a store or a catalogue file")
    with store.session() as session:
        entries = [CatalogEntry(*name) for name in catalog_names(session)]
    return Gazetteer.from_entries_cached(entries)


TRANSFORMER_NER = "music_transformer_ner"


def make_extractor(
    store: Store | None,
    *,
    n_process: int = 1,
    batch_size: int = 64,
    without: Sequence[str] = (),
    catalog: Path | None = None,
    transformer_ner: bool = False,
) -> MentionExtractor:
    """The mention extractor over the database's catalogue (or a catalogue file's).

    `transformer_ner` adds the shipped transformer token classifier as one more candidate
    source (rule `ner_spans`); off by default: it is 3x slower than the CNN NER and does
    not beat the rules on edited text, only on conversational queries (docs/mentions.md).
    """
    from linernotes.nlp.mentions import MentionExtractor

    extra = TRANSFORMER_NER if transformer_ner else None
    return MentionExtractor(
        load_gazetteer(store, catalog),
        n_process=n_process,
        batch_size=batch_size,
        without=without,
        extra_ner=extra,
    )


# A stored, non-duplicate document whose current text has not been extracted yet.
_PENDING = (
    Document.status == "stored",
    Document.duplicate_of.is_(None),
    or_(Document.extracted_hash.is_(None), Document.extracted_hash != Document.content_hash),
)


def pending_documents(
    session: Session, after_id: int, limit: int, *, lock: bool = False
) -> list[Document]:
    """Stored, non-duplicate documents whose current text has not been extracted yet.

    With `lock` (PostgreSQL) the rows are locked FOR UPDATE SKIP LOCKED, so
    concurrent workers each take different documents.
    """
    stmt = (
        select(Document).where(*_PENDING, Document.id > after_id).order_by(Document.id).limit(limit)
    )
    if lock:
        stmt = stmt.with_for_update(skip_locked=True, of=Document)
    return list(session.scalars(stmt))


def count_pending(store: Store) -> int:
    """How many documents the next extract run will process."""
    with store.session() as session:
        return session.scalar(select(func.count()).where(*_PENDING)) or 0


def mention_rows(document_id: int, found: DocumentMentions) -> list[dict[str, Any]]:
    """Rows for the `mentions` table from one document's extraction."""
    return [
        {
            "document_id": document_id,
            "start": m.start,
            "end": m.end,
            "sent_start": m.sent_start,
            "sent_end": m.sent_end,
            "label": m.label,
            "entity_id": m.entity_id,
            "surface": m.surface,
            "norm_surface": normalize_name(m.surface),
            "confidence": float(m.confidence),
            "method": m.method,
            "candidates": [list(c) for c in m.candidates] or None,
        }
        for m in found.mentions
    ]


def save_chunk(
    session: Session,
    docs: Sequence[Document],
    results: Sequence[DocumentMentions],
    summary: ExtractSummary,
) -> None:
    """Replace the chunk's mentions and subjects and mark the documents extracted."""
    ids = [doc.id for doc in docs]
    session.execute(delete(Mention).where(Mention.document_id.in_(ids)))
    session.execute(delete(DocumentSubject).where(DocumentSubject.document_id.in_(ids)))
    rows: list[dict[str, Any]] = []
    subjects: list[dict[str, Any]] = []
    for doc, found in zip(docs, results, strict=True):
        rows.extend(mention_rows(doc.id, found))
        subject = found.subject
        if subject is not None and subject.entity_id is not None:
            subjects.append(
                {
                    "document_id": doc.id,
                    "entity_kind": KIND_OF_LABEL[subject.label],
                    "entity_id": subject.entity_id,
                    "sentences": [list(span) for span in found.subject_sentences],
                }
            )
    upsert(session, Mention, rows, ["document_id", "start", "end", "label"])
    upsert(session, DocumentSubject, subjects, ["document_id"])
    now = datetime.now(UTC)
    for doc in docs:
        session.execute(
            update(Document)
            .where(Document.id == doc.id)
            .values(extracted_hash=doc.content_hash, extracted_at=now)
        )
    summary.documents += len(docs)
    summary.mentions += len(rows)
    summary.linked += sum(1 for r in rows if r["entity_id"])
    summary.subjects += len(subjects)
    for r in rows:
        summary.by_label[r["label"]] = summary.by_label.get(r["label"], 0) + 1


def _extract(
    extractor: MentionExtractor, items: list[tuple[str, str | None]], memo: BlockMemo | None
) -> Iterator[DocumentMentions]:
    """extractor.extract, with the block memo only where there is one (any extractor works)."""
    return extractor.extract(items, memo) if memo is not None else extractor.extract(items)


def _extract_chunk(
    extractor: MentionExtractor,
    docs: Sequence[Document],
    summary: ExtractSummary,
    memo: BlockMemo | None = None,
) -> list[DocumentMentions]:
    """Extract a chunk; if the batch fails, retry one by one so one bad page costs only itself."""
    try:
        return list(_extract(extractor, [(d.text or "", d.title) for d in docs], memo))
    except Exception:
        log.warning("batch of %d documents failed; retrying one by one", len(docs))
    from linernotes.nlp.mentions import DocumentMentions

    results: list[DocumentMentions] = []
    for doc in docs:
        try:
            results.extend(_extract(extractor, [(doc.text or "", doc.title)], memo))
        except Exception as exc:
            log.warning("document %s (%s): extraction failed: %s", doc.id, doc.url, exc)
            summary.failed.append(doc.id)
            results.append(DocumentMentions(mentions=[], subject=None, subject_sentences=[]))
    return results


def _block_memo(
    session: Session,
    extractor: MentionExtractor,
    signature: str,
    docs: Sequence[Document],
    summary: ExtractSummary,
) -> BlockMemo:
    """The stored results of the chunk's text blocks."""
    keys = extractor.block_keys(d.text or "" for d in docs)
    memo = BlockMemo.from_rows(load_blocks(session, keys, signature))
    summary.blocks += len(keys)
    summary.cached_blocks += len(memo.found)
    return memo


def extract_documents(
    store: Store,
    *,
    extractor: MentionExtractor | None = None,
    chunk_size: int = 200,
    n_process: int = 1,
    progress: bool = False,
    transformer_ner: bool = False,
) -> ExtractSummary:
    """Run mention extraction over every new or changed document.

    Each chunk is read, extracted and saved in one transaction. On PostgreSQL
    the chunk's rows are locked with SKIP LOCKED, so several `linernotes
    extract` workers against one database split the work and never process
    a document twice; on SQLite run one worker (use `--processes` instead).
    `transformer_ner` builds the extractor with the transformer NER (ignored when
    `extractor` is given).
    """
    summary = ExtractSummary(transformer_ner=transformer_ner and extractor is None)
    total = count_pending(store)
    if total == 0:
        return summary
    extractor = extractor or make_extractor(
        store, n_process=n_process, transformer_ner=transformer_ner
    )
    lock = store.dialect == "postgresql"
    signature: str | None = getattr(extractor, "signature", None)
    if signature is not None:
        with store.session() as session:
            prune_blocks(session, signature)  # results of older models, rules or catalogues
    from tqdm import tqdm

    after = 0
    with tqdm(total=total, desc="extract", unit="doc", disable=not progress) as bar:
        while True:
            with store.session() as session:
                docs = pending_documents(session, after, chunk_size, lock=lock)
                if not docs:
                    break
                after = docs[-1].id
                memo = None
                if signature is not None:  # an extractor whose results can be cached
                    memo = _block_memo(session, extractor, signature, docs, summary)
                results = _extract_chunk(extractor, docs, summary, memo)
                save_chunk(session, docs, results, summary)
                if memo is not None and signature is not None:
                    save_blocks(session, memo.new_rows(), signature)
            bar.update(len(docs))
    log.info(summary.format())
    return summary

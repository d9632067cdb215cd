"""Evidence: the sentences that speak of each artist, track and album, tied to their document.

Why a table of its own: descriptors and vectors must be explainable ("this
weight comes from these sentences") and incremental. Evidence is rebuilt per
document, only for documents whose mentions or subject changed since the last
build (a signature per document in `evidence_documents`), and every entity
whose evidence rows changed gets a new `entity_state.evidence_hash`, which is
what tells the later steps to recompute it.

Sources of evidence, by `via`:
  mention  the sentence of a linked mention (the extractor's sentence span);
  work     a sentence naming one of the artist's tracks or albums (for the artist);
  subject  a sentence of a page whose subject the entity is.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from linernotes.nlp.embeddings import sentence_hash
from linernotes.nlp.page_subjects import Subject, document_subjects
from linernotes.storage import Store
from linernotes.storage.chunks import chunked, chunked_by_kind
from linernotes.storage.models import (
    Album,
    Document,
    EntityState,
    Evidence,
    EvidenceDocument,
    Mention,
    Track,
)
from linernotes.storage.upsert import insert_rows, upsert

EntityKey = tuple[str, str]  # (entity_kind, entity_id)

VIA_WEIGHTS = {"mention": 1.0, "subject": 0.6, "work": 0.5}
MAX_SENTENCE_CHARS = 1000
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*[-*•])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences: a light splitter for pages without extractor sentences."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENT_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= 3:
            out.append((s, e))
    return out


_LINE_END = ".!?;:,\"')\u201d\u2019]"
MAX_HEADING_WORDS = 20


def skip_headings(text: str, s0: int, s1: int) -> int:
    """Start of a sentence span past the heading lines fused onto its front.

    Page text keeps a page's title, kicker and byline as lines of their own
    ("Anniversary" / "From grief to the dancefloor" / "The song ..."); a sentence
    splitter that only breaks on end punctuation glues them to the first
    sentence. A line that ends without punctuation and is followed by more of
    the span is a heading, not part of the sentence.
    """
    while True:
        nl = text.find("\n", s0, s1)
        if nl < 0:
            return s0
        line = text[s0:nl].strip()
        if line and (line[-1] in _LINE_END or len(line.split()) > MAX_HEADING_WORDS):
            return s0
        if not text[nl + 1 : s1].strip():
            return s0
        s0 = nl + 1


@dataclass
class EvidenceRow:
    """One evidence sentence before it is written."""

    entity_kind: str
    entity_id: str
    document_id: int
    sent_start: int
    sent_end: int
    text: str
    published_at: datetime | None
    via: str
    co_entities: list[str] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        return {
            "entity_kind": self.entity_kind,
            "entity_id": self.entity_id,
            "document_id": self.document_id,
            "sent_start": self.sent_start,
            "sent_end": self.sent_end,
            "text": self.text,
            "sentence_hash": sentence_hash(self.text),
            "published_at": self.published_at,
            "via": self.via,
            "weight": VIA_WEIGHTS.get(self.via, 1.0),
            "co_entities": sorted(set(self.co_entities)),
        }


@dataclass
class EvidenceStats:
    documents_seen: int = 0
    documents_rebuilt: int = 0
    rows_written: int = 0
    changed: set[EntityKey] = field(default_factory=set)


@dataclass
class _Doc:
    id: int
    text: str
    published_at: datetime | None
    mentions: list[tuple[int, int, int, int, str, str]]  # start, end, s0, s1, label, entity_id
    subject: tuple[str, str, list[Any]] | None
    unlinked: list[tuple[int, str]] = field(default_factory=list)  # start, norm_surface


# Bumped when the rules that turn a document into evidence change, so stored evidence is rebuilt.
EVIDENCE_RULES = "2"


def _signature(doc_hash: str, mentions: Iterable[tuple[Any, ...]], subject: Any) -> str:
    h = hashlib.sha1(f"{EVIDENCE_RULES}:{doc_hash}".encode())
    for m in sorted(mentions):
        h.update(repr(m).encode())
    h.update(repr(subject).encode())
    return h.hexdigest()


def _owners(session: Session) -> dict[EntityKey, str]:
    """(track|album, id) -> artist id, so a work's sentence also speaks of its artist."""
    owners: dict[EntityKey, str] = {}
    for tid, aid in session.execute(select(Track.id, Track.artist_id)):
        if aid:
            owners[("track", tid)] = aid
    for alb, aid in session.execute(select(Album.id, Album.artist_id)):
        if aid:
            owners[("album", alb)] = aid
    return owners


GONE = "gone"  # evidence signature of a document that is no longer stored


def _changed_documents(
    session: Session,
) -> tuple[dict[int, str], int, dict[int, Subject]]:
    """Documents whose mention/subject signature differs from the one evidence was built from."""
    mentions: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    query = select(
        Mention.document_id, Mention.start, Mention.end, Mention.label, Mention.entity_id
    )
    for doc_id, start, end, label, eid in session.execute(query):
        mentions[doc_id].append((start, end, label, eid))
    subjects = document_subjects(session, mentions)
    built = dict(
        session.execute(select(EvidenceDocument.document_id, EvidenceDocument.signature)).all()
    )
    changed: dict[int, str] = {}
    seen = 0
    query_docs = select(Document.id, Document.content_hash, Document.extracted_hash).where(
        Document.status == "stored"
    )
    for doc_id, chash, xhash in session.execute(query_docs):
        seen += 1
        if doc_id not in mentions and doc_id not in subjects and doc_id not in built:
            continue
        sig = _signature(f"{chash}:{xhash}", mentions.get(doc_id, ()), subjects.get(doc_id))
        if built.get(doc_id) != sig:
            changed[doc_id] = sig
    # Evidence built from a document that is no longer stored (now a duplicate, a soft 404,
    # gone): rebuilt from nothing, so its rows go.
    stored = select(Document.id).where(Document.status == "stored")
    for (doc_id,) in session.execute(
        select(EvidenceDocument.document_id).where(EvidenceDocument.document_id.not_in(stored))
    ):
        if built.get(doc_id) != GONE:
            changed[doc_id] = GONE
    return changed, seen, subjects


def _load_docs(session: Session, ids: list[int], subjects: dict[int, Subject]) -> Iterator[_Doc]:
    for chunk in chunked(ids):
        rows = session.execute(
            select(Document.id, Document.text, Document.published_at).where(Document.id.in_(chunk))
        ).all()
        ments: dict[int, list[tuple[int, int, int, int, str, str]]] = defaultdict(list)
        unlinked: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for m in session.execute(
            select(
                Mention.document_id,
                Mention.start,
                Mention.end,
                Mention.sent_start,
                Mention.sent_end,
                Mention.label,
                Mention.entity_id,
                Mention.norm_surface,
            ).where(Mention.document_id.in_(chunk))
        ):
            if m[6] is not None:
                ments[m[0]].append((m[1], m[2], m[3], m[4], m[5], str(m[6])))
            elif m[5] == "ARTIST" and m[7]:
                unlinked[m[0]].append((m[1], str(m[7])))
        for doc_id, text, published in rows:
            yield _Doc(
                doc_id,
                text or "",
                published,
                sorted(ments[doc_id]),
                subjects.get(doc_id),
                sorted(unlinked[doc_id]),
            )


def document_evidence(doc: _Doc, owners: dict[EntityKey, str]) -> list[EvidenceRow]:
    """Every evidence sentence one document gives, deduplicated per (entity, sentence)."""
    rows: dict[tuple[str, str, int], EvidenceRow] = {}
    linked = [(s, e, label.lower(), eid) for s, e, _a, _b, label, eid in doc.mentions]

    def co_in(s0: int, s1: int) -> list[str]:
        found = []
        for s, _e, kind, eid in linked:
            if s0 <= s < s1:
                found.append(f"{kind}:{eid}")
                owner = owners.get((kind, eid))
                if owner:
                    found.append(f"artist:{owner}")
        # Artists the catalogue does not know still tell who an entity is written about
        # alongside: kept by normalised name.
        found.extend(f"name:{norm}" for s, norm in doc.unlinked if s0 <= s < s1)
        return found

    def add(kind: str, eid: str, s0: int, s1: int, via: str) -> None:
        s0 = skip_headings(doc.text, s0, s1)
        text = doc.text[s0:s1].strip()
        if not text or len(text) > MAX_SENTENCE_CHARS:
            text = text[:MAX_SENTENCE_CHARS]
        if not text:
            return
        key = (kind, eid, s0)
        if key in rows:
            return
        me = f"{kind}:{eid}"
        co = [c for c in co_in(s0, s1) if c != me]
        rows[key] = EvidenceRow(kind, eid, doc.id, s0, s1, text, doc.published_at, via, co)

    mention_sents: dict[EntityKey, list[tuple[int, int]]] = defaultdict(list)
    for _s, _e, s0, s1, label, eid in doc.mentions:
        kind = label.lower()
        add(kind, eid, s0, s1, "mention")
        mention_sents[(kind, eid)].append((s0, s1))
        owner = owners.get((kind, eid))
        if owner:
            add("artist", owner, s0, s1, "work")
            mention_sents[("artist", owner)].append((s0, s1))
    if doc.subject is not None:
        kind, eid, _refs = doc.subject
        taken = mention_sents.get((kind, eid), [])
        for s0, s1 in split_sentences(doc.text):
            if any(a < s1 and s0 < b for a, b in taken):
                continue  # the extractor's sentence already covers it
            add(kind, eid, s0, s1, "subject")
    return list(rows.values())


def evidence_hash(rows: Iterable[tuple[Any, ...]]) -> str:
    """Fingerprint of an entity's evidence: changes exactly when its sentences change."""
    h = hashlib.sha1()
    for row in sorted(rows):
        h.update(repr(row).encode())
    return h.hexdigest()


def refresh_evidence(store: Store) -> EvidenceStats:
    """Rebuild evidence for changed documents; mark entities whose evidence changed."""
    stats = EvidenceStats()
    with store.session() as session:
        owners = _owners(session)
        changed_docs, stats.documents_seen, subjects = _changed_documents(session)
        stats.documents_rebuilt = len(changed_docs)
        if not changed_docs:
            return stats
        ids = sorted(changed_docs)
        touched: set[EntityKey] = set()
        for chunk in chunked(ids):
            for kind, eid in session.execute(
                select(Evidence.entity_kind, Evidence.entity_id)
                .where(Evidence.document_id.in_(chunk))
                .distinct()
            ):
                touched.add((kind, eid))
            session.execute(delete(Evidence).where(Evidence.document_id.in_(chunk)))
        new_rows: list[dict[str, Any]] = []
        for doc in _load_docs(session, [d for d in ids if changed_docs[d] != GONE], subjects):
            for row in document_evidence(doc, owners):
                new_rows.append(row.as_row())
                touched.add((row.entity_kind, row.entity_id))
        if new_rows:
            insert_rows(session, Evidence, new_rows)
        stats.rows_written = len(new_rows)
        upsert(
            session,
            EvidenceDocument,
            [{"document_id": d, "signature": s} for d, s in changed_docs.items()],
            keys=["document_id"],
        )
        stats.changed = _update_entity_hashes(session, touched)
    return stats


def _update_entity_hashes(session: Session, touched: set[EntityKey]) -> set[EntityKey]:
    """New evidence hashes for touched entities; returns those whose hash really changed."""
    keys = sorted(touched)
    current: dict[EntityKey, list[tuple[Any, ...]]] = defaultdict(list)
    old: dict[EntityKey, str | None] = {}
    h: str | None
    for kind_of, chunk in chunked_by_kind(keys, 400):
        for kind, eid, doc, s0, h in session.execute(
            select(
                Evidence.entity_kind,
                Evidence.entity_id,
                Evidence.document_id,
                Evidence.sent_start,
                Evidence.sentence_hash,
            ).where(Evidence.entity_kind == kind_of, Evidence.entity_id.in_(chunk))
        ):
            current[(kind, eid)].append((doc, s0, h))
        for kind, eid, h in session.execute(
            select(EntityState.entity_kind, EntityState.entity_id, EntityState.evidence_hash).where(
                EntityState.entity_kind == kind_of, EntityState.entity_id.in_(chunk)
            )
        ):
            old[(kind, eid)] = h
    changed = set()
    rows = []
    for key in keys:
        new = evidence_hash(current[key]) if current.get(key) else None
        if new != old.get(key):
            changed.add(key)
            rows.append({"entity_kind": key[0], "entity_id": key[1], "evidence_hash": new})
    upsert(session, EntityState, rows, keys=["entity_kind", "entity_id"])
    return changed

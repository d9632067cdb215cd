"""SQLAlchemy 2.0 models: the one schema both SQLite and PostgreSQL carry.

Column names follow CONTRACT.md's SQL surface, because people query these
tables directly; everything beyond the contract is documented in
docs/schema.md. Alembic migrations in storage/migrations are the source of
truth for the database; these models must match them (a test checks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from linernotes.storage.vectors import VectorBlob


class Base(DeclarativeBase):
    """Declarative base; JSON columns map to JSONB-compatible JSON on both backends."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """A crawl source from the sources file; its config is kept as last seen."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CrawlRun(Base):
    """One execution of the crawler; stats hold per-source counts and errors by kind."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sources: Mapped[list[Any]] = mapped_column(default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="running")
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warc_path: Mapped[str | None] = mapped_column(Text)


class Document(Base):
    """A fetched page. `status` is 'stored' or 'skipped' (then `skip_reason` says why).

    `extracted_hash` is the `content_hash` the mentions were last extracted
    from: a document needs extraction exactly when the two differ.
    """

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    http_status: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="stored")
    skip_reason: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    simhash: Mapped[int | None] = mapped_column(BigInteger)  # signed 64-bit SimHash
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    metadata_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    extracted_hash: Mapped[str | None] = mapped_column(String(64))
    extracted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_documents_content_hash", "content_hash"),
        Index("ix_documents_source", "source_id"),
        Index("ix_documents_published", "published_at"),
    )


class CrawlFrontier(Base):
    """Every URL a source's crawl discovered, so a killed run resumes where it stopped.

    `status` is 'pending' until the page was handled ('done') or failed for
    good ('failed'); `done_at` decides when a page is due for a revisit.
    """

    __tablename__ = "crawl_frontier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10), default="page")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    discovered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("source_id", "canonical_url", name="uq_frontier_url"),
        Index("ix_frontier_status", "source_id", "status"),
    )


class CrawlLock(Base):
    """One row per source being crawled, so two runs of a source never overlap.

    `owner` is 'host:pid'; a lock whose process is gone (or whose heartbeat is
    stale) may be taken over, so a SIGKILLed run never blocks the next one.
    """

    __tablename__ = "crawl_locks"

    source_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Artist(Base):
    """A catalogue artist; `id` is the catalogue id (MBID or derived `ar:<slug>`)."""

    __tablename__ = "artists"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    norm_name: Mapped[str] = mapped_column(Text)
    aliases: Mapped[list[Any]] = mapped_column(default=list)

    __table_args__ = (Index("ix_artists_norm_name", "norm_name"),)


class Track(Base):
    """A catalogue track (recording); `title` as in CONTRACT, `norm_title` for matching."""

    __tablename__ = "tracks"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    norm_title: Mapped[str] = mapped_column(Text)
    artist_id: Mapped[str | None] = mapped_column(ForeignKey("artists.id"))

    __table_args__ = (
        Index("ix_tracks_norm_title", "norm_title"),
        Index("ix_tracks_artist", "artist_id"),
    )


class Album(Base):
    """A catalogue album, EP or mixtape (a MusicBrainz release group)."""

    __tablename__ = "albums"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    norm_title: Mapped[str] = mapped_column(Text)
    artist_id: Mapped[str | None] = mapped_column(ForeignKey("artists.id"))

    __table_args__ = (
        Index("ix_albums_norm_title", "norm_title"),
        Index("ix_albums_artist", "artist_id"),
    )


class Mention(Base):
    """A span of a document naming an artist, track or album.

    `entity_id` is null for unlinked candidates: they are kept (with
    `norm_surface`) so unknown names can be counted and promoted later.
    """

    __tablename__ = "mentions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    sent_start: Mapped[int] = mapped_column(Integer)
    sent_end: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[str | None] = mapped_column(String(300))
    surface: Mapped[str] = mapped_column(Text)
    norm_surface: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    method: Mapped[str] = mapped_column(String(20))
    # ambiguous names: every catalogue candidate as [entity_id, score], best first; else null
    candidates: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True, default=None)

    __table_args__ = (
        UniqueConstraint("document_id", "start", "end", "label", name="uq_mentions_span"),
        Index("ix_mentions_entity", "entity_id"),
        Index("ix_mentions_unlinked", "label", "norm_surface"),
    )


class DocumentSubject(Base):
    """What a page is about (its title names it), with the sentences that refer back to it."""

    __tablename__ = "document_subjects"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    entity_kind: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[str] = mapped_column(String(300))
    sentences: Mapped[list[Any]] = mapped_column(default=list)


class Evidence(Base):
    """A sentence that speaks of an entity: the unit descriptors and vectors are built from."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_kind: Mapped[str] = mapped_column(String(10))
    entity_id: Mapped[str] = mapped_column(String(300))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    sent_start: Mapped[int] = mapped_column(Integer)
    sent_end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sentence_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    via: Mapped[str] = mapped_column(String(20))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    co_entities: Mapped[list[Any]] = mapped_column(default=list)

    __table_args__ = (
        UniqueConstraint(
            "entity_kind",
            "entity_id",
            "document_id",
            "sent_start",
            name="uq_evidence_sentence",
        ),
        Index("ix_evidence_entity", "entity_kind", "entity_id"),
        Index("ix_evidence_document", "document_id"),
    )


class EvidenceDocument(Base):
    """Which state of a document's mentions the evidence was built from (for incremental runs)."""

    __tablename__ = "evidence_documents"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    signature: Mapped[str] = mapped_column(String(64))


class Descriptor(Base):
    """A weighted descriptor term of an entity over all time (CONTRACT `descriptors`)."""

    __tablename__ = "descriptors"

    entity_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    term: Mapped[str] = mapped_column(String(200), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    doc_freq: Mapped[int] = mapped_column(Integer)
    evidence_ids: Mapped[list[Any]] = mapped_column(default=list)
    # 'text': read in the entity's evidence (count = sentences' weight, evidence_ids its
    # sentences); 'neighbours': inferred from its nearest neighbours' terms (count 0,
    # evidence_ids the neighbours' sentences that use it). Migration 0006.
    source: Mapped[str] = mapped_column(String(12), default="text", server_default="text")

    __table_args__ = (Index("ix_descriptors_term", "term", "weight"),)


class DescriptorMonth(Base):
    """The same weights per calendar month (`month` = 'YYYY-MM'), for trends."""

    __tablename__ = "descriptor_months"

    entity_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    term: Mapped[str] = mapped_column(String(200), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)


class Vector(Base):
    """An entity vector of one model; pgvector on PostgreSQL, float32 blob on SQLite."""

    __tablename__ = "vectors"

    entity_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(100))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[list[float]] = mapped_column(VectorBlob())
    support: Mapped[int] = mapped_column(Integer, default=0)
    backoff: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SentenceEmbedding(Base):
    """Cache of sentence embeddings by sentence hash, so no text is embedded twice."""

    __tablename__ = "sentence_embeddings"

    sentence_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    vector: Mapped[list[float]] = mapped_column(VectorBlob())


class ExtractBlock(Base):
    """Cache of the extract stage: the candidates and sentences found in one block of text.

    Keyed by a hash of the block's text and of the pipeline signature (models, rules,
    catalogue, code: nlp/blocks.py), so a re-extracted page runs the pipeline on its
    changed lines only; rows of an older signature are pruned by the next extract.
    """

    __tablename__ = "extract_blocks"

    block_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), index=True)
    result: Mapped[list[Any]] = mapped_column()


class SentenceTags(Base):
    """Cache of the embed stage's part-of-speech filter: a sentence's nouns and adjectives.

    Keyed by the hash of the exact text (spaCy sees whitespace) and the tagger
    name and version, so `embed` tags each sentence once, not on every run.
    """

    __tablename__ = "sentence_tags"

    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tagger: Mapped[str] = mapped_column(String(100), primary_key=True)
    words: Mapped[list[Any]] = mapped_column()


class EntityBag(Base):
    """Cache of one entity's corpus statistics inputs, valid while its evidence and names hold.

    Descriptor term counts and sentence uses, and the evidence's 1-2 grams:
    what document frequencies and every entity's exact sparse parts are summed
    from, so an incremental `embed` re-extracts only the entities that changed.
    """

    __tablename__ = "entity_bags"

    entity_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    bag: Mapped[bytes] = mapped_column(LargeBinary)  # termbags.BagRow.encode: ids into bag_terms


class BagTerm(Base):
    """The shared vocabulary of `entity_bags`: a term's id is its column in every bag matrix."""

    __tablename__ = "bag_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    term: Mapped[str] = mapped_column(Text, unique=True)


class Neighbor(Base):
    """Precomputed nearest neighbours, so plain SQL can ask "tracks like X"."""

    __tablename__ = "neighbors"

    entity_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    neighbor_id: Mapped[str] = mapped_column(String(300))
    score: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(100))


class EntityState(Base):
    """Per-entity bookkeeping for incremental embedding: the evidence hash last profiled."""

    __tablename__ = "entity_state"

    entity_kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    evidence_hash: Mapped[str | None] = mapped_column(String(64))
    profiled_hash: Mapped[str | None] = mapped_column(String(64))
    profiled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KeyValue(Base):
    """Small pipeline state (e.g. corpus size at the last word2vec training)."""

    __tablename__ = "pipeline_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)

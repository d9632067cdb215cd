"""The embed stage itself: evidence -> descriptors -> vectors -> neighbours, incrementally.

`build_profiles(store)` is what `linernotes embed` and `linernotes run` call.
Only entities whose evidence hash differs from the one last profiled are
recomputed (all of them when the configuration or the word2vec model version
changes); sentence embeddings come through the `sentence_embeddings` cache;
neighbours are updated for every kind that changed, because a new vector
can enter anyone's top k: exactly on a full pass, incrementally otherwise
(`nlp/neighbour_update.py`). What each part is and how the default combination
was chosen: docs/similarity.md.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from linernotes.nlp.count_profiles import FamilyMatcher
from linernotes.nlp.descriptors import TermExtractor
from linernotes.nlp.embeddings import Encoder, encoder_spec
from linernotes.nlp.evidence import EntityKey, EvidenceStats, refresh_evidence
from linernotes.nlp.profiles.bags import Bags, descriptor_batches, entity_bags
from linernotes.nlp.profiles.borrowed import write_borrowed
from linernotes.nlp.profiles.config import (
    CONTEXT,
    CULTURAL,
    DRIFT_KEY,
    SALIENCE,
    STATE_KEY,
    TEXT,
    ProfileConfig,
    ProfileSummary,
)
from linernotes.nlp.profiles.corpus import Corpus, load_corpus
from linernotes.nlp.profiles.features import SparseParts, context_features, entity_parts
from linernotes.nlp.profiles.neighbours import ensure_hnsw_index, update_neighbors
from linernotes.nlp.profiles.sentence_cache import (
    embed_pending_sentences,
    prototype_matrix,
    sentence_vectors,
)
from linernotes.nlp.profiles.termbags import dicts_to_csr, salience_matrix, tfidf_matrix
from linernotes.nlp.profiles.writers import (
    DescriptorInput,
    VectorInput,
    write_descriptors,
    write_vectors,
)
from linernotes.nlp.word2vec import ensure_model
from linernotes.storage import Store
from linernotes.storage.models import KeyValue
from linernotes.storage.upsert import upsert

log = logging.getLogger(__name__)


def build_profiles(
    store: Store,
    *,
    progress: bool = False,
    config: ProfileConfig | None = None,
    encoder: Encoder | None = None,
    full: bool = False,
) -> ProfileSummary:
    """Run the embed stage over whatever evidence changed since the last run.

    Three phases. Evidence is refreshed under a database lock (once per run).
    Sentence embedding, the expensive part, is then split between every
    `embed` worker running against the database (each claims chunks of
    evidence rows FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite one worker
    embeds while the others wait). The corpus-wide rest (document
    frequencies, word2vec, vectors, neighbours) runs under the lock again: a
    second worker finds it done and repeats nothing.
    """
    cfg = config or ProfileConfig()
    _check_encoder(cfg, encoder)
    started = time.perf_counter()
    with store.exclusive("embed"):
        evidence = refresh_evidence(store)
        _note_drift(store, evidence)
    if progress:
        log.info("evidence: %d documents rebuilt", evidence.documents_rebuilt)
    pre_embedded = 0
    if cfg.use_minilm and store.dialect == "postgresql":
        pre_embedded, encoder = embed_pending_sentences(store, encoder, model=cfg.encoder)
    elif cfg.use_minilm:
        # SQLite has no row locks to split the sentences by: two workers reading the
        # pending set before either commits would both encode it. One embeds, others wait.
        with store.exclusive("embed"):
            pre_embedded, encoder = embed_pending_sentences(store, encoder, model=cfg.encoder)
    with store.exclusive("embed"):
        summary = _profile(store, config=cfg, encoder=encoder, full=full)
    _add_evidence(summary, evidence)
    summary.sentences_embedded += pre_embedded
    # sentences this run pre-embedded were read back from the cache: not "cached" ones
    summary.sentences_cached = max(0, summary.sentences_cached - pre_embedded)
    summary.seconds = time.perf_counter() - started
    return summary


def _check_encoder(cfg: ProfileConfig, encoder: Encoder | None) -> None:
    """A passed-in encoder must be the configured one: its vectors are cached under its name."""
    spec = encoder_spec(cfg.encoder)  # an unknown name fails here, before any work
    if encoder is not None and (encoder.name, encoder.dim) != (spec.name, spec.dim):
        raise ValueError(
            f"encoder {encoder.name!r} ({encoder.dim}-d) is not the configured "
            f"{spec.name!r} ({spec.dim}-d): set ProfileConfig.encoder"
        )


def _add_evidence(summary: ProfileSummary, stats: EvidenceStats) -> None:
    summary.documents_seen = stats.documents_seen
    summary.documents_rebuilt = stats.documents_rebuilt
    summary.evidence_rows = stats.rows_written


def _profile(
    store: Store, *, config: ProfileConfig, encoder: Encoder | None, full: bool
) -> ProfileSummary:
    """Descriptors, then vectors, then neighbours, from the evidence as it stands."""
    cfg = config
    summary = ProfileSummary()
    model = _word2vec(store, cfg, summary)
    signature = cfg.signature(summary.word2vec)
    corpus = load_corpus(store, signature, full)
    _refresh_if_drifted(store, corpus, cfg)
    summary.entities_recomputed = len(corpus.todo)
    summary.entities_removed = len(corpus.removed)
    if not corpus.todo and not corpus.removed:
        return summary  # nothing to write, and the neighbour table is current

    extractor = TermExtractor()
    bags = entity_bags(store, corpus, extractor, refresh=full, version=cfg.salience.version)
    descriptors, salience_rows = _descriptor_input(bags, cfg, extractor)
    n_entities = descriptors.n_entities
    _write_descriptor_batches(store, corpus, extractor, bags, descriptors, cfg)
    sparse = _sparse_parts(corpus, bags, salience_rows, cfg)
    log.info(
        "embed: %d of %d entities to write, %d term bags extracted, %d cached",
        len(corpus.todo),
        len(corpus.evidence),
        bags.extracted,
        len(bags.table.keys) - bags.extracted,
    )

    parts, versions = _parts(store, corpus, cfg, sparse, model, encoder, summary)
    w2v_dim = model.wv.vector_size if model else cfg.word2vec.vector_size
    dims = cfg.dims(w2v_dim)
    support = {key: len(corpus.evidence[key]) for key in parts}
    vectors = VectorInput(
        parts, support, corpus.track_artist, versions, dims, corpus.hashes, corpus.removed
    )
    write_vectors(store, vectors, cfg)
    _write_neighbour_tables(store, corpus, cfg, sparse, descriptors, bags, summary)
    if store.dialect == "postgresql" and corpus.todo:
        ensure_hnsw_index(store, CULTURAL, cfg.combination.dims(dims))
    with store.session() as session:
        value = {"signature": signature, "entities": n_entities}
        upsert(session, KeyValue, [{"key": STATE_KEY, "value": value}], keys=["key"])
    if corpus.full:
        _reset_drift(store)
    return summary


def _write_descriptor_batches(
    store: Store,
    corpus: Corpus,
    extractor: TermExtractor,
    bags: Bags,
    descriptors: DescriptorInput,
    cfg: ProfileConfig,
) -> None:
    """Descriptor rows of the targets, piece by piece (the removed entities' go with the first)."""
    gone = corpus.removed
    for batch in descriptor_batches(store, corpus, extractor, bags):
        descriptors.bags = batch
        write_descriptors(store, set(batch), gone, descriptors, cfg)
        gone = set()
    bags.full.clear()  # the full bags were for the descriptor rows only
    descriptors.bags = {}


def _write_neighbour_tables(
    store: Store,
    corpus: Corpus,
    cfg: ProfileConfig,
    sparse: SparseParts,
    descriptors: DescriptorInput,
    bags: Bags,
    summary: ProfileSummary,
) -> None:
    """Each changed kind's neighbour table (updated; exact on a full pass), then borrowed terms."""
    kinds = {k for k, _ in corpus.todo} | {k for k, _ in corpus.removed}
    for kind in sorted(kinds):
        changed = {e for k, e in corpus.todo if k == kind}
        removed = {e for k, e in corpus.removed if k == kind}
        written = update_neighbors(
            store,
            kind,
            cfg.neighbors_k,
            cfg.combination,
            sparse.of_kind(kind),
            corpus.track_artist,
            changed=None if corpus.full else changed,  # a full pass stays exact
            removed=removed,
        )
        summary.neighbors_written += written.rows
        # follows the neighbour table just written: where it or a descriptor changed
        moved = None if written.touched is None else changed | removed
        relisted = written.relisted or set()
        write_borrowed(store, kind, descriptors, bags.summaries, cfg, moved, relisted)


def _note_drift(store: Store, stats: EvidenceStats) -> None:
    """Add this run's rebuilt documents to the count since the last full pass (under the lock)."""
    with store.session() as session:
        row = session.get(KeyValue, DRIFT_KEY)
        changed = int(row.value.get("changed", 0)) if row is not None else 0
        value = {"changed": changed + stats.documents_rebuilt, "documents": stats.documents_seen}
        upsert(session, KeyValue, [{"key": DRIFT_KEY, "value": value}], keys=["key"])


def _refresh_if_drifted(store: Store, corpus: Corpus, cfg: ProfileConfig) -> None:
    """Make every entity a target once the corpus changed too much since the last full pass.

    An incremental run rewrites only the entities whose evidence changed, with
    the document frequencies of the corpus as it is now; the others keep the
    weights of their last run, which drift as documents come and go. Once the
    documents rebuilt since the last full pass exceed `cfg.refresh_share` of
    the corpus, this run rewrites everything (cheaply: term bags and sentence
    vectors come from their caches). The neighbour table is exact either way.
    """
    with store.session() as session:
        row = session.get(KeyValue, DRIFT_KEY)
        value = dict(row.value) if row is not None else {}
    changed, documents = int(value.get("changed", 0)), int(value.get("documents", 0))
    if not corpus.full and changed > cfg.refresh_share * max(1, documents):
        log.info("embed: %d of %d documents changed since the last full pass", changed, documents)
        corpus.todo = set(corpus.evidence)
        corpus.full = True


def _reset_drift(store: Store) -> None:
    with store.session() as session:
        row = session.get(KeyValue, DRIFT_KEY)
        value = {**(row.value if row is not None else {}), "changed": 0}
        upsert(session, KeyValue, [{"key": DRIFT_KEY, "value": value}], keys=["key"])


def _word2vec(store: Store, cfg: ProfileConfig, summary: ProfileSummary) -> Any:
    """The current word2vec model (retrained when the corpus grew enough), or None."""
    model = None
    if cfg.use_word2vec:
        try:
            model = ensure_model(store, cfg.word2vec)
        except ImportError:  # pragma: no cover - gensim is a dependency
            model = None
    summary.word2vec = model.version if model else "none"
    summary.word2vec_retrained = bool(model and model.retrained)
    return model


def _parts(
    store: Store,
    corpus: Corpus,
    cfg: ProfileConfig,
    sparse: SparseParts,
    model: Any,
    encoder: Encoder | None,
    summary: ProfileSummary,
) -> tuple[dict[EntityKey, dict[str, np.ndarray]], dict[str, str]]:
    """Every vector kind of every target entity, and the model version of each kind."""
    sent_vecs: dict[str, np.ndarray] = {}
    protos = np.zeros((0, encoder_spec(cfg.encoder).dim), dtype=np.float32)
    minilm_version = "none"
    if cfg.use_minilm and corpus.todo:
        enc = encoder or encoder_spec(cfg.encoder).load()
        texts = {ev.hash: ev.text for key in corpus.todo for ev in corpus.evidence[key]}
        sent_vecs, encoded = sentence_vectors(store, texts, enc)
        protos, proto_encoded = prototype_matrix(store, enc)
        summary.sentences_embedded += encoded + proto_encoded
        summary.sentences_cached += len(texts) - encoded
        minilm_version = f"{enc.name}:{enc.version}"
    families = FamilyMatcher()
    parts = {
        key: entity_parts(key, corpus, cfg, sparse, sent_vecs, protos, families, model)
        for key in corpus.todo
    }
    versions = {
        SALIENCE: f"{cfg.salience.version}:{cfg.salience.scheme}",
        TEXT: "text-1-2grams-v1",
        CONTEXT: "context-v1",
        "era": "era-v1",
        "genre-family": "family-v1",
        "minilm-mean": minilm_version,
        "minilm-vocab": f"{minilm_version}:vocab-T{cfg.vocab_temperature}",
        "w2v-entity": summary.word2vec,
        "w2v-terms": summary.word2vec,
    }
    return parts, versions


def stored_sparse_parts(store: Store, config: ProfileConfig | None = None) -> SparseParts:
    """The exact sparse parts of every entity as the last run computed them (for benchmarks).

    Recomputed from the stored evidence (term bags through their cache), so it
    needs no run state: what `combined_neighbors` takes to score a part or a
    combination on its own.
    """
    cfg = config or ProfileConfig()
    corpus = load_corpus(store, "", full=True)
    corpus.todo = set()
    extractor = TermExtractor()
    bags = entity_bags(store, corpus, extractor, refresh=False, version=cfg.salience.version)
    return _sparse_parts(corpus, bags, _descriptor_input(bags, cfg, extractor)[1], cfg)


def _sparse_parts(
    corpus: Corpus, bags: Bags, salience_rows: Any, cfg: ProfileConfig
) -> SparseParts:
    """Every entity's exact sparse parts (features.sparse_parts, from the cached bags)."""
    table = bags.table
    context, names = dicts_to_csr(table.keys, context_features(corpus, cfg.context_self))
    return SparseParts(
        table.keys,
        {SALIENCE: salience_rows, TEXT: tfidf_matrix(table.grams), CONTEXT: context},
        {SALIENCE: table.terms, TEXT: table.terms, CONTEXT: names},
    )


def _descriptor_input(
    bags: Bags, cfg: ProfileConfig, extractor: TermExtractor
) -> tuple[DescriptorInput, Any]:
    """The corpus statistics (df over all entities: exact), and every entity's salience row."""
    table = bags.table
    df = table.document_frequencies()
    salience_rows = salience_matrix(table, df, cfg.salience, extractor)
    data = DescriptorInput(
        bags.full, {}, table.df_counter(df), len(table.keys), extractor, table.sentence_rates()
    )
    return data, salience_rows

"""Step 2b: every entity's term bag summary, cached per entity (`entity_bags`).

Document frequencies, the corpus sentence shares of terms and every entity's
exact sparse parts (which the neighbour table needs for all entities) are
sums over per-entity bags. Extracting those bags was most of an incremental
`embed`; a summary of each bag (term counts, sentence uses, 1-2 grams) is
kept under a hash of exactly what it was computed from (the evidence texts,
weights, months and co-mentions, and the names left out), so a run
re-extracts only the entities whose inputs changed, and the corpus-wide
sums come out identical to recounting from scratch.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, select

from linernotes.nlp.descriptors import EntityTerms, TermExtractor
from linernotes.nlp.evidence import EntityKey
from linernotes.nlp.profiles.corpus import Corpus
from linernotes.nlp.profiles.features import bag_of, term_bags, text_bags
from linernotes.nlp.profiles.tag_cache import cached_content_words
from linernotes.nlp.profiles.termbags import BagRow, BagTable, SummaryView
from linernotes.nlp.profiles.termbags import BagSummary as BagSummary  # borrowed.py's import
from linernotes.storage import Store
from linernotes.storage.chunks import chunked
from linernotes.storage.models import BagTerm, EntityBag
from linernotes.storage.upsert import insert_rows, upsert

BAG_VERSION = "bag-v2"  # bump when term extraction or `input_hash` changes (v2: order-free)
FULL_BAG_ROWS = 50_000  # evidence rows extracted at once (full bags: ~200 B a term occurrence)
log = logging.getLogger(__name__)


@dataclass
class Bags:
    """Full bags of the targets (descriptor rows need evidence ids) and summaries of all."""

    full: dict[EntityKey, EntityTerms]
    table: BagTable  # every entity's summary, corpus order
    extracted: int  # entities whose terms were extracted this run (the rest came cached)
    complete: bool = True  # `full` holds every target's bag (else descriptor_batches)
    # else each target's per-sentence term ids (flat, sentence ends): bags rebuilt, not re-extracted
    sentence_terms: dict[EntityKey, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def summaries(self) -> SummaryView:
        """key -> BagSummary without grams, built on demand (what inferred terms read)."""
        return SummaryView(self.table, grams=False)


def input_hash(key: EntityKey, corpus: Corpus, version: str = "") -> str:
    """Fingerprint of everything an entity's bag is computed from (`version`: the extractor's).

    The evidence enters as a sorted list: a bag is a sum over sentences, and a
    changed document's rows come back with new ids, so in id order an entity
    whose sentences on that page did not change would look changed too (a
    10,000-page re-run extracted 1,250 such bags beside 822 real ones).
    """
    evs = corpus.evidence[key]
    names = corpus.names
    co = sorted({c for ev in evs for c in ev.co})
    # each sentence by its text's hash: 4x cheaper than serialising 568k texts every run
    sentences = sorted(repr((ev.hash, ev.weight, ev.month, ev.co)) for ev in evs)
    payload = [
        BAG_VERSION,
        version,
        names.get(f"{key[0]}:{key[1]}", []),
        [(c, names.get(c, [])) for c in co],
        sentences,
    ]
    return hashlib.sha1(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()


def entity_bags(
    store: Store, corpus: Corpus, extractor: TermExtractor, *, refresh: bool, version: str = ""
) -> Bags:
    """Summaries for every entity (cached ones read back), full bags of the targets if few.

    `refresh` ignores the cache (`embed --full` recomputes everything from the
    evidence); `version` (the salience version) is part of every cache key.
    Summaries are kept as rows of term ids (`termbags.BagTable`); new terms are
    appended to the shared vocabulary (`bag_terms`). Bags are extracted in
    pieces of about FULL_BAG_ROWS evidence rows, and full bags (evidence ids,
    months: ~1 GB at 10,000 pages) are kept only when the targets' fit in one
    piece; otherwise each sentence's extracted terms are kept as term ids and
    `descriptor_batches` rebuilds the bags from them a piece at a time.
    """
    hashes = {key: input_hash(key, corpus, version) for key in corpus.evidence}
    terms = _load_terms(store)
    vocab = {t: i for i, t in enumerate(terms)}
    cached = {} if refresh else _load(store, hashes, len(terms))
    need = sorted(k for k in corpus.evidence if k in corpus.todo or k not in cached)
    keep = sum(len(corpus.evidence[k]) for k in corpus.todo) <= FULL_BAG_ROWS
    rows = dict(cached)
    full: dict[EntityKey, EntityTerms] = {}
    new_rows = []
    sentence_terms: dict[EntityKey, tuple[np.ndarray, np.ndarray]] = {}
    for piece in _pieces(need, corpus):
        record: dict[EntityKey, list[list[str]]] = {}
        fresh, grams = extract(store, corpus, extractor, piece, None if keep else record)
        for key in piece:
            rows[key] = BagRow.of(BagSummary.of(fresh[key], grams[key]), vocab)
            if keep and key in corpus.todo:
                full[key] = fresh[key]
            elif key in corpus.todo:
                sentence_terms[key] = _as_ids(record.get(key, []), vocab)
            if key not in cached:
                new_rows.append(
                    {
                        "entity_kind": key[0],
                        "entity_id": key[1],
                        "key_hash": hashes[key],
                        "bag": rows[key].encode(),
                    }
                )
    new_terms: list[dict[str, Any]] = [
        {"id": i, "term": t} for t, i in vocab.items() if i >= len(terms)
    ]
    with store.session() as session:
        insert_rows(session, BagTerm, new_terms)
        for chunk in chunked(new_rows, 1000):
            upsert(session, EntityBag, chunk, keys=["entity_kind", "entity_id"])
    keys = list(corpus.evidence)  # corpus order, as a recount sees it
    table = BagTable.stack(keys, [rows[k] for k in keys], list(vocab))
    return Bags(full, table, len(need), complete=keep, sentence_terms=sentence_terms)


def _as_ids(sentences: list[list[str]], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-sentence term lists as (flat term ids, sentence end offsets): ~4 bytes a term."""
    flat = [vocab.setdefault(t, len(vocab)) for terms in sentences for t in terms]
    ends = np.cumsum([len(terms) for terms in sentences], dtype=np.int64)
    return np.asarray(flat, dtype=np.int32), ends


def descriptor_batches(
    store: Store, corpus: Corpus, extractor: TermExtractor, bags: Bags
) -> Iterator[dict[EntityKey, EntityTerms]]:
    """The targets' full bags: all at once when `entity_bags` kept them, else piece by piece
    from the kept term ids (no second extraction)."""
    if bags.complete:
        yield bags.full
        return
    terms = bags.table.terms
    for piece in _pieces(sorted(corpus.todo), corpus):
        batch = {}
        for key in piece:
            flat, ends = bags.sentence_terms[key]
            starts = np.r_[0, ends[:-1]] if len(ends) else ends
            lists = [
                [terms[i] for i in flat[a:b].tolist()]
                for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
            ]
            batch[key] = bag_of(corpus.evidence[key], lists)
        yield batch


def extract(
    store: Store,
    corpus: Corpus,
    extractor: TermExtractor,
    keys: Sequence[EntityKey],
    record: dict[EntityKey, list[list[str]]] | None = None,
) -> tuple[dict[EntityKey, EntityTerms], dict[EntityKey, Counter[str]]]:
    """Full term bags and 1-2 gram bags of some entities (tags through their cache)."""
    sub = Corpus(
        {k: corpus.evidence[k] for k in keys}, set(), set(), {}, corpus.names, corpus.track_artist
    )
    texts = (ev.text for evs in sub.evidence.values() for ev in evs)
    content = cached_content_words(store, texts) if sub.evidence else {}
    fresh = term_bags(
        sub, extractor, pos_filter=content is not None, content=content, record=record
    )
    return fresh, text_bags(sub)


def _pieces(keys: Sequence[EntityKey], corpus: Corpus) -> Iterator[list[EntityKey]]:
    """Consecutive runs of keys holding about FULL_BAG_ROWS evidence rows each."""
    piece: list[EntityKey] = []
    size = 0
    for key in keys:
        piece.append(key)
        size += len(corpus.evidence[key])
        if size >= FULL_BAG_ROWS:
            yield piece
            piece, size = [], 0
    if piece:
        yield piece


def _load_terms(store: Store) -> list[str]:
    """The shared term vocabulary, in id order (ids are dense from 0).

    Ids are appended in the transaction that writes the bags naming them, so
    a gap means the cache was edited by hand: it is emptied and rebuilt.
    """
    with store.session() as session:
        rows = session.execute(select(BagTerm.id, BagTerm.term).order_by(BagTerm.id)).all()
        if all(i == n for n, (i, _t) in enumerate(rows)):
            return [t for _i, t in rows]
        log.warning("bag_terms: ids are not dense; emptying the term bag cache")
        session.execute(delete(EntityBag))
        session.execute(delete(BagTerm))
    return []


def _load(store: Store, hashes: Mapping[EntityKey, str], n_terms: int) -> dict[EntityKey, BagRow]:
    """Cached summaries whose input hash still matches (one scan: most rows are wanted)."""
    out: dict[EntityKey, BagRow] = {}
    with store.session() as session:
        rows = session.execute(
            select(EntityBag.entity_kind, EntityBag.entity_id, EntityBag.key_hash, EntityBag.bag)
        )
        for kind, eid, key_hash, blob in rows:
            if hashes.get((kind, eid)) != key_hash:
                continue
            try:
                row = BagRow.decode(bytes(blob))
            except ValueError:  # a damaged cache row: recompute it
                continue
            top = max(int(row.term_ids.max(initial=-1)), int(row.gram_ids.max(initial=-1)))
            if top < n_terms:  # else a term it names is gone: recompute it
                out[(kind, eid)] = row
    return out

"""Step 2: sentence embeddings of evidence sentences, through one cache (`sentence_embeddings`).

Every embedding the stage uses goes through `_encode_and_store` and is read
back by `sentence_vectors`: the parallel pre-embedding of pending evidence,
the per-entity lookup and the prototype phrases share that one path. The
cache is keyed on (sentence hash, encoder name): switching the encoder
(`ProfileConfig.encoder`) never reads another encoder's vectors.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from linernotes.nlp.embeddings import MODEL_NAME, Encoder, encoder_spec, sentence_hash
from linernotes.nlp.vocabulary import prototype_terms
from linernotes.storage import Store
from linernotes.storage.chunks import chunked
from linernotes.storage.models import Evidence, SentenceEmbedding
from linernotes.storage.upsert import upsert

SENTENCE_CHUNK = 256  # evidence rows one worker claims at a time in the parallel phase
ENCODE_BATCH = 2048


def _cached(session: Session, hashes: list[str], model: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for chunk in chunked(hashes):
        for h, vec in session.execute(
            select(SentenceEmbedding.sentence_hash, SentenceEmbedding.vector).where(
                SentenceEmbedding.model == model,
                SentenceEmbedding.sentence_hash.in_(chunk),
            )
        ):
            out[h] = np.asarray(vec, dtype=np.float32)
    return out


def _encode_and_store(
    session: Session, by_hash: Mapping[str, str], encoder: Encoder
) -> dict[str, np.ndarray]:
    """Encode sentences (hash -> text) and add them to the cache in this session."""
    hashes = list(by_hash)
    if not hashes:
        return {}
    vecs = encoder.encode([by_hash[h] for h in hashes])
    rows = [
        {"sentence_hash": h, "model": encoder.name, "vector": v}
        for h, v in zip(hashes, vecs, strict=True)
    ]
    upsert(session, SentenceEmbedding, rows, keys=["sentence_hash", "model"], update=[])
    return {r["sentence_hash"]: np.asarray(r["vector"], dtype=np.float32) for r in rows}


def sentence_vectors(
    store: Store, texts: Mapping[str, str], encoder: Encoder
) -> tuple[dict[str, np.ndarray], int]:
    """Embeddings of sentences given as hash -> text: cached ones read, the rest encoded.

    Returns the vectors and how many had to be encoded.
    """
    hashes = sorted(texts)
    with store.session() as session:
        out = _cached(session, hashes, encoder.name)
    missing = [h for h in hashes if h not in out]
    for start in range(0, len(missing), ENCODE_BATCH):
        chunk = {h: texts[h] for h in missing[start : start + ENCODE_BATCH]}
        with store.session() as session:
            out.update(_encode_and_store(session, chunk, encoder))
    return out, len(missing)


def prototype_matrix(store: Store, encoder: Encoder) -> tuple[np.ndarray, int]:
    """Embeddings of "<term> music" for the prototype vocabulary (cached like any sentence)."""
    texts = {sentence_hash(t): t for t in (f"{term} music" for term in prototype_terms())}
    vecs, encoded = sentence_vectors(store, texts, encoder)
    order = [sentence_hash(f"{term} music") for term in prototype_terms()]
    return np.stack([vecs[h] for h in order]).astype(np.float32), encoded


def embed_pending_sentences(
    store: Store,
    encoder: Encoder | None = None,
    chunk: int | None = None,
    *,
    model: str = MODEL_NAME,
) -> tuple[int, Encoder | None]:
    """Embed evidence sentences missing from the cache; safe in several workers at once.

    Returns how many distinct sentences this worker encoded, and the encoder
    (`model`'s, loaded only when something needs encoding). On PostgreSQL the
    claimed evidence rows stay locked until their embeddings are committed, so
    concurrent workers take different chunks.
    """
    size = chunk or SENTENCE_CHUNK
    cached = (
        select(SentenceEmbedding.sentence_hash)
        .where(
            SentenceEmbedding.model == (encoder.name if encoder else model),
            SentenceEmbedding.sentence_hash == Evidence.sentence_hash,
        )
        .exists()
    )
    encoded = 0
    while True:
        with store.session() as session:
            stmt = (
                select(Evidence.sentence_hash, Evidence.text)
                .where(~cached)
                .order_by(Evidence.id)
                .limit(size)
            )
            if store.dialect == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=Evidence)
            claimed = dict(session.execute(stmt).tuples().all())
            if not claimed:
                return encoded, encoder
            by_hash = _own_hashes(session, claimed)
            if not by_hash:  # all taken by workers still encoding them: wait for their commit
                time.sleep(0.05)
                continue
            encoder = encoder or encoder_spec(model).load()
            encoded += len(_encode_and_store(session, by_hash, encoder))


def _own_hashes(session: Session, claimed: dict[str, str]) -> dict[str, str]:
    """The claimed sentences no other worker is encoding right now.

    Row locks keep workers off the same evidence rows, but one sentence can
    back several rows (an artist and its track, syndicated copies): a
    transaction-scoped advisory lock per sentence hash makes it one worker's.
    """
    if session.get_bind().dialect.name != "postgresql":
        return claimed
    own = {}
    for h, sentence in claimed.items():
        key = int(h[:15], 16)
        if session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar():
            own[h] = sentence
    return own

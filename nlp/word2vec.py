"""word2vec (gensim) trained on the crawled corpus, with linked mentions as entity tokens.

Why: bag-of-words cannot see that two artists are written about in the same
company. Replacing every linked mention by one token (`ent:artist:<id>`)
lets skip-gram learn an entity vector from co-occurrence, and the same model
gives descriptor terms vectors, so an entity's descriptor profile becomes a
dense vector too. Phrases (gensim `Phrases`) join frequent collocations
("drum_and_bass") in the text between entity tokens.

Retraining is costly on a large crawl, so the model is retrained only when
the corpus has grown by `retrain_fraction` since the last training (or the
cached model file is missing); its version string goes into every vector.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from linernotes.nlp.embeddings import cache_dir
from linernotes.storage import Store
from linernotes.storage.chunks import chunked
from linernotes.storage.models import Document, KeyValue, Mention
from linernotes.storage.upsert import upsert

log = logging.getLogger(__name__)

STATE_KEY = "word2vec"
_TOKEN = re.compile(r"[a-z0-9][a-z0-9&'+]*")
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Word2VecConfig:
    vector_size: int = 100
    window: int = 8
    min_count: int = 2
    retrain_fraction: float = 0.2
    seed: int = 13
    workers: int = 2


def entity_token(kind: str, entity_id: str) -> str:
    return f"ent:{kind}:{entity_id}"


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("-", " "))


def document_sentences(text: str, mentions: Sequence[tuple[int, int, str, str]]) -> list[list[str]]:
    """Token lists of a document's sentences, linked mentions replaced by entity tokens."""
    pieces: list[str] = []
    last = 0
    for start, end, label, eid in sorted(mentions):
        if start < last:
            continue
        pieces.append(text[last:start])
        pieces.append(f" \x00{entity_token(label.lower(), eid)}\x00 ")
        last = end
    pieces.append(text[last:])
    out = []
    for sent in _SENT.split("".join(pieces)):
        tokens: list[str] = []
        for i, part in enumerate(sent.split("\x00")):
            if i % 2 == 1:
                tokens.append(part)
            else:
                tokens.extend(tokenize(part))
        if len(tokens) >= 2:
            out.append(tokens)
    return out


def _corpus(store: Store) -> Iterator[list[str]]:
    with store.session() as session:
        ids = [
            d for (d,) in session.execute(select(Document.id).where(Document.status == "stored"))
        ]
        for chunk in chunked(ids):
            texts = dict(
                session.execute(
                    select(Document.id, Document.text).where(Document.id.in_(chunk))
                ).all()
            )
            ments: dict[int, list[tuple[int, int, str, str]]] = {}
            for doc, s, e, label, eid in session.execute(
                select(
                    Mention.document_id,
                    Mention.start,
                    Mention.end,
                    Mention.label,
                    Mention.entity_id,
                ).where(Mention.document_id.in_(chunk), Mention.entity_id.is_not(None))
            ):
                ments.setdefault(doc, []).append((s, e, label, str(eid)))
            for doc in chunk:
                yield from document_sentences(texts.get(doc) or "", ments.get(doc, []))


def corpus_chars(store: Store) -> int:
    """Size of the stored corpus (characters): what the retrain threshold compares."""
    with store.session() as session:
        total = session.execute(
            select(func.coalesce(func.sum(func.length(Document.text)), 0)).where(
                Document.status == "stored"
            )
        ).scalar_one()
    return int(total or 0)


def _model_path(store: Store) -> Path:
    key = hashlib.sha1(store.url.encode()).hexdigest()[:16]
    return cache_dir() / "word2vec" / f"{key}.model"


def _split_phrases(sentences: list[list[str]], phrases: Any) -> list[list[str]]:
    """Apply phrases to the text between entity tokens only, so entity tokens stay whole."""
    out = []
    for sent in sentences:
        new: list[str] = []
        run: list[str] = []
        for tok in [*sent, None]:
            if tok is None or tok.startswith("ent:"):
                if run:
                    new.extend(phrases[run])
                    run = []
                if tok:
                    new.append(tok)
            else:
                run.append(tok)
        out.append(new)
    return out


@dataclass
class TrainedModel:
    version: str
    wv: Any  # gensim KeyedVectors
    retrained: bool


def train(sentences: list[list[str]], config: Word2VecConfig) -> Any:
    """Phrases then skip-gram; more epochs on a small corpus, where one pass learns little."""
    from gensim.models import Word2Vec
    from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS, Phrases

    plain = [[t for t in s if not t.startswith("ent:")] for s in sentences]
    phrases = Phrases(
        plain, min_count=5, threshold=10.0, connector_words=ENGLISH_CONNECTOR_WORDS
    ).freeze()
    corpus = _split_phrases(sentences, phrases)
    words = sum(len(s) for s in corpus)
    epochs = int(min(30, max(5, math.ceil(3_000_000 / max(words, 1)))))
    model = Word2Vec(
        corpus,
        vector_size=config.vector_size,
        window=config.window,
        min_count=config.min_count,
        sg=1,
        negative=10,
        sample=1e-4,
        epochs=epochs,
        seed=config.seed,
        workers=config.workers,
    )
    return model.wv


def ensure_model(
    store: Store, config: Word2VecConfig, *, force: bool = False
) -> TrainedModel | None:
    """The current model, retrained when the corpus grew by the configured fraction."""
    from gensim.models import KeyedVectors

    size = corpus_chars(store)
    with store.session() as session:
        row = session.get(KeyValue, STATE_KEY)
        state = dict(row.value) if row else {}
    # the state names its model file: a copied database keeps using the same model
    path = Path(state["path"]) if state.get("path") else _model_path(store)
    trained_size = int(state.get("corpus_chars", 0))
    grown = size > trained_size * (1.0 + config.retrain_fraction)
    if not force and state and path.exists() and not grown:
        return TrainedModel(str(state["version"]), KeyedVectors.load(str(path)), False)
    path = _model_path(store)
    sentences = list(_corpus(store))
    if sum(len(s) for s in sentences) < 50:
        return None
    wv = train(sentences, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    wv.save(str(path))
    version = f"w2v-{config.vector_size}-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    with store.session() as session:
        upsert(
            session,
            KeyValue,
            [
                {
                    "key": STATE_KEY,
                    "value": {
                        "version": version,
                        "corpus_chars": size,
                        "sentences": len(sentences),
                        "path": str(path),
                    },
                }
            ],
            keys=["key"],
        )
    return TrainedModel(version, wv, True)


def term_vector(wv: Any, term: str) -> np.ndarray | None:
    """A descriptor term's vector: its phrase token, else the mean of its words."""
    words = tokenize(term)
    joined = "_".join(words)
    if joined in wv.key_to_index:
        return np.asarray(wv[joined], dtype=np.float32)
    vecs = [wv[w] for w in words if w in wv.key_to_index]
    return np.mean(vecs, axis=0).astype(np.float32) if vecs else None


def descriptor_vector(wv: Any, weights: dict[str, float], top: int = 50) -> np.ndarray | None:
    """Salience-weighted mean of the unit vectors of an entity's top descriptor terms."""
    acc = np.zeros(wv.vector_size, dtype=np.float32)
    used = 0
    for term, w in sorted(weights.items(), key=lambda kv: -kv[1])[:top]:
        vec = term_vector(wv, term)
        if vec is None:
            continue
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            acc += w * vec / norm
            used += 1
    return acc if used else None


def entity_vector(wv: Any, kind: str, entity_id: str) -> np.ndarray | None:
    tok = entity_token(kind, entity_id)
    return np.asarray(wv[tok], dtype=np.float32) if tok in wv.key_to_index else None

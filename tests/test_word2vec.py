"""word2vec: entity tokens, training, term and entity vectors, retrain threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from linernotes.nlp.word2vec import (
    Word2VecConfig,
    descriptor_vector,
    document_sentences,
    ensure_model,
    entity_token,
    entity_vector,
    term_vector,
    train,
)
from linernotes.storage import Store
from linernotes.storage.models import Document
from tests.test_evidence import seed_corpus


def test_document_sentences_replace_mentions_by_entity_tokens() -> None:
    text = "Ironhull played doom. Later Slow Tide closed the set."
    sents = document_sentences(text, [(0, 8, "ARTIST", "ar:i"), (28, 37, "TRACK", "tr:s")])
    assert sents == [
        [entity_token("artist", "ar:i"), "played", "doom"],
        ["later", entity_token("track", "tr:s"), "closed", "the", "set"],
    ]


@pytest.fixture(scope="module")
def tiny_model() -> object:
    corpus = []
    for _ in range(60):
        corpus.append(["ent:artist:a", "plays", "shoegaze", "with", "reverb", "guitars"])
        corpus.append(["ent:artist:b", "plays", "shoegaze", "with", "reverb", "pedals"])
        corpus.append(["ent:artist:c", "plays", "bebop", "with", "brass", "horns"])
    return train(corpus, Word2VecConfig(vector_size=16, window=3, min_count=1, workers=1))


def test_entity_vectors_learn_from_cooccurrence(tiny_model: object) -> None:
    a, b, c = (entity_vector(tiny_model, "artist", x) for x in "abc")
    assert a is not None and b is not None and c is not None
    assert entity_vector(tiny_model, "artist", "zzz") is None

    def cos(u: np.ndarray, v: np.ndarray) -> float:
        return float(u @ v / np.linalg.norm(u) / np.linalg.norm(v))

    assert cos(a, b) > cos(a, c)


def test_term_and_descriptor_vectors(tiny_model: object) -> None:
    assert term_vector(tiny_model, "reverb guitars") is not None
    assert term_vector(tiny_model, "unknown words") is None
    vec = descriptor_vector(tiny_model, {"shoegaze": 2.0, "nope": 1.0})
    assert vec is not None and vec.shape == (16,)
    assert descriptor_vector(tiny_model, {"nope": 1.0}) is None


def test_retrains_only_when_corpus_grew(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINERNOTES_CACHE", str(tmp_path))
    big: dict[int, tuple[str, list[tuple[str, str, str]]]] = {
        i: (" ".join(["Glasswing makes dreamy shoegaze with reverb guitars."] * 8), [])
        for i in (1, 2)
    }
    seed_corpus(sqlite_store, big)
    cfg = Word2VecConfig(vector_size=8, min_count=1, workers=1, retrain_fraction=0.5)
    first = ensure_model(sqlite_store, cfg)
    assert first is not None and first.retrained
    second = ensure_model(sqlite_store, cfg)
    assert second is not None and not second.retrained and second.version == first.version
    with sqlite_store.session() as session:
        session.execute(update(Document).where(Document.id == 2).values(text=big[2][0] * 3))
    third = ensure_model(sqlite_store, cfg)
    assert third is not None and third.retrained

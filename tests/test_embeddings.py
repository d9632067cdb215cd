"""Sentence embeddings: hashing, the cache, and the ONNX int8 encoder's agreement with encode()."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from nlp.embeddings import encode_cached, normalize_rows, sentence_hash


class CountingEncoder:
    name = "fake"
    version = "1"
    dim = 3

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        self.calls.append(list(sentences))
        return normalize_rows(np.array([[len(s), 1.0, 0.0] for s in sentences], dtype=np.float32))


def test_sentence_hash_ignores_whitespace_reflow() -> None:
    assert sentence_hash("A  dreamy\nrecord.") == sentence_hash("A dreamy record.")
    assert sentence_hash("A dreamy record.") != sentence_hash("A dreamy record!")


def test_cache_embeds_each_distinct_sentence_once() -> None:
    enc = CountingEncoder()
    cache: dict[str, np.ndarray] = {}
    mat, n = encode_cached(["one", "two", "one", "one  "], enc, cache)
    assert n == 2 and enc.calls == [["one", "two"]]
    assert np.allclose(mat[0], mat[2]) and np.allclose(mat[0], mat[3])
    _, n2 = encode_cached(["two", "three"], enc, cache)
    assert n2 == 1 and enc.calls[-1] == ["three"]


SENTENCES = [
    "A dreamy shoegaze record drowned in reverb.",
    "Crushing doom metal riffs and a heavy, sludgy low end.",
    "The trio's second album leans on warm Rhodes piano and brushed drums.",
    "Short.",
    "Her falsetto floats over a skeletal 808 beat, sparse and hypnotic, for nearly seven "
    "minutes before the strings come in and the whole thing blooms into something cinematic.",
]


@pytest.fixture(scope="session")
def reference_vectors() -> np.ndarray:
    from nlp.embeddings import load_sentence_transformer

    model = load_sentence_transformer("cpu")
    return np.asarray(model.encode(SENTENCES, normalize_embeddings=True), dtype=np.float32)


@pytest.mark.slow
def test_onnx_int8_agrees_with_sentence_transformers(reference_vectors: np.ndarray) -> None:
    from nlp.embeddings import OnnxEncoder

    enc = OnnxEncoder(batch_size=2)
    ours = enc.encode(SENTENCES)
    assert ours.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    cos = (ours * reference_vectors).sum(axis=1)
    assert cos.mean() >= 0.99 and cos.min() >= 0.97
    # order is kept despite length bucketing
    again = enc.encode(list(reversed(SENTENCES)))
    assert np.allclose(again[::-1], ours, atol=1e-5)

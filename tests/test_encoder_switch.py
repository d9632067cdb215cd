"""The sentence encoder is a named setting: its vectors never mix with another encoder's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from linernotes.nlp import embeddings
from linernotes.nlp.embeddings import MODEL_NAME, EncoderSpec, encoder_spec
from linernotes.nlp.profiles import ProfileConfig, build_profiles
from linernotes.storage import Store
from linernotes.storage.models import SentenceEmbedding, Vector
from tests.test_evidence import seed_corpus
from tests.test_profiles import FakeEncoder


class OtherEncoder(FakeEncoder):
    """A second encoder with its own name and dimension."""

    name = "other-encoder"
    version = "other-v1"
    dim = 16


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINERNOTES_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def other(monkeypatch: pytest.MonkeyPatch) -> OtherEncoder:
    enc = OtherEncoder()
    spec = EncoderSpec(enc.name, enc.dim, lambda: enc)
    monkeypatch.setitem(embeddings.ENCODERS, enc.name, spec)
    return enc


def test_unknown_encoder_is_one_readable_error() -> None:
    with pytest.raises(ValueError, match=r"unknown sentence encoder 'nope' .*all-MiniLM-L6-v2"):
        encoder_spec("nope")
    assert encoder_spec(MODEL_NAME).dim == 384
    assert ProfileConfig().encoder == MODEL_NAME


def test_the_sentence_parts_take_the_encoders_dimension(other: OtherEncoder) -> None:
    cfg = ProfileConfig(encoder=other.name)
    assert cfg.dims(100)["minilm-mean"] == 16
    assert ProfileConfig().dims(100)["minilm-mean"] == 384
    assert cfg.signature("w") != ProfileConfig().signature("w")


def test_an_encoder_that_is_not_the_configured_one_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match=r"'other-encoder' .* not the configured"):
        build_profiles(store, config=ProfileConfig(use_word2vec=False), encoder=OtherEncoder())


def _sentence_parts(store: Store) -> dict[str, tuple[str, int]]:
    with store.session() as session:
        rows = session.execute(
            select(Vector.entity_id, Vector.model_version, Vector.dim).where(
                Vector.model == "minilm-mean"
            )
        ).all()
    return {eid: (version, dim) for eid, version, dim in rows}


def _cached_models(store: Store) -> dict[str, int]:
    with store.session() as session:
        models = session.execute(select(SentenceEmbedding.model)).scalars().all()
    return {m: models.count(m) for m in set(models)}


@pytest.mark.slow  # the embed stage tags evidence with spaCy
def test_switching_the_encoder_recomputes_everything_from_its_own_cache(
    sqlite_store: Store, other: OtherEncoder
) -> None:
    store = sqlite_store
    seed_corpus(store)
    minilm = FakeEncoder()
    first = build_profiles(store, config=ProfileConfig(use_word2vec=False), encoder=minilm)
    assert {v for v, _ in _sentence_parts(store).values()} == {f"{MODEL_NAME}:fake-v1"}

    # switched: every entity rewritten, every sentence encoded by the new encoder (none of
    # MiniLM's cached vectors read), the parts at the new dimension
    cfg = ProfileConfig(use_word2vec=False, encoder=other.name)
    switched = build_profiles(store, config=cfg)  # loaded through the registry
    assert switched.entities_recomputed == first.entities_recomputed == 3
    assert set(other.encoded) == set(minilm.encoded)
    assert set(_sentence_parts(store).values()) == {("other-encoder:other-v1", 16)}
    cached = _cached_models(store)
    assert cached[MODEL_NAME] == cached["other-encoder"] == len(set(minilm.encoded))

    # and back: everything rewritten again, nothing encoded (each encoder keeps its cache)
    again = FakeEncoder()
    back = build_profiles(store, config=ProfileConfig(use_word2vec=False), encoder=again)
    assert back.entities_recomputed == 3 and again.encoded == []
    assert set(_sentence_parts(store).values()) == {(f"{MODEL_NAME}:fake-v1", 384)}
    with store.session() as session:
        vec = session.execute(
            select(Vector.vector).where(Vector.model == "minilm-mean").limit(1)
        ).scalar_one()
    assert np.asarray(vec).shape == (384,)

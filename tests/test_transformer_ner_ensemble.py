"""Seed ensembles of the transformer NER: members listed in PROVENANCE.json, probabilities
averaged, members checked before they are combined."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from linernotes.nlp.transformer_ner_ensemble import combine, member_file, read_members
from linernotes.nlp.transformer_tagger import MODEL_DIR, TransformerTagger

SHARED = Path(__file__).resolve().parents[2] / "shared"
WORDS = [["Robyn", "sang", "Dancing", "On", "My", "Own", "live"], ["play", "some", "abba"]]


def _single(tmp_path: Path, name: str, **hyper: object) -> Path:
    """A copy of the shipped model as one member (its PROVENANCE's hyper fields replaced)."""
    out = tmp_path / name
    out.mkdir()
    for file in ("model.onnx", "tokenizer.json"):
        shutil.copyfile(MODEL_DIR / file, out / file)
    meta = json.loads((MODEL_DIR / "PROVENANCE.json").read_text())
    meta.pop("members", None)
    meta["hyper"] = dict(meta.get("hyper", {})) | hyper
    (out / "PROVENANCE.json").write_text(json.dumps(meta))
    return out


def _by_hand(tmp_path: Path, weights: list[Path]) -> Path:
    """An ensemble directory written by hand: the members' graphs and a `members` list."""
    out = tmp_path / "ensemble"
    out.mkdir()
    shutil.copyfile(MODEL_DIR / "tokenizer.json", out / "tokenizer.json")
    members = []
    for i, source in enumerate(weights):
        shutil.copyfile(source, out / member_file(i))
        members.append({"file": member_file(i)})
    meta = json.loads((MODEL_DIR / "PROVENANCE.json").read_text()) | {"members": members}
    (out / "PROVENANCE.json").write_text(json.dumps(meta))
    return out


def _shipped_single_member() -> Path:
    meta = json.loads((MODEL_DIR / "PROVENANCE.json").read_text())
    return MODEL_DIR / (meta.get("members") or [{"file": "model.onnx"}])[0]["file"]


def test_two_copies_of_one_model_tag_exactly_as_the_model(tmp_path: Path) -> None:
    weights = _shipped_single_member()
    single = TransformerTagger(MODEL_DIR, ["CPUExecutionProvider"], onnx_path=weights)
    pair = TransformerTagger(_by_hand(tmp_path, [weights, weights]), ["CPUExecutionProvider"])
    assert len(pair.sessions) == 2
    for a, b in zip(single.tag(WORDS), pair.tag(WORDS), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_missing_member_is_named(tmp_path: Path) -> None:
    out = _by_hand(tmp_path, [_shipped_single_member()])
    meta = json.loads((out / "PROVENANCE.json").read_text())
    meta["members"].append({"file": "model-2.onnx"})
    (out / "PROVENANCE.json").write_text(json.dumps(meta))
    with pytest.raises(FileNotFoundError, match=r"model-2\.onnx"):
        TransformerTagger(out)


def test_members_must_be_combinable(tmp_path: Path) -> None:
    a = _single(tmp_path, "a", seed=13, holdout_fold=0)
    b = _single(tmp_path, "b", seed=14, holdout_fold=1)
    with pytest.raises(ValueError, match="at least two"):
        read_members([a])
    with pytest.raises(ValueError, match="holdout_fold"):
        read_members([a, b])
    c = _single(tmp_path, "c", seed=14, holdout_fold=0)
    assert len(read_members([a, c])) == 2
    nested = _by_hand(tmp_path, [a / "model.onnx", c / "model.onnx"])
    with pytest.raises(ValueError, match="already an ensemble"):
        read_members([a, nested])


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED / "data/gold/crossner_music/dev.jsonl").exists(), reason="no ../shared"
)
def test_combine_chooses_the_threshold_on_the_tuning_half(tmp_path: Path) -> None:
    from linernotes.nlp.train_transformer_ner import THRESHOLDS

    a = _single(tmp_path, "a", seed=13)
    b = _single(tmp_path, "b", seed=14)
    meta = combine([a, b], tmp_path / "out", SHARED)
    written = json.loads((tmp_path / "out/PROVENANCE.json").read_text())
    assert written == meta
    assert [m["seed"] for m in meta["members"]] == [13, 14]
    assert meta["threshold"] in THRESHOLDS
    assert set(meta["label_floors"]) == {"ARTIST", "TRACK", "ALBUM"}
    assert 0.5 < meta["int8_check"]["micro"] <= 1.0
    tagger = TransformerTagger(tmp_path / "out")
    assert len(tagger.sessions) == 2 and tagger.uses_hints


def test_the_first_member_alone_runs_with_its_own_threshold(tmp_path: Path) -> None:
    weights = _shipped_single_member()
    out = _by_hand(tmp_path, [weights, weights])
    meta = json.loads((out / "PROVENANCE.json").read_text())
    meta["threshold"], meta["label_floors"] = 0.4, {"ARTIST": 0.6}
    meta["members"][0] |= {"threshold": 0.3, "label_floors": {"ARTIST": 0.5}}
    (out / "PROVENANCE.json").write_text(json.dumps(meta))
    both = TransformerTagger(out)
    first = TransformerTagger(out, members=1)
    assert (len(both.sessions), both.threshold, both.floors) == (2, 0.4, {"ARTIST": 0.6})
    assert (len(first.sessions), first.threshold, first.floors) == (1, 0.3, {"ARTIST": 0.5})
    assert len(TransformerTagger(out, members=2).sessions) == 2
    with pytest.raises(ValueError, match="members=3"):
        TransformerTagger(out, members=3)


def test_the_component_takes_the_members_setting() -> None:
    import spacy

    from linernotes.nlp import transformer_ner as tn

    pipeline = spacy.blank("en")
    component = pipeline.add_pipe(tn.COMPONENT, config={"members": 1})
    assert len(component.tagger.sessions) == 1


def test_the_recipe_trains_each_member_once_then_combines(tmp_path: Path, monkeypatch) -> None:
    """`train_recipe`: one fine-tune per seed in work/seedN, a member already there is kept
    (a killed run resumes), then the ensemble of all of them."""
    from linernotes.nlp import train_transformer_ner as recipe
    from linernotes.nlp import transformer_ner_ensemble
    from linernotes.nlp.transformer_ner_model import Hyper

    trained: list[int] = []
    combined: list[list[Path]] = []

    def fake_run(shared, hyper, out, work, smoke, resume=None):
        trained.append(hyper.seed)
        out.mkdir(parents=True)
        (out / "model.onnx").write_bytes(b"")
        (out / "PROVENANCE.json").write_text("{}")
        return {}, 0.5

    monkeypatch.setattr(recipe, "main_run", fake_run)
    monkeypatch.setattr(
        transformer_ner_ensemble, "combine", lambda dirs, out, shared: combined.append(dirs) or {}
    )
    work = tmp_path / "work"
    recipe.train_recipe(SHARED, Hyper(seed=13, members=2), tmp_path / "out", work)
    assert trained == [13, 14]
    assert combined == [[work / "seed13/model", work / "seed14/model"]]
    recipe.train_recipe(SHARED, Hyper(seed=13, members=3), tmp_path / "out", work)
    assert trained == [13, 14, 15]  # 13 and 14 were kept
    assert combined[-1][-1] == work / "seed15/model"

"""Cross-validation of the transformer NER recipe: fold models, resume, scoring over folds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linernotes.nlp import transformer_ner_cv as cv
from linernotes.nlp.evaluate import GoldExample, musicreconer_fold, score
from linernotes.nlp.transformer_tagger import MODEL_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# the shipped model was trained without this fold; it stands in for a fold model here
SHIPPED_FOLD = 0


def _queries_in_fold(fold: int, count: int) -> list[str]:
    """Conversational queries (made up here) whose text falls in `fold`."""
    artists = ["Robyn", "Kate Bush", "Massive Attack", "Joni Mitchell", "Björk", "Radiohead"]
    found = []
    for n in range(200):
        artist = artists[n % len(artists)]
        text = f"play something like {artist} please {n}"
        if musicreconer_fold(text) == fold:
            found.append(text)
        if len(found) == count:
            break
    return found


def _write_dataset4(directory: Path, texts: list[str]) -> None:
    """A MusicRecoNER-style dataset 4 (ground-truth.bio + queries.csv) for `texts`."""
    bio, rows = [], ["preprocessed,original"]
    for text in texts:
        words = text.split()
        artist_words = words[3:-2]
        tags = ["O"] * 3 + ["B-Artist"] + ["I-Artist"] * (len(artist_words) - 1) + ["O", "O"]
        bio.append("\n".join(f"{w.lower()}\t{t}" for w, t in zip(words, tags, strict=True)))
        rows.append(f"{text.lower()},{text}")
    directory.mkdir(parents=True)
    (directory / "ground-truth.bio").write_text("\n\n".join(bio) + "\n\n")
    (directory / "queries.csv").write_text("\n".join(rows) + "\n")


def test_a_trained_fold_is_not_trained_again(tmp_path: Path):
    model = cv.fold_model_dir(tmp_path, 2)
    model.mkdir(parents=True)
    (model / "PROVENANCE.json").write_text("{}")
    (model / "model.onnx").write_bytes(b"onnx")
    # a fold to train would need ../shared's training sets: tmp_path has none, so a call that
    # did not skip would fail here
    assert cv.train_fold(tmp_path / "no-shared", tmp_path, 2) == model


def test_micro_f1_sums_the_counts_of_every_fold():
    texts = _queries_in_fold(1, 2) + _queries_in_fold(4, 3)
    gold = [GoldExample(t, [(20, 20 + len(t.split()[3]), "ARTIST")]) for t in texts]
    right = [list(g.spans) for g in gold]
    wrong: list[list[tuple[int, int, str]]] = [[(0, 4, "ARTIST")] for _ in gold]
    spans = right[:2] + wrong[2:]  # fold 1 all right, fold 4 all wrong
    predicted = {"gold": gold, "transformer": spans, "rules": right, "rules+transformer": wrong}
    report = cv.cv_report(predicted, [1, 4])
    assert report["queries"] == 5
    assert report["transformer"]["fold1"]["micro"]["f1"] == 1.0
    assert report["transformer"]["fold4"]["micro"]["f1"] == 0.0
    assert report["transformer"]["all"]["micro"]["f1"] == round(
        score(gold, spans)["micro"]["f1"], 4
    )
    assert report["transformer"]["all"]["micro"]["support"] == 5
    assert report["rules"]["all"]["micro"]["f1"] == 1.0
    assert report["rules+transformer"]["all"]["micro"]["f1"] == 0.0


def test_summary_is_recorded_in_a_models_provenance(tmp_path: Path):
    texts = _queries_in_fold(1, 2)
    gold = [GoldExample(t, [(20, 20 + len(t.split()[3]), "ARTIST")]) for t in texts]
    right = [list(g.spans) for g in gold]
    none: list[list[tuple[int, int, str]]] = [[] for _ in gold]
    predicted = {"gold": gold, "transformer": right, "rules": none, "rules+transformer": right}
    provenance = tmp_path / "PROVENANCE.json"
    provenance.write_text('{"threshold": 0.4, "musicreconer4_cv": {"done": "fold 0 only"}}')
    cv.record_summary(provenance, cv.cv_report(predicted, [1]))
    meta = json.loads(provenance.read_text())
    assert meta["threshold"] == 0.4  # the rest is kept
    summary = meta["musicreconer4_cv"]
    assert "done" not in summary  # an older summary is replaced, not merged
    assert summary["transformer"]["all"]["micro"] == 1.0
    assert summary["rules"]["fold1"]["micro"] == 0.0


@pytest.mark.slow
def test_held_out_queries_are_scored_by_their_folds_model(tmp_path: Path):
    shared = tmp_path / "shared"
    texts = _queries_in_fold(SHIPPED_FOLD, 4)
    _write_dataset4(shared / "data/gold/musicreconer/dataset4", texts)
    catalog = FIXTURES / "catalog" / "blog.csv"
    work = tmp_path / "work"
    cv.fold_model_dir(work, SHIPPED_FOLD).parent.mkdir(parents=True)
    cv.fold_model_dir(work, SHIPPED_FOLD).symlink_to(MODEL_DIR)
    predicted = cv.predict_folds(shared, work, catalog, [SHIPPED_FOLD])
    assert [g.text for g in predicted["gold"]] == texts
    report = cv.cv_report(predicted, [SHIPPED_FOLD])
    # the queries name catalogue artists in a plain frame: both systems with the transformer
    # find most of them
    assert report["rules+transformer"]["all"]["micro"]["recall"] >= 0.5
    assert report["transformer"]["all"]["micro"]["recall"] >= 0.5
    with pytest.raises(FileNotFoundError, match="fold 1"):
        cv.predict_folds(shared, work, catalog, [1])
    # datasets 1-3 (a BIO file alone, lower-case): every fold model given is scored on all of it
    bio = tmp_path / "train.bio"
    bio.write_text(
        "songs\tO\nlike\tO\nkate\tB-Artist\nbush\tI-Artist\n\nplay\tO\nrobyn\tB-Artist\n"
    )
    unseen = cv.unseen_report(bio, work, [SHIPPED_FOLD], catalog)
    assert unseen["queries"] == 2
    assert unseen[f"fold{SHIPPED_FOLD} model"]["micro"]["support"] == 2


def test_main_says_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert cv.main(["--shared", str(tmp_path), "--work", str(tmp_path / "w")]) == 2
    assert "no MusicRecoNER dataset 4" in capsys.readouterr().err
    (tmp_path / "data/gold/musicreconer/dataset4").mkdir(parents=True)
    assert cv.main(["--shared", str(tmp_path), "--folds", "0,7"]) == 2
    assert "folds are 0-4" in capsys.readouterr().err

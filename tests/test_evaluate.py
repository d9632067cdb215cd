"""Gold loading (with line-numbered errors), scoring, MusicRecoNER conversion, table output."""

from __future__ import annotations

from pathlib import Path

import pytest

from linernotes.nlp.evaluate import (
    GoldExample,
    GoldFormatError,
    format_scores,
    load_gold,
    load_musicreconer,
    score,
)


def test_load_gold_reads_spans(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text(
        '{"text": "Low play", "spans": [{"start": 0, "end": 3, "label": "ARTIST"}]}\n\n'
    )
    assert load_gold(path) == [GoldExample("Low play", [(0, 3, "ARTIST")])]


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "invalid JSON"),
        ('{"spans": []}', "string 'text'"),
        ('{"text": "ab", "spans": [{"start": 0, "end": 9, "label": "ARTIST"}]}', "outside text"),
        ('{"text": "ab", "spans": [{"start": "0", "end": 1, "label": "ARTIST"}]}', "integer"),
    ],
)
def test_load_gold_names_the_bad_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"text": "ok", "spans": []}\n' + line + "\n")
    with pytest.raises(GoldFormatError, match=rf"g.jsonl:2: .*{message}"):
        load_gold(path)


def test_score_exact_match_per_label_and_micro() -> None:
    gold = [GoldExample("x" * 40, [(0, 5, "ARTIST"), (10, 15, "TRACK")])]
    pred = [[(0, 5, "ARTIST"), (10, 15, "ALBUM"), (20, 25, "ARTIST")]]
    s = score(gold, pred)
    assert s["ARTIST"]["precision"] == 0.5 and s["ARTIST"]["recall"] == 1.0
    assert s["TRACK"]["recall"] == 0.0 and s["ALBUM"]["precision"] == 0.0
    assert s["micro"]["f1"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    assert "ARTIST" in format_scores(s) and "micro" in format_scores(s)


def test_score_woa_accepts_track_or_album() -> None:
    gold = [GoldExample("x" * 30, [(0, 4, "WOA"), (5, 9, "WOA")])]
    s = score(gold, [[(0, 4, "TRACK"), (5, 9, "ALBUM")]])
    assert s["WOA"]["f1"] == 1.0


def test_score_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError):
        score([GoldExample("a")], [])


def test_load_musicreconer_maps_bio_to_original_case(tmp_path: Path) -> None:
    (tmp_path / "ground-truth.bio").write_text(
        "drake\tB-Artist\nnonstop\tB-WoA\ni\tO\nlike\tO\n\nmore\tO\nlike\tO\nlow\tB-Artist\n\n"
    )
    (tmp_path / "queries.csv").write_text(
        "preprocessed,original\ndrake nonstop i like,Drake - Nonstop I like\n"
        "more like low,More like Low!\n"
    )
    examples = load_musicreconer(tmp_path)
    assert examples[0].text == "Drake - Nonstop I like"
    assert examples[0].spans == [(0, 5, "ARTIST"), (8, 15, "WOA")]
    assert examples[1].spans == [(10, 13, "ARTIST")]


def test_load_musicreconer_reads_a_bio_file_alone_as_lower_case_queries(tmp_path: Path) -> None:
    # dataset4/train.bio (the ground truth of datasets 1-3) comes with no original text
    bio = tmp_path / "train.bio"
    bio.write_text(
        "i\tO\nlove\tO\nkid\tB-WoA\na\tI-WoA\n\nby\tO\naphex\tB-Artist\ntwin\tI-Artist\n"
    )
    examples = load_musicreconer(bio)
    assert [ex.text for ex in examples] == ["i love kid a", "by aphex twin"]
    assert examples[0].spans == [(7, 12, "WOA")]
    assert examples[1].spans == [(3, 13, "ARTIST")]


def test_a_bio_file_that_is_not_bio_says_where(tmp_path: Path) -> None:
    from linernotes.nlp.evaluate import GoldFormatError

    bio = tmp_path / "x.bio"
    bio.write_text("kid\tB-WoA\na b c\n")
    with pytest.raises(GoldFormatError, match=r"x\.bio:2: tag 'c' is not O"):
        load_musicreconer(bio)
    bio.write_text("\n\n")
    with pytest.raises(GoldFormatError, match="no BIO queries"):
        load_musicreconer(bio)


SHARED_GOLD = Path(__file__).resolve().parents[2] / "shared" / "data" / "gold"


@pytest.mark.skipif(not (SHARED_GOLD / "crossner_music").exists(), reason="no ../shared gold data")
def test_crossner_dev_halves_are_the_documented_ones() -> None:
    from linernotes.nlp.evaluate import select_split

    dev = load_gold(SHARED_GOLD / "crossner_music" / "dev.jsonl")
    tune, check = select_split(dev, "tune"), select_split(dev, "check")
    assert (len(tune), len(check)) == (185, 195)  # as docs/mentions.md states
    assert len(tune) + len(check) == len(dev)


@pytest.mark.skipif(not (SHARED_GOLD / "musicreconer").exists(), reason="no ../shared gold data")
def test_musicreconer_dataset4_converts_at_run_time() -> None:
    examples = load_musicreconer(SHARED_GOLD / "musicreconer" / "dataset4")
    labels = {lab for ex in examples for *_, lab in ex.spans}
    assert len(examples) == 751 and labels == {"ARTIST", "WOA"}
    assert all(ex.text[s:e].strip() == ex.text[s:e] for ex in examples for s, e, _ in ex.spans)


@pytest.mark.skipif(not (SHARED_GOLD / "musicreconer").exists(), reason="no ../shared gold data")
def test_musicreconer_datasets_1_to_3_share_no_query_with_dataset_4() -> None:
    # why they are an unseen check for a model trained on dataset 4 (docs/mentions.md)
    unseen = load_musicreconer(SHARED_GOLD / "musicreconer" / "dataset4" / "train.bio")
    seen = load_musicreconer(SHARED_GOLD / "musicreconer" / "dataset4" / "ground-truth.bio")
    assert (len(unseen), len(seen)) == (1800, 751)
    assert not {ex.text for ex in unseen} & {ex.text for ex in seen}


def test_musicreconer_folds_partition_by_text_hash() -> None:
    from linernotes.nlp.evaluate import musicreconer_fold, select_fold

    examples = [GoldExample(f"play something like artist {i}") for i in range(60)]
    folds = [select_fold(examples, f) for f in range(5)]
    assert sorted(ex.text for fold in folds for ex in fold) == sorted(ex.text for ex in examples)
    assert all(folds)  # 60 texts fill every fold
    # the rule is the text's hash, not its position: reversing the list moves nobody
    assert select_fold(examples[::-1], 0) == folds[0][::-1]
    assert all(musicreconer_fold(ex.text) == f for f, fold in enumerate(folds) for ex in fold)
    assert select_fold(examples, None) == examples


@pytest.mark.skipif(not (SHARED_GOLD / "musicreconer").exists(), reason="no ../shared gold data")
def test_musicreconer_fold0_is_the_transformers_held_out_fold() -> None:
    from linernotes.nlp.evaluate import select_fold

    fold0 = select_fold(load_musicreconer(SHARED_GOLD / "musicreconer" / "dataset4"), 0)
    assert len(fold0) == 163  # as nlp/models/music-ner-int8/PROVENANCE.json records

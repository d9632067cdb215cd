"""Training material of the transformer NER: the silver person rule and the dev halves."""

from __future__ import annotations

from pathlib import Path

import pytest

from linernotes.nlp.transformer_ner_data import performer_spans

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _persons(text: str, names: list[str]) -> list[tuple[int, int]]:
    """Each name's last occurrence, as the stock NER's PERSON spans would give it."""
    return [(text.rindex(n), text.rindex(n) + len(n)) for n in names]


def test_only_people_named_as_music_makers_become_silver_artists() -> None:
    text = (
        "The song was written by Dora Vell, Ansel Brik and Tam Oduya for a film about Lord "
        "Hambleton. It was a hit for Peg Marlow in 1961, and Ray Dunmore's version reached the "
        "top ten. The actor Wes Calloway sang it on television; Hambleton never heard it."
    )
    names = ["Dora Vell", "Ansel Brik", "Tam Oduya", "Lord Hambleton", "Peg Marlow"]
    persons = _persons(text, [*names, "Ray Dunmore", "Wes Calloway", "Hambleton"])
    kept = {text[s:e] for s, e, label in performer_spans(text, persons, frozenset())}
    # writers (and those listed with them), "hit for", "'s version", a name then "sang"
    assert kept == {
        "Dora Vell",
        "Ansel Brik",
        "Tam Oduya",
        "Peg Marlow",
        "Ray Dunmore",
        "Wes Calloway",
    }
    # a catalogue artist counts wherever it stands
    kept = performer_spans(text, persons, frozenset({"lord hambleton"}))
    assert "Lord Hambleton" in {text[s:e] for s, e, _ in kept}


@pytest.mark.skipif(
    not (SHARED / "data/gold/crossner_music/dev.jsonl").exists(), reason="no ../shared gold data"
)
def test_training_tunes_on_the_projects_tuning_half() -> None:
    from linernotes.nlp.evaluate import load_gold, select_split
    from linernotes.nlp.train_transformer_ner import dev_halves

    tuning, check = dev_halves(SHARED)
    dev = load_gold(SHARED / "data/gold/crossner_music/dev.jsonl")
    assert [g.text for g in tuning] == [g.text for g in select_split(dev, "tune")]
    assert [g.text for g in check] == [g.text for g in select_split(dev, "check")]

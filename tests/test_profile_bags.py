"""The bag cache key (`nlp/profiles/bags.input_hash`): what invalidates a cached bag."""

from __future__ import annotations

from linernotes.nlp.embeddings import sentence_hash
from linernotes.nlp.profiles.bags import input_hash
from linernotes.nlp.profiles.corpus import Corpus, Ev

KEY = ("artist", "ar:robyn")


def _corpus(evs: list[Ev]) -> Corpus:
    names = {"artist:ar:robyn": ["Robyn"], "name:max martin": ["max martin"]}
    return Corpus({KEY: evs}, set(), set(), {}, names, {})


def _ev(id_: int, text: str, co: list[str] | None = None) -> Ev:
    return Ev(id_, id_, text, sentence_hash(text), "2024-05", 1.0, co or [])


def test_the_order_of_the_evidence_rows_does_not_change_the_key() -> None:
    # a re-extracted page gives its unchanged sentences new, higher row ids
    a = _ev(1, "Robyn makes sad bangers.", ["name:max martin"])
    b = _ev(2, "Her synth-pop is euphoric.")
    moved = _ev(9, "Robyn makes sad bangers.", ["name:max martin"])
    assert input_hash(KEY, _corpus([a, b])) == input_hash(KEY, _corpus([b, moved]))


def test_what_the_bag_is_computed_from_changes_the_key() -> None:
    a, b = _ev(1, "Robyn makes sad bangers."), _ev(2, "Her synth-pop is euphoric.")
    base = input_hash(KEY, _corpus([a, b]))
    assert input_hash(KEY, _corpus([a, _ev(2, "Her synth-pop is icy.")])) != base
    assert input_hash(KEY, _corpus([a, _ev(2, b.text, ["name:max martin"])])) != base
    assert input_hash(KEY, _corpus([a])) != base
    assert input_hash(KEY, _corpus([a, b]), version="salience-v9") != base

"""Training-data builders of nlp.train_ner on text written for the tests (no ../shared needed)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from linernotes.nlp.train_ner import (
    _strip_markup,
    conll_spans,
    kexp_silver,
    read_conll,
    replace_mentions,
)


def test_conll_to_text_and_mapped_spans(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(
        "Low\tB-band\nplayed\tO\nNo\tB-album\nWords\tI-album\nin\tO\nParis\tB-location\n\n"
    )
    ((words, tags),) = list(read_conll(path))
    text, spans = conll_spans(words, tags)
    assert text == "Low played No Words in Paris"
    assert [(text[s:e], lab) for s, e, lab in spans] == [
        ("Low", "ARTIST"),
        ("No Words", "ALBUM"),
        ("Paris", "GPE"),
    ]


def test_replace_mentions_keeps_offsets_consistent() -> None:
    text = "Low played No Words in Paris"
    spans = [(0, 3, "ARTIST"), (11, 19, "ALBUM"), (23, 28, "GPE")]
    names = {"ARTIST": ["The Very Long Band Name"], "ALBUM": ["X"], "TRACK": ["Y"]}
    new_text, new_spans = replace_mentions(text, spans, names, random.Random(0))
    assert [(new_text[s:e], lab) for s, e, lab in new_spans] == [
        ("The Very Long Band Name", "ARTIST"),
        ("X", "ALBUM"),
        ("Paris", "GPE"),
    ]


def test_lastfm_links_become_silver_spans() -> None:
    para = (
        "**Ann Example** toured with [Bob Band](http://www.last.fm/music/Bob+Band) and sang "
        "[Blue Song](http://www.last.fm/music/Bob+Band/_/Blue+Song) from "
        "[Red LP](http://www.last.fm/music/Bob+Band/Red+LP) ([rock](http://www.last.fm/tag/rock))."
    )
    text, spans = _strip_markup(para)
    assert text.startswith("Ann Example toured with Bob Band")
    assert [(text[s:e], lab) for s, e, lab in spans] == [
        ("Ann Example", "ARTIST"),
        ("Bob Band", "ARTIST"),
        ("Blue Song", "TRACK"),
        ("Red LP", "ALBUM"),
    ]


def test_kexp_metadata_names_are_found(tmp_path: Path) -> None:
    path = tmp_path / "k.jsonl"
    path.write_text(
        '{"text": "New one from Zed Band, the song Glow is great.", "meta": {"db_artist_name": '
        '"Zed Band feat. Q", "db_song_title": "Glow", "db_album_title": "Nope"}}\n'
    )
    ((text, spans),) = list(kexp_silver(path))
    assert [(text[s:e], lab) for s, e, lab in spans] == [("Zed Band", "ARTIST"), ("Glow", "TRACK")]


@pytest.mark.slow
def test_silver_places_are_missing_or_negatives() -> None:
    import spacy

    from linernotes.nlp.train_ner import BASE_MODEL, make_example

    nlp = spacy.load(BASE_MODEL, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer"])
    text = "Zed Band played a long show in Paris last night."
    spans = [(0, 8, "ARTIST")]
    stock = {e.text: e.label_ for e in nlp(text).ents}
    if stock.get("Paris") != "GPE":
        pytest.skip("stock NER does not tag Paris as GPE here")
    paris = text.split().index("Paris")
    missing = make_example(nlp, text, spans, set(), silver=True)
    placed = make_example(nlp, text, spans, set(), silver=True, place_negatives=True)
    assert missing.reference[paris].ent_iob_ == ""  # no gradient either way
    assert placed.reference[paris].ent_type_ == "GPE"
    assert placed.reference[0].ent_type_ == "ARTIST" == missing.reference[0].ent_type_

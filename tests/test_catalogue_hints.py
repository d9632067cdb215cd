"""Catalogue hints for the transformer NER: which words are catalogue names, of which kind."""

from __future__ import annotations

import random

from linernotes.nlp.catalogue_hints import HINT_IDS, hint_ids, name_spans, word_hints
from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer
from linernotes.nlp.transformer_tagger import batch_arrays, encode_words

GAZ = Gazetteer.from_entries(
    [
        CatalogEntry("artist", "a1", "Rage Against the Machine"),
        CatalogEntry("artist", "a2", "The Machine"),
        CatalogEntry("track", "t1", "Killing in the Name", "a1", "Rage Against the Machine"),
        CatalogEntry("track", "t2", "Home", "a3", "Someone"),
        CatalogEntry("album", "b1", "Home", "a3", "Someone"),
    ]
)
WORDS = [
    "play",
    "rage",
    "against",
    "the",
    "machine",
    "then",
    "killing",
    "in",
    "the",
    "name",
    "at",
    "home",
]


def _code(word_hint: int) -> tuple[int, int, int]:
    """(artist, track, album) codes of a packed hint id: 0 outside, 1 first word, 2 inside."""
    return (word_hint % 3, word_hint // 3 % 3, word_hint // 9)


def test_longest_name_of_a_kind_wins_and_kinds_overlap_freely() -> None:
    spans = name_spans(GAZ, WORDS)
    # "rage against the machine" (4 words; "the" is part of the key-less match) beats "machine"
    assert spans["artist"] == [(1, 5)]
    assert spans["track"] == [(6, 10), (11, 12)]
    assert spans["album"] == [(11, 12)]


def test_hint_ids_pack_first_and_inside_per_kind() -> None:
    hints = word_hints(GAZ, WORDS)
    assert len(hints) == len(WORDS) and all(0 <= h < HINT_IDS for h in hints)
    assert _code(hints[0]) == (0, 0, 0)  # "play"
    assert [_code(h)[0] for h in hints[1:5]] == [1, 2, 2, 2]
    assert [_code(h)[1] for h in hints[6:10]] == [1, 2, 2, 2]
    assert _code(hints[11]) == (0, 1, 1)  # "home": a track and an album


def test_no_catalogue_means_no_hints() -> None:
    assert word_hints(None, WORDS) == [0] * len(WORDS)
    assert word_hints(Gazetteer.from_entries([]), WORDS) == [0] * len(WORDS)


def test_dropped_names_are_hidden_whole_and_seeded() -> None:
    spans = name_spans(GAZ, WORDS)
    everything = hint_ids(len(WORDS), spans, drop=1.0, rng=random.Random(0))
    assert everything == [0] * len(WORDS)
    once = hint_ids(len(WORDS), spans, drop=0.5, rng=random.Random(3))
    again = hint_ids(len(WORDS), spans, drop=0.5, rng=random.Random(3))
    assert once == again
    for a, b in spans["artist"]:  # a name is kept or hidden as a whole
        assert len({_code(h)[0] != 0 for h in once[a:b]}) == 1


def test_every_word_piece_carries_its_word_hint() -> None:
    from tokenizers import Tokenizer

    from linernotes.nlp.transformer_tagger import MODEL_DIR

    tok = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    words = ["supercalifragilistic", "home"]
    enc = encode_words(tok, words, [0, 13])
    assert enc.ends[0] > 1  # several pieces for the first word
    assert enc.hints == [0] * enc.ends[0] + [13] * (enc.ends[1] - enc.ends[0])
    arrays = batch_arrays([(enc.ids, enc.cases, enc.hints)], 101, 102)
    assert arrays["hint_ids"][0].tolist() == [0, *enc.hints, 0]


def test_the_rules_reuse_the_hints_catalogue_walk() -> None:
    import spacy

    from linernotes.nlp.candidates import NGRAMS_KEY, RuleContext
    from linernotes.nlp.catalogue_hints import doc_hints

    doc = spacy.blank("en")(" ".join(WORDS))
    assert doc_hints(GAZ, doc) == word_hints(GAZ, WORDS)
    walked = doc.user_data[NGRAMS_KEY][1]
    fresh = list(GAZ.find_ngrams([w.lower() for w in WORDS]))
    assert walked == fresh and fresh
    doc.user_data[NGRAMS_KEY] = (id(GAZ), walked[:1])  # what the rules read is the kept walk
    assert RuleContext.of(doc, GAZ).ngrams() == walked[:1]
    other = Gazetteer.from_entries([CatalogEntry("artist", "x", "Home")])
    assert RuleContext.of(doc, other).ngrams() == [(11, 12, other.lookup("home"))]

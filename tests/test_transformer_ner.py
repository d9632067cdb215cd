"""The transformer music NER component: shipped model, spans, windows, registration, no torch."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from linernotes.nlp import transformer_ner as tn

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def nlp():
    import spacy

    pipeline = spacy.blank("en")
    pipeline.add_pipe(tn.COMPONENT, config={"set_ents": True})
    return pipeline


def _ents(doc) -> set[tuple[str, str]]:
    return {(e.text, e.label_) for e in doc.ents}


def test_model_and_provenance_are_shipped_in_the_package():
    import hashlib
    import json

    meta = json.loads((tn.MODEL_DIR / "PROVENANCE.json").read_text())
    members = meta.get("members") or [{"file": "model.onnx", "sha256": meta["sha256_model_onnx"]}]
    for member in members:
        onnx = tn.MODEL_DIR / member["file"]
        assert member["sha256"] == hashlib.sha256(onnx.read_bytes()).hexdigest()
        assert onnx.stat().st_size < 60 * 2**20
    assert 0.0 < meta["threshold"] < 1.0


def test_registered_by_name():
    from spacy.language import Language

    assert Language.has_factory(tn.COMPONENT)


def test_finds_artists_and_tracks(nlp):
    doc = nlp(
        "Radiohead released the single Karma Police from their album OK Computer ,"
        " and Thom Yorke later toured with Atoms for Peace ."
    )
    ents = _ents(doc)
    assert ("Radiohead", "ARTIST") in ents
    assert ("Thom Yorke", "ARTIST") in ents
    assert any(label in ("TRACK", "ALBUM") and "Karma Police" in text for text, label in ents)
    group = doc.spans[tn.SPAN_KEY]
    assert len(group.attrs["scores"]) == len(group)
    assert all(0.0 < s <= 1.0 for s in group.attrs["scores"])
    assert set(group.attrs["sources"]) == {tn.COMPONENT}


def test_lower_case_chat_text(nlp):
    doc = nlp("can you play something like fleetwood mac")
    assert ("fleetwood mac", "ARTIST") in _ents(doc)


def test_appends_to_existing_candidates_without_set_ents():
    import spacy
    from spacy.tokens import SpanGroup

    pipeline = spacy.blank("en")
    pipeline.add_pipe(tn.COMPONENT)
    doc = pipeline.make_doc("Fleetwood Mac recorded Rumours in 1976 .")
    doc.spans[tn.SPAN_KEY] = SpanGroup(doc, spans=[doc[5:6]], attrs={"scores": [1.0]})
    doc = pipeline.get_pipe(tn.COMPONENT)(doc)
    group = doc.spans[tn.SPAN_KEY]
    assert group[0].text == "1976" and group.attrs["scores"][0] == 1.0
    assert group.attrs["sources"][0] is None
    assert any(s.text == "Fleetwood Mac" and s.label_ == "ARTIST" for s in group)
    assert not doc.ents  # used as a candidate source only


def test_empty_and_whitespace_docs(nlp):
    for text in ("", "   \n\n  "):
        doc = nlp(text)
        assert list(doc.ents) == []
        assert len(doc.spans[tn.SPAN_KEY]) == 0


def test_long_text_is_windowed(nlp):
    filler = "The weather was mild and the crowd was patient that evening . " * 60
    text = filler + "Later that night Bruce Springsteen played Thunder Road for the encore ."
    doc = nlp(text)
    tagger = nlp.get_pipe(tn.COMPONENT).tagger
    enc = tn.encode_words(tagger.tokenizer, [t.text for t in doc])
    assert len(enc.ids) > 2 * tn.MAX_PIECES  # well past one window
    assert ("Bruce Springsteen", "ARTIST") in _ents(doc)


def test_windows_cover_every_word_within_budget():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tn.MODEL_DIR / "tokenizer.json"))
    words = [f"word{i}" if i % 7 else "supercalifragilistic" for i in range(900)]
    enc = tn.encode_words(tok, words)
    spans = tn.windows(enc, max_pieces=100)
    assert spans[0][0] == 0 and spans[-1][1] == len(words)
    for (_, b), (c, _) in itertools.pairwise(spans):
        assert c < b  # overlap: no word falls between windows
    for a, b in spans:
        assert enc.ends[b - 1] - (enc.ends[a - 1] if a else 0) <= 100
    owner = tn.owner_windows(spans, len(words))
    assert all(spans[w][0] <= i < spans[w][1] for i, w in enumerate(owner))


def test_decode_bio():
    o, b_art, i_art, b_trk = (
        np.eye(len(tn.TAGS))[tn.TAGS.index(t)] for t in ("O", "B-ARTIST", "I-ARTIST", "B-TRACK")
    )
    probs = np.stack([o, b_art, i_art, b_art, b_trk, o, i_art])
    spans = tn.decode(probs.astype(np.float32), 0.5)
    assert [(a, b, lab) for a, b, lab, _ in spans] == [
        (1, 3, "ARTIST"),
        (3, 4, "ARTIST"),
        (4, 5, "TRACK"),
        (6, 7, "ARTIST"),
    ]


def test_decode_keeps_a_name_whole_when_the_label_wavers() -> None:
    # "first aid kit" as the shipped model tags it in a lower-case query: the argmax tag reads
    # B-ARTIST, I-TRACK, I-ARTIST; the words continue one span, labelled by the summed mass
    row = {tag: i for i, tag in enumerate(tn.TAGS)}
    probs = np.zeros((4, len(tn.TAGS)), dtype=np.float32)
    probs[0, row["O"]] = 1.0  # "or"
    probs[1, [row["B-ARTIST"], row["B-TRACK"], row["B-ALBUM"]]] = (0.57, 0.30, 0.13)
    probs[2, [row["I-ARTIST"], row["I-TRACK"], row["I-ALBUM"]]] = (0.40, 0.52, 0.08)
    probs[3, [row["I-ARTIST"], row["I-TRACK"], row["O"]]] = (0.86, 0.07, 0.07)
    assert [(a, b, lab) for a, b, lab, _ in tn.decode(probs, 0.4)] == [(1, 4, "ARTIST")]
    # a word whose B- mass wins starts a new span, whatever its label
    probs[3] = 0.0
    probs[3, [row["B-ARTIST"], row["I-ARTIST"]]] = (0.6, 0.4)
    assert [(a, b) for a, b, *_ in tn.decode(probs, 0.4)] == [(1, 3), (3, 4)]


def test_case_ids():
    assert [tn.case_id(w) for w in ("rock", "Rock", "ABBA", "McCartney", "1999", "A")] == [
        0,
        1,
        2,
        3,
        0,
        1,
    ]


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_inference_core_does_not_import_torch():
    code = (
        "import sys\n"
        "from linernotes.nlp.transformer_tagger import TransformerTagger, decode\n"
        "tagger = TransformerTagger()\n"
        "words = 'Fleetwood Mac recorded Rumours in 1976 .'.split()\n"
        "spans = decode(tagger.tag([words])[0], tagger.threshold)\n"
        "assert spans, spans\n"
        "print('torch' in sys.modules)\n"
    )
    assert _run(code) == "False"


def test_spacy_component_runs_with_torch_unavailable():
    # spaCy's thinc imports torch whenever it is installed; with torch made unimportable the
    # whole component still runs, so nothing in inference depends on it.
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "import spacy\n"
        "import linernotes.nlp.transformer_ner as tn\n"
        "p = spacy.blank('en'); p.add_pipe(tn.COMPONENT, config={'set_ents': True})\n"
        "doc = p('Fleetwood Mac recorded Rumours in 1976 .')\n"
        "print(len(doc.spans[tn.SPAN_KEY]) > 0)\n"
    )
    assert _run(code) == "True"


@pytest.mark.slow
def test_training_smoke_learns_a_handful_of_sentences():
    from linernotes.nlp import train_transformer_ner as tt
    from linernotes.nlp.transformer_ner_data import WordExample, lower_unpunct

    sentences = [
        ("Mara Lind sang Paper Moon at the festival .", [(0, 2, "ARTIST"), (3, 5, "TRACK")]),
        ("The album Glass Harbour was made by Tova Ek .", [(2, 4, "ALBUM"), (7, 9, "ARTIST")]),
        ("I keep playing Night Ferry by Juno Vale .", [(3, 5, "WOA"), (6, 8, "ARTIST")]),
        ("Nothing here names a record .", []),
    ]
    examples = [WordExample(text.split(), spans) for text, spans in sentences]
    examples += [lower_unpunct(ex) for ex in examples]
    hyper = tt.Hyper(epochs=12, batch_size=4, lr=1e-4, head_lr=3e-3)
    tok = tt.load_tokenizer()
    from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer

    catalogue = Gazetteer.from_entries([CatalogEntry("artist", "a1", "Tova Ek")])
    feats = tt.featurize(tok, examples, catalogue, hyper)
    assert any(f.hints[1:-1] != [0] * (len(f.hints) - 2) for f in feats)  # hints reach the model
    model = tt.build_model(hyper)
    losses: list[float] = []

    def loss_now(_epoch: int = 0) -> None:
        import torch

        model.eval()
        with torch.no_grad():
            ids, mask, cases, hints, (allowed, scored) = tt.make_batch(feats)
            logits = model(ids, mask, cases, hints)
            losses.append(float(tt.marginal_loss(logits, allowed, scored)))

    loss_now()
    tt.train(model, feats, hyper, on_epoch=loss_now, log=lambda *_: None)
    assert losses[-1] < losses[0] / 3
    probs = tt.torch_probs(model, tok, [ex.words for ex in examples[:2]], catalogue)
    spans = tn.decode(probs[0], 0.5)
    assert (0, 2, "ARTIST") in [(a, b, lab) for a, b, lab, _ in spans]


def test_catalogue_hints_move_the_label_towards_the_catalogue_kind():
    # invented names in chat frames; the same texts read with no catalogue, with a catalogue that
    # knows the names as artists, and with one that knows them as tracks
    import spacy

    from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer

    pipeline = spacy.blank("en")
    component = pipeline.add_pipe(tn.COMPONENT, config={"set_ents": True})
    assert component.tagger.uses_hints
    names = ["sleepy orchard", "glass harbour", "velvet lanterns", "the copper fields"]
    frames = ["songs similar to {}", "something like {} please", "i want to hear {}"]
    texts = [(frame.format(name), name) for name in names for frame in frames]

    def labels(catalogue: Gazetteer | None) -> list[str]:
        component.gazetteer = catalogue
        return [
            ent.label_
            for doc, (_, name) in zip(pipeline.pipe(t for t, _ in texts), texts, strict=True)
            for ent in doc.ents
            if ent.text == name
        ]

    def catalogue(kind: str) -> Gazetteer:
        artist = (None, None) if kind == "artist" else ("a0", "Someone")
        return Gazetteer.from_entries(
            [CatalogEntry(kind, f"{kind}{i}", name, *artist) for i, name in enumerate(names)]
        )

    plain, as_artists, as_tracks = (
        labels(None),
        labels(catalogue("artist")),
        labels(catalogue("track")),
    )
    assert as_tracks.count("TRACK") >= plain.count("TRACK") + 4
    assert as_artists.count("ARTIST") > as_tracks.count("ARTIST")


@pytest.mark.slow
def test_build_pipeline_hands_its_catalogue_to_the_transformer():
    from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer
    from linernotes.nlp.mention_component import build_pipeline

    catalogue = Gazetteer.from_entries([CatalogEntry("artist", "a1", "Tova Ek")])
    pipeline = build_pipeline(catalogue, extra_ner=tn.COMPONENT)
    assert pipeline.get_pipe(tn.COMPONENT).gazetteer is catalogue

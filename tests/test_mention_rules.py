"""Named candidate rules: registry, config, leaving rules out, the extra-NER hook, the eval split,
and one catalogue reader for files and the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from linernotes.nlp.candidates import Candidate, RuleContext, known_rules, rules_named
from linernotes.nlp.evaluate import GoldExample, format_contributions, select_split, split_of
from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer, entries_from_csv
from linernotes.nlp.mention_component import DEFAULT_RULES
from linernotes.nlp.mentions import MentionExtractor

CATALOG = [
    CatalogEntry("artist", "ar:robyn", "Robyn"),
    CatalogEntry("album", "al:robyn/honey", "Honey", "ar:robyn", "Robyn"),
]


def test_every_default_rule_is_registered_and_unknown_names_fail() -> None:
    assert set(DEFAULT_RULES) <= set(known_rules())
    assert [r.name for r in rules_named(["patterns", "ner"])] == ["patterns", "ner"]
    with pytest.raises(ValueError, match="unknown mention rule"):
        rules_named(["posessive"])
    with pytest.raises(ValueError, match="unknown mention rule"):
        MentionExtractor(Gazetteer.from_entries(CATALOG), without=["nope"])


@pytest.mark.slow
def test_rule_list_comes_from_the_component_config() -> None:
    gaz = Gazetteer.from_entries(CATALOG)
    ex = MentionExtractor(gaz, without=["ner", "patterns", "list_mates"])
    component = ex.nlp.get_pipe("linernotes_music")
    assert "patterns" not in component.rule_names and "possessive" in component.rule_names
    assert ex.nlp.get_pipe_config("linernotes_music")["rules"] == component.rule_names
    text = 'I still play the single "Glass Lanterns" every morning.'
    tracks = [m for m in next(ex.annotate([text])) if m.label == "TRACK"]
    assert not tracks  # the quoted title came only from `patterns`
    only_patterns = MentionExtractor(Gazetteer.from_entries(CATALOG), without=["ner"])
    found = [(m.surface, m.label, m.method) for m in next(only_patterns.annotate([text]))]
    assert found == [("Glass Lanterns", "TRACK", "pattern")]


def test_ner_spans_rule_reads_another_components_span_group() -> None:
    from linernotes.nlp.rules_ner import GAP_CONFIDENCE

    """The hook for a transformer NER: confident spans in doc.spans["ner_candidates"] become
    candidates vetted like the CNN NER's, at the lowest confidence so they only fill gaps."""
    import spacy

    doc = spacy.blank("en")("Yesterday Quibble Zorn played Honey live.")
    group = [doc.char_span(10, 22, label="ARTIST"), doc.char_span(30, 35, label="ALBUM")]
    doc.spans["ner_candidates"] = [s for s in group if s is not None]
    doc.spans["ner_candidates"].attrs["scores"] = [0.91, 0.66]
    ctx = RuleContext.of(doc, Gazetteer.from_entries(CATALOG))
    (rule,) = rules_named(["ner_spans"])
    found = rule.func(doc, ctx)
    assert [(doc.text[c.start : c.end], c.label, c.confidence) for c in found] == [
        ("Quibble Zorn", "ARTIST", GAP_CONFIDENCE),  # 0.91 >= GAP_SCORE; "Honey" (0.66) is not
    ]
    assert rule.func(spacy.blank("en")("No group here."), ctx) == []


def test_rules_may_edit_earlier_candidates() -> None:
    import spacy

    from linernotes.nlp.candidates import run_rules

    text = "Words by Quibble Zorn\nMore text."
    doc = spacy.blank("en")(text)
    ctx = RuleContext.of(doc, Gazetteer.from_entries(CATALOG))
    ctx.cands = [Candidate(9, 21, "ARTIST", 0.8, "ner", True)]
    assert run_rules(ctx, rules_named(["byline"])) == []


def test_split_is_fixed_disjoint_and_about_half() -> None:
    texts = [f"Sentence number {i} about Robyn." for i in range(400)]
    halves = [split_of(t) for t in texts]
    assert halves == [split_of(t) for t in texts]  # no seed, no order
    assert 150 < halves.count("tune") < 250
    gold = [GoldExample(t) for t in texts]
    tune, check = select_split(gold, "tune"), select_split(gold, "check")
    assert len(tune) + len(check) == 400 and not {g.text for g in tune} & {g.text for g in check}
    assert select_split(gold, None) == gold
    with pytest.raises(ValueError, match="unknown split"):
        select_split(gold, "test")


def test_contribution_table_shows_deltas() -> None:
    row = {"precision": 1.0, "recall": 1.0, "f1": 0.8, "support": 1.0, "predicted": 1.0}
    worse = dict(row, f1=0.7)
    table = format_contributions(
        [("all", {"ARTIST": row, "micro": row}), ("possessive", {"ARTIST": worse, "micro": row})]
    )
    assert "0.800" in table and "-0.100" in table and "possessive" in table


def test_catalogue_file_ids_are_the_importers(tmp_path: Path, sqlite_store) -> None:  # type: ignore[no-untyped-def]
    """An id-less row of an artist that has an explicit id elsewhere gets that id, as on import."""
    from linernotes.storage.catalog import catalog_names, import_catalog

    path = tmp_path / "cat.csv"
    path.write_text(
        "artist_id,artist,track_id,track,album_id,album\n"
        "mbid-1,Sigur Rós,,Hoppípolla,,\n"
        ",Sigur Ros,,Glósóli,,Takk...\n",
        encoding="utf-8",
    )
    from_file = {(e.kind, e.id, e.name) for e in entries_from_csv(path)}
    import_catalog(sqlite_store, path)
    with sqlite_store.session() as session:
        from_db = {(n.kind, n.id, n.name) for n in catalog_names(session)}
    assert from_file == from_db
    assert ("track", "tr:sigur-ros/glosoli", "Glósóli") in from_file
    assert {i for k, i, _ in from_file if k == "artist"} == {"mbid-1"}


@pytest.mark.slow
def test_eval_mentions_cli_split_and_without(tmp_path: Path) -> None:
    from linernotes.cli import main as cli

    gold = tmp_path / "gold.jsonl"
    texts = [f'Take {i}: I still play the single "Glass Lanterns" by Robyn.' for i in range(6)]
    lines = [
        {
            "text": t,
            "spans": [{"start": t.index("Glass"), "end": t.index('" by'), "label": "TRACK"}],
        }
        for t in texts
    ]
    gold.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    catalog = tmp_path / "cat.csv"
    catalog.write_text("artist_id,artist,track_id,track,album_id,album\n,Robyn,,,,Honey\n")
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    base = [
        "--db",
        db,
        "eval",
        "mentions",
        "--gold",
        str(gold),
        "--catalog",
        str(catalog),
        "--json",
        "--without",
        "ner",
    ]
    runner = CliRunner()
    full = runner.invoke(cli, base)
    assert full.exit_code == 0, full.output
    assert json.loads(full.output)["TRACK"]["f1"] == 1.0
    without = runner.invoke(cli, [*base, "--without", "patterns"])
    assert json.loads(without.output)["TRACK"]["f1"] < 1.0
    half = runner.invoke(cli, [*base, "--split", "check"])
    n_check = sum(split_of(x["text"]) == "check" for x in lines)
    assert json.loads(half.output)["TRACK"]["support"] == n_check
    bad = runner.invoke(cli, [*base, "--without", "nope"])
    assert bad.exit_code != 0 and "unknown mention rule" in bad.output


@pytest.mark.slow
def test_transformer_switch_puts_the_shipped_model_before_the_rules() -> None:
    """`--transformer-ner`: the shipped component runs before ours and fills the span group."""
    extractor = MentionExtractor(Gazetteer.from_entries(CATALOG), extra_ner="music_transformer_ner")
    names = extractor.nlp.pipe_names
    assert names.index("music_transformer_ner") < names.index(names[-1])
    doc = extractor.nlp("Robyn played Honey live in Stockholm last night.")
    assert "ner_candidates" in doc.spans
    found = next(extractor.annotate(["Robyn played Honey live in Stockholm last night."]))
    assert ("Robyn", "ARTIST") in [(m.surface, m.label) for m in found]


def _with_extra_spans(
    text: str, spans: list[tuple[int, int, str, float]], cands: list[Candidate], **stock: object
) -> tuple[object, RuleContext]:
    """A blank-pipeline doc whose extra-NER span group holds `spans`, its rule context holding
    `cands` (and, if given, the stock NER side channel)."""
    import spacy

    from linernotes.nlp.candidates import BASE_KEY

    doc = spacy.blank("en")(text)
    group = [doc.char_span(s, e, label=lab) for s, e, lab, _ in spans]
    doc.spans["ner_candidates"] = [s for s in group if s is not None]
    doc.spans["ner_candidates"].attrs["scores"] = [score for *_, score in spans]
    if "rows" in stock:
        doc.user_data[BASE_KEY] = stock["rows"]
    ctx = RuleContext.of(doc, Gazetteer.from_entries(CATALOG))
    ctx.cands = cands
    return doc, ctx


def test_extra_ner_label_wins_an_artist_or_work_disagreement() -> None:
    """The CNN NER calls a song an artist, the transformer a track: the transformer's label
    is taken, and the span is no gap to fill twice. A catalogue artist keeps its label."""
    (rule,) = rules_named(["ner_spans"])
    text = "Then Glass Lanterns came out, and Robyn toured it."
    song = Candidate(5, 19, "ARTIST", 0.8, "ner", True)
    known = Candidate(34, 39, "ARTIST", 0.8, "ner", True)
    spans = [(5, 19, "TRACK", 0.98), (34, 39, "ALBUM", 0.97)]
    _, ctx = _with_extra_spans(text, spans, [song, known])
    assert rule.func(ctx.doc, ctx) == []
    assert (song.label, song.evidence) == ("TRACK", True)
    assert known.label == "ARTIST"  # the catalogue knows Robyn as an artist


def test_extra_ner_fills_gaps_without_asking_the_stock_ner_for_a_person() -> None:
    """Unknown names need no stock PERSON label from the transformer, but a film sentence or
    a place label still vetoes an artist; punctuation at a span's edge is trimmed."""
    (rule,) = rules_named(["ner_spans"])
    text = "Zorblax toured with Quibble: Second Dawn and Night Song."
    spans = [(0, 7, "ARTIST", 0.99), (27, 40, "ALBUM", 0.95), (45, 55, "TRACK", 0.99)]
    rows = [[0, 7, "ORG"]]
    doc, ctx = _with_extra_spans(text, spans, [], rows=rows)
    found = rule.func(doc, ctx)
    assert [(text[c.start : c.end], c.label, c.evidence) for c in found] == [
        ("Zorblax", "ARTIST", True),
        ("Second Dawn", "ALBUM", True),
        ("Night Song", "TRACK", True),
    ]
    film = "Zorblax won an Academy Award for the film."
    doc, ctx = _with_extra_spans(film, [(0, 7, "ARTIST", 0.99)], [], rows=[])
    assert [c.evidence for c in rule.func(doc, ctx)] == [False]
    place = "Zorblax is lovely in spring."
    doc, ctx = _with_extra_spans(place, [(0, 7, "ARTIST", 0.99)], [], rows=[[0, 7, "GPE"]])
    assert [c.evidence for c in rule.func(doc, ctx)] == [False]


def test_genre_words_are_not_artists() -> None:
    """ "Gospel music", "Chicago blues", "Heavy metal": genre names, even where a band of that
    name is in the catalogue; an artist before an ordinary word stays."""
    import spacy

    from linernotes.nlp.candidates import run_rules

    text = "She sang Gospel music and Chicago blues, then Heavy metal with Robyn today."
    doc = spacy.blank("en")(text)
    ctx = RuleContext.of(doc, Gazetteer.from_entries(CATALOG))
    ctx.cands = [
        Candidate(text.index(name), text.index(name) + len(name), "ARTIST", 0.8, "ner", True)
        for name in ("Gospel", "Chicago", "Heavy", "Robyn")
    ]
    run_rules(ctx, rules_named(["genre_word"]))
    assert [text[c.start : c.end] for c in ctx.cands] == ["Robyn"]
    ctx.cands = [Candidate(9, 21, "ARTIST", 0.8, "gazetteer", False)]  # "Gospel music"
    run_rules(ctx, rules_named(["genre_word"]))
    assert ctx.cands == []


def test_and_the_band_is_one_artist_unless_the_band_is_catalogued() -> None:
    """ "Quibble and the Zorns" is one name; "Quibble and the Robyns" stays two when "the
    Robyns" is in the catalogue; "Peru and the United States" is a place, not a band."""
    import spacy

    from linernotes.nlp.candidates import BASE_KEY, run_rules

    gaz = Gazetteer.from_entries([*CATALOG, CatalogEntry("artist", "ar:robyns", "The Robyns")])

    def names(text: str, stock: list[list[object]]) -> list[str]:
        doc = spacy.blank("en")(text)
        doc.user_data[BASE_KEY] = stock
        ctx = RuleContext.of(doc, gaz)
        ctx.cands = [Candidate(0, 7, "ARTIST", 0.8, "ner", True)]
        return [text[c.start : c.end] for c in run_rules(ctx, rules_named(["and_the_band"]))]

    assert names("Quibble and the Zorns played.", []) == ["Quibble and the Zorns"]
    assert names("Quibble and the Family Band played.", []) == ["Quibble and the Family Band"]
    assert names("Quibble and the Robyns played.", []) == ["Quibble"]
    assert names("Quibble and the United States.", [[12, 29, "GPE"]]) == ["Quibble"]


def test_extra_ner_widens_a_name_the_cnn_ner_cut_short() -> None:
    """The CNN NER saw "Six Feet" (an album), the transformer "Six Feet Under" (an artist):
    one candidate on the longer span with the transformer's label replaces it."""
    (rule,) = rules_named(["ner_spans"])
    text = "They toured with Six Feet Under in May."
    short = Candidate(17, 25, "ALBUM", 0.8, "ner", True)
    _, ctx = _with_extra_spans(text, [(17, 31, "ARTIST", 0.99)], [short])
    assert rule.func(ctx.doc, ctx) == []
    assert [(text[c.start : c.end], c.label) for c in ctx.cands] == [("Six Feet Under", "ARTIST")]


def test_an_artist_both_ners_read_is_believed_as_the_extra_ner_alone_would_be() -> None:
    """The CNN NER's unknown artist without a stock PERSON label is doubtful (kept only if
    linked); the transformer reading the same artist on the same span vouches for it, as it
    would for a name it found alone, but not in a film sentence."""
    (rule,) = rules_named(["ner_spans"])
    text = "Looking for artists similar to Zorblax Quinn"
    doubtful = Candidate(31, 44, "ARTIST", 0.8, "ner", False)
    _, ctx = _with_extra_spans(text, [(31, 44, "ARTIST", 0.99)], [doubtful], rows=[])
    assert rule.func(ctx.doc, ctx) == []  # no second candidate on the same span
    assert doubtful.evidence
    film = "Zorblax Quinn starred in the film."
    doubtful = Candidate(0, 13, "ARTIST", 0.8, "ner", False)
    _, ctx = _with_extra_spans(film, [(0, 13, "ARTIST", 0.99)], [doubtful], rows=[])
    rule.func(ctx.doc, ctx)
    assert not doubtful.evidence


def test_a_doubtful_cnn_span_gives_way_to_the_extra_ners_names_inside_it() -> None:
    """The CNN NER reads "Zorblax - Night Ferry" as one unknown artist it has no evidence for;
    the transformer reads the artist and the track: its two spans replace the doubtful one.
    A CNN span with evidence (or one the catalogue knows) is kept."""
    (rule,) = rules_named(["ner_spans"])
    text = "Zorblax - Night Ferry I really like"
    spans = [(0, 7, "ARTIST", 0.99), (10, 21, "TRACK", 0.95)]
    doubtful = Candidate(0, 21, "ARTIST", 0.8, "ner", False)
    _, ctx = _with_extra_spans(text, spans, [doubtful], rows=[])
    found = rule.func(ctx.doc, ctx)
    assert ctx.cands == []
    assert [(text[c.start : c.end], c.label) for c in found] == [
        ("Zorblax", "ARTIST"),
        ("Night Ferry", "TRACK"),
    ]
    sure = Candidate(0, 21, "ARTIST", 0.8, "ner", True)
    _, ctx = _with_extra_spans(text, spans, [sure], rows=[])
    rule.func(ctx.doc, ctx)
    assert ctx.cands == [sure]


def test_an_unknown_cnn_artist_the_extra_ner_does_not_read_is_doubtful() -> None:
    """A stock PERSON label vouches for the CNN NER's unknown artist, unless a second NER ran and
    read nothing on those words; a catalogue artist needs neither."""
    from linernotes.nlp.rules_ner import unsure_artist

    text = "Zorblax Quinn met Robyn in Malmo."
    person = [[0, 13, "PERSON"], [18, 23, "PERSON"]]
    doc, ctx = _with_extra_spans(text, [], [], rows=person)  # a second NER, silent
    assert unsure_artist(ctx, doc.char_span(0, 13))
    assert not unsure_artist(ctx, doc.char_span(18, 23))  # Robyn is in the catalogue
    doc, ctx = _with_extra_spans(text, [(0, 13, "ARTIST", 0.6)], [], rows=person)
    assert not unsure_artist(ctx, doc.char_span(0, 13))  # the second NER reads it too
    del doc.spans["ner_candidates"]  # no second NER: the PERSON label is enough
    assert not unsure_artist(ctx, doc.char_span(0, 13))


def test_unknown_titles_in_prize_sentences_need_a_second_reader() -> None:
    """A title only the CNN NER reads, in a prize/film/sport-event sentence, is unsure (kept
    only if the catalogue links it); the transformer reading it too, or the catalogue knowing
    it, or an ordinary sentence, keeps it sure."""
    from linernotes.nlp.rules_ner import ner_rule

    def sure(text: str, transformer_reads_it: bool = False) -> list[tuple[str, bool]]:
        dawn = (text.index("Second Dawn"), text.index("Second Dawn") + len("Second Dawn"))
        honey = (text.index("Honey"), text.index("Honey") + len("Honey"))
        extra = [(*dawn, "ALBUM", 0.97)] if transformer_reads_it else []
        doc, ctx = _with_extra_spans(text, extra, [], rows=[])
        doc.ents = [doc.char_span(*dawn, label="ALBUM"), doc.char_span(*honey, label="ALBUM")]
        return [(text[c.start : c.end], c.evidence) for c in ner_rule(doc, ctx)]

    prize = "It won the Grammy Award for Best Album for Second Dawn and Honey."
    assert sure(prize) == [("Second Dawn", False), ("Honey", True)]  # Honey: a catalogue album
    assert sure(prize, transformer_reads_it=True) == [("Second Dawn", True), ("Honey", True)]
    assert sure("They released Second Dawn and Honey on vinyl.") == [
        ("Second Dawn", True),
        ("Honey", True),
    ]

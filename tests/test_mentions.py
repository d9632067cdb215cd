"""MentionExtractor on texts written for the tests.

Covers patterns, ambiguity, discovery, subject and bad input.
"""

from __future__ import annotations

from typing import Any

import pytest

from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer
from linernotes.nlp.mentions import MAX_CHARS, DocumentMentions, FoundMention, MentionExtractor


def _artist(aid: str, name: str) -> CatalogEntry:
    return CatalogEntry("artist", aid, name)


def _work(kind: str, wid: str, name: str, aid: str, artist: str) -> CatalogEntry:
    return CatalogEntry(kind, wid, name, aid, artist)


CATALOG = [
    _artist("ar:radiohead", "Radiohead"),
    _work("track", "tr:radiohead/creep", "Creep", "ar:radiohead", "Radiohead"),
    _work("album", "al:radiohead/ok-computer", "OK Computer", "ar:radiohead", "Radiohead"),
    _artist("ar:bjork", "Björk"),
    _work("track", "tr:bjork/joga", "Jóga", "ar:bjork", "Björk"),
    _work("album", "al:bjork/homogenic", "Homogenic", "ar:bjork", "Björk"),
    _artist("ar:adele", "Adele"),
    _work("track", "tr:adele/hello", "Hello", "ar:adele", "Adele"),
    _artist("ar:lionel-richie", "Lionel Richie"),
    _work("track", "tr:lionel-richie/hello", "Hello", "ar:lionel-richie", "Lionel Richie"),
    _artist("ar:low", "Low"),
    _work("track", "tr:low/sunflower", "Sunflower", "ar:low", "Low"),
    _artist("ar:yes", "Yes"),
    _artist("ar:bad-company", "Bad Company"),
    _work("track", "tr:bad-company/bad-company", "Bad Company", "ar:bad-company", "Bad Company"),
]


@pytest.fixture(scope="module")
def extractor() -> MentionExtractor:
    return MentionExtractor(Gazetteer.from_entries(CATALOG), batch_size=4)


def _one(extractor: MentionExtractor, text: str) -> list[FoundMention]:
    return next(extractor.annotate([text]))


def _find(mentions: list[FoundMention], surface: str, label: str) -> FoundMention:
    hits = [m for m in mentions if m.surface == surface and m.label == label]
    assert hits, f"no {label} {surface!r} in {[(m.surface, m.label) for m in mentions]}"
    return hits[0]


def test_quoted_title_by_artist(extractor: MentionExtractor) -> None:
    text = 'My favourite is "Creep" by Radiohead.'
    ms = _one(extractor, text)
    track = _find(ms, "Creep", "TRACK")
    assert track.entity_id == "tr:radiohead/creep" and track.name == "Creep"
    assert text[track.start : track.end] == "Creep"
    assert _find(ms, "Radiohead", "ARTIST").entity_id == "ar:radiohead"
    assert track.sent_start == 0 and track.sent_end == len(text)


def test_possessive_quoted_title(extractor: MentionExtractor) -> None:
    ms = _one(extractor, 'Everyone still talks about Björk\'s "Jóga" and its strings.')
    assert _find(ms, "Jóga", "TRACK").entity_id == "tr:bjork/joga"


def test_album_word_pattern(extractor: MentionExtractor) -> None:
    ms = _one(extractor, "The closing song comes from the album OK Computer, released in 1997.")
    album = _find(ms, "OK Computer", "ALBUM")
    assert album.entity_id == "al:radiohead/ok-computer"
    from linernotes.nlp.patterns import find_patterns

    hits = {(h.label, h.pattern) for h in find_patterns("from the album OK Computer, in 1997")}
    assert ("ALBUM", "album_word") in hits


def test_single_word_pattern_and_list(extractor: MentionExtractor) -> None:
    ms = _one(extractor, "She made albums such as Homogenic, Vespertine and Medulla with friends.")
    assert {m.surface for m in ms if m.label == "ALBUM"} >= {"Homogenic", "Vespertine", "Medulla"}
    assert _find(ms, "Homogenic", "ALBUM").entity_id == "al:bjork/homogenic"
    assert _find(ms, "Vespertine", "ALBUM").entity_id is None  # kept, not in the catalogue


def test_shared_title_is_disambiguated_by_nearby_artist(extractor: MentionExtractor) -> None:
    adele = _one(extractor, 'Adele returned with the single "Hello" in 2015.')
    richie = _one(extractor, 'Lionel Richie scored a hit with the song "Hello" in 1984.')
    assert _find(adele, "Hello", "TRACK").entity_id == "tr:adele/hello"
    assert _find(richie, "Hello", "TRACK").entity_id == "tr:lionel-richie/hello"


def test_common_word_names_need_evidence(extractor: MentionExtractor) -> None:
    ms = _one(extractor, "Yes, I stayed home. The light was low and the air was cold. Hello again.")
    assert [m for m in ms if m.entity_id in {"ar:yes", "ar:low", "tr:adele/hello"}] == []


def test_common_word_name_with_evidence_links(extractor: MentionExtractor) -> None:
    ms = _one(extractor, 'We played "Sunflower" by Low twice.')
    assert _find(ms, "Low", "ARTIST").entity_id == "ar:low"
    assert _find(ms, "Sunflower", "TRACK").entity_id == "tr:low/sunflower"


def test_artist_and_track_with_the_same_name(extractor: MentionExtractor) -> None:
    ms = _one(extractor, 'Bad Company opened the show with the song "Bad Company" last night.')
    labelled = {(m.label, m.entity_id) for m in ms if m.surface == "Bad Company"}
    assert ("TRACK", "tr:bad-company/bad-company") in labelled
    assert ("ARTIST", "ar:bad-company") in labelled


@pytest.mark.slow
def test_unlinked_mentions_are_kept_and_counted() -> None:
    ext = MentionExtractor(Gazetteer.from_entries(CATALOG))
    ms = next(ext.annotate(['Last week "Moonwalk Vapors" by Zorblax Quintet came out.']))
    track = _find(ms, "Moonwalk Vapors", "TRACK")
    assert track.entity_id is None and track.name is None
    assert ext.unlinked[("TRACK", "moonwalk vapors")] == 1


def test_subject_from_title_and_its_sentences(extractor: MentionExtractor) -> None:
    text = (
        "This is a record about machines. The album opens with a slow guitar. "
        "Critics in 1997 loved it. Nothing else happened that year."
    )
    doc = next(extractor.extract([(text, "Radiohead: OK Computer")]))
    assert isinstance(doc, DocumentMentions)
    assert doc.subject is not None and doc.subject.entity_id == "al:radiohead/ok-computer"
    quoted = [text[s:e] for s, e in doc.subject_sentences]
    assert any(q.startswith("The album opens") for q in quoted)
    assert any(q.startswith("Critics in 1997 loved it") for q in quoted)
    assert not any(q.startswith("Nothing else") for q in quoted)


def test_artist_subject_uses_pronouns(extractor: MentionExtractor) -> None:
    text = "She grew up by the sea. The weather there is cold."
    doc = next(extractor.extract([(text, "Björk")]))
    assert doc.subject is not None and doc.subject.label == "ARTIST"
    assert [text[s:e].strip() for s, e in doc.subject_sentences] == ["She grew up by the sea."]


def test_no_title_means_no_subject(extractor: MentionExtractor) -> None:
    doc = next(extractor.extract([("She sings.", None)]))
    assert doc.subject is None and doc.subject_sentences == []


def test_bad_input_does_not_crash_and_keeps_order(extractor: MentionExtractor) -> None:
    extractor.max_chars = 3000  # exercise chunking without a 200k-char test text
    long_text = ('Then "Creep" by Radiohead played. ' * 400)[:13_000]
    texts = [
        "",
        "   \n\t",
        "\x00\xff\xfe\x89PNG\r\n\x1a\n\x00\x00",
        "Это песня группы Кино.",
        long_text,
    ]
    try:
        out = list(extractor.annotate(texts))
    finally:
        extractor.max_chars = MAX_CHARS
    assert len(out) == len(texts)
    assert out[0] == [] and out[1] == []
    assert all(isinstance(m, FoundMention) for ms in out for m in ms)
    tracks = [m for m in out[4] if m.label == "TRACK" and m.surface == "Creep"]
    assert len(tracks) > 350  # mentions after the internal chunk boundary are found too
    assert all(long_text[m.start : m.end] == m.surface for m in out[4])


def test_non_string_input_is_handled(extractor: MentionExtractor) -> None:
    out = list(extractor.annotate([None, b"Radiohead"]))  # type: ignore[list-item]
    assert len(out) == 2 and out[0] == []


def test_list_of_titles_labels_its_unknown_items(extractor: MentionExtractor) -> None:
    text = "Her best songs - Jóga, Bachelorette and Hunter - were written in Iceland."
    ms = _one(extractor, text)
    assert _find(ms, "Jóga", "TRACK").entity_id == "tr:bjork/joga"
    assert _find(ms, "Bachelorette", "TRACK").entity_id is None
    assert _find(ms, "Hunter", "TRACK").entity_id is None


def test_title_next_to_its_artist_comes_from_the_catalogue(extractor: MentionExtractor) -> None:
    ms = _one(extractor, "I heard Radiohead play Creep twice in one night.")
    assert _find(ms, "Creep", "TRACK").entity_id == "tr:radiohead/creep"


def test_stock_ner_side_channel_is_stashed(extractor: MentionExtractor) -> None:
    from linernotes.nlp.candidates import stock_labels
    from linernotes.nlp.mentions import MODEL_DIR

    if not (MODEL_DIR / "ner").exists():
        pytest.skip("music NER not shipped")
    doc = extractor.nlp("Adele moved from London to Paris.")
    stock = stock_labels(doc)
    assert stock.get((27, 32)) == "GPE"  # the stock NER's place, kept beside the music NER
    assert "parser" not in extractor.nlp.pipe_names and doc.has_annotation("SENT_START")


def _stock_doc(text: str, music: list[tuple[int, int]], stock: dict[tuple[int, int], str]) -> Any:
    """A Doc with one sentence, the given music-NER ARTIST spans and stock-NER side channel."""
    import spacy

    doc = spacy.blank("en")(text)
    for token in doc:
        token.is_sent_start = token.i == 0
    spans = [doc.char_span(s, e, label="ARTIST") for s, e in music]
    assert all(span is not None for span in spans), "test spans must align with tokens"
    doc.ents = [span for span in spans if span is not None]
    doc.user_data["linernotes_stock_ents"] = [[s, e, label] for (s, e), label in stock.items()]
    return doc


def _ctx(doc: Any, cands: list[Any] | None = None) -> Any:
    from linernotes.nlp.candidates import RuleContext

    ctx = RuleContext.of(doc, Gazetteer.from_entries(CATALOG))
    ctx.cands = list(cands or [])
    return ctx


def test_unlinked_ner_artist_needs_stock_person_label() -> None:
    from linernotes.nlp.rules_ner import unsure_artist

    doc = _stock_doc(
        "She played Dublin with Zed Zorblax and Radiohead",
        [(11, 17), (23, 34), (39, 48)],
        {(11, 17): "GPE", (23, 34): "PERSON"},
    )
    dublin, zed, radiohead = doc.ents
    assert unsure_artist(_ctx(doc), dublin)
    assert not unsure_artist(_ctx(doc), zed)
    assert not unsure_artist(_ctx(doc), radiohead)  # linked: always kept
    doc.user_data = {}
    assert not unsure_artist(_ctx(doc), dublin)  # no side channel: keep


def test_unsure_artist_kept_in_artist_contexts() -> None:
    from linernotes.nlp.rules_ner import unsure_artist

    cases = [
        ("Zorblax recorded two solo albums.", "Zorblax", True),  # lone surname opening a sentence
        ("It borrowed from Quibble 's Glass Road.", "Quibble", True),  # possessive
        ("He then joined the group Snapefish in 1973.", "Snapefish", True),  # band word before
        ("They played the Grand Quibble in 1973.", "Grand Quibble", False),  # no cue: unsure
    ]
    for text, name, kept in cases:
        span = (text.index(name), text.index(name) + len(name))
        doc = _stock_doc(text, [span], {span: "ORG"})
        assert unsure_artist(_ctx(doc), doc.ents[0]) is not kept, text
    doc = _stock_doc("Zorblax won an Academy Award for Best Actor.", [(0, 7)], {(0, 7): "PERSON"})
    assert unsure_artist(_ctx(doc), doc.ents[0])  # film sentence: PERSON is no evidence


def test_coordinated_runs_split_list_items() -> None:
    from linernotes.nlp.patterns import coordinated_runs

    text = "albums Midnight Blue, Out to Lunch! (1964), Unity and The Sidewinder."
    (items,) = list(coordinated_runs(text))
    assert [text[s:e] for s, e in items] == [
        "Midnight Blue",
        "Out to Lunch!",
        "Unity",
        "The Sidewinder",
    ]


def _rule(name: str, text: str, cands: list[Any]) -> list[Any]:
    """Run one named rule on a one-sentence doc of `text` with these earlier candidates."""
    from linernotes.nlp.candidates import rules_named

    doc = _stock_doc(text, [], {})
    ctx = _ctx(doc, cands)
    (rule,) = rules_named([name])
    return rule.func(doc, ctx)


def test_name_before_a_year_in_parentheses_is_an_album() -> None:
    from linernotes.nlp.candidates import Candidate as _Cand

    text = "They released Glass Harbour (1994) and then Radiohead (1997) and Velvet Dusk (2001)."
    velvet = _Cand(text.index("Velvet"), text.index(" (2001)"), "ARTIST", 0.8, "ner", False)
    radiohead = _Cand(text.index("Radiohead"), text.index(" (1997)"), "ARTIST", 0.8, "ner", True)
    added = _rule("year_title", text, [velvet, radiohead])
    assert [(text[c.start : c.end], c.label) for c in added] == [("Glass Harbour", "ALBUM")]
    assert (velvet.label, velvet.evidence) == ("ALBUM", True)  # unknown "artist": relabelled
    assert radiohead.label == "ARTIST"  # a catalogue artist stays an artist


def test_title_after_an_artists_possessive() -> None:
    from linernotes.nlp.candidates import Candidate as _Cand

    text = "The best albums include Radiohead 's Amber Static and the 1993 record."
    artist = _Cand(text.index("Radiohead"), text.index(" 's"), "ARTIST", 0.95, "ner", True)
    (work,) = _rule("possessive", text, [artist])
    assert (text[work.start : work.end], work.label) == ("Amber Static", "ALBUM")
    song = "Her hit song was Adele's Paper Lanterns and Glass Ships."
    artist = _Cand(song.index("Adele"), song.index("'s"), "ARTIST", 0.95, "ner", True)
    (work,) = _rule("possessive", song, [artist])
    assert (song[work.start : work.end], work.label) == ("Paper Lanterns", "TRACK")


def test_unquoted_title_by_artist() -> None:
    from linernotes.nlp.candidates import Candidate as _Cand

    text = "It sampled Copper Kettle Blues by Radiohead, recorded in the 1930s by Adele."
    artists = [
        _Cand(text.index(name), text.index(name) + len(name), "ARTIST", 0.95, "ner", True)
        for name in ("Radiohead", "Adele")
    ]
    found = _rule("title_by", text, artists)
    assert [(text[c.start : c.end], c.label) for c in found] == [("Copper Kettle Blues", "TRACK")]


def test_list_lead_in_names_the_kind_of_its_items() -> None:
    from linernotes.nlp.rules_lists import list_cue as _list_cue

    text = "Her albums include Glass, Wire and Stone. Songs recorded by Alpha, Beta and Gamma."
    assert _list_cue(text, text.index("Glass")) == "ALBUM"
    assert _list_cue(text, text.index("Alpha")) == "ARTIST"  # "songs ... by": performers
    assert _list_cue("In 1990 Alpha, Beta and Gamma", 8) is None


def test_unknown_list_items_take_the_lead_in_kind(extractor: MentionExtractor) -> None:
    ms = _one(extractor, "Her singles include Quiet Lanterns, Paper Harbour and Marble Skies.")
    assert {m.surface for m in ms if m.label == "TRACK"} >= {"Paper Harbour", "Marble Skies"}


def test_capitalised_runs_keep_tokenised_clitics() -> None:
    import re

    from linernotes.nlp.patterns import CAP_RUN, find_patterns

    run = re.compile(CAP_RUN)
    assert run.fullmatch("Can 't Feel My Face")
    assert run.fullmatch("Stayin ' Alive")
    assert not run.fullmatch("Oasis ' Wonderwall")  # a plural possessive, not a clitic
    assert not run.fullmatch("Radiohead 's Creep")
    assert not run.fullmatch("Creep by Radiohead")  # "by" ends a title
    hits = {(h.label, h.pattern) for h in find_patterns("In 2001 he released Word of Mouf.")}
    assert ("ALBUM", "released") in hits


def test_title_with_year_in_parentheses_after_an_artist() -> None:
    from linernotes.nlp.candidates import Candidate as _Cand

    text = "Early examples include Sir Lord Quibble (Kingdom Glass, 1970) and more."
    added = _rule("year_title", text, [])
    assert [(text[c.start : c.end], c.label) for c in added] == [("Kingdom Glass", "ALBUM")]
    start = text.index("Kingdom")
    ner = _Cand(start, start + len("Kingdom Glass"), "ARTIST", 0.8, "ner", True)
    assert _rule("year_title", text, [ner]) == [] and ner.label == "ALBUM"


def test_encyclopaedic_title_patterns() -> None:
    from linernotes.nlp.patterns import find_patterns

    def hits(text: str) -> set[tuple[str, str, str]]:
        return {(text[h.start : h.end], h.label, h.pattern) for h in find_patterns(text)}

    assert ("Eye of the Storm", "ALBUM", "year_work") in hits(
        "Heard released 1983's Eye of the Storm; it sold."
    )
    assert ("Graveyard Classics", "ALBUM", "title_album_word") in hits(
        "They appeared on their Graveyard Classics album of covers."
    )
    assert ("Respectable", "TRACK", "hit_word") in hits("including the number-one hit Respectable.")
    spaced = hits("songs such as ' War Pigs ' and ' Hand of Doom '.")
    assert {("War Pigs", "TRACK"), ("Hand of Doom", "TRACK")} <= {(s, lab) for s, lab, _ in spaced}
    assert not [h for h in hits("the band 's ' best ' years") if h[2] == "quoted"]


def test_list_after_a_song_verb_is_a_list_of_songs() -> None:
    from linernotes.nlp.rules_lists import list_cue as _list_cue

    text = "Soundgarden performed Rusty Nail, Outshone and Loud Lava."
    assert _list_cue(text, text.index("Rusty")) == "TRACK"


@pytest.mark.slow
def test_single_word_catalogue_artist_in_plain_text() -> None:
    """A one-word artist the music NER misses is still found when the stock NER names it,
    and a self-titled album does not steal the artist reading."""
    catalog = [
        _artist("ar:robyn", "Robyn"),
        _work("album", "al:robyn/robyn", "Robyn", "ar:robyn", "Robyn"),
        _work("track", "tr:robyn/konichiwa-bitches", "Konichiwa Bitches", "ar:robyn", "Robyn"),
    ]
    ex = MentionExtractor(Gazetteer.from_entries(catalog), batch_size=2)
    (found,) = ex.annotate(["Last night Robyn played a sold-out show in Stockholm."])
    robyn = _find(found, "Robyn", "ARTIST")
    assert robyn.entity_id == "ar:robyn"
    assert not [m for m in found if m.label == "ALBUM"]


TWO_PROCESSES = """
from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer
from linernotes.nlp.mentions import MentionExtractor

gaz = Gazetteer.from_entries([
    CatalogEntry("artist", "ar:robyn", "Robyn"),
    CatalogEntry("track", "tr:robyn/dancing", "Dancing On My Own", "ar:robyn", "Robyn"),
])
items = [
    (f'Robyn wrote "Dancing On My Own" in take {i}, and the singer Robyn played it live.',
     f"Robyn, take {i}")
    for i in range(9)
]
def run(n):
    found = MentionExtractor(gaz, n_process=n, batch_size=2).extract(items)
    return [[(m.start, m.end, m.label, m.entity_id) for m in d.mentions] for d in found]
one, two = run(1), run(2)
print(len(two), sum(len(d) for d in two), one == two)
"""


@pytest.mark.slow
def test_two_worker_processes_finish(tmp_path: Any) -> None:
    """`extract -p 2` with page titles: the title pipe must be run to its end, or its workers
    wait to send while the parent joins them, and the stage never returns."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", TWO_PROCESSES],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    documents, mentions, same = done.stdout.split()
    assert (documents, same) == ("9", "True") and int(mentions) >= 9


def test_title_patterns_skip_years_charts_and_split_hit_singles() -> None:
    from linernotes.nlp.patterns import find_patterns

    def hits(text: str) -> list[tuple[str, str]]:
        return [(text[h.start : h.end], h.label) for h in find_patterns(text)]

    assert hits("It appears on his 1994 album Velvet Dusk.") == [("Velvet Dusk", "ALBUM")]
    assert hits("It entered the Billboard 200 album chart.") == []
    assert hits("They had the hit singles Glass Ships and Paper Harbour that year.") == [
        ("Glass Ships", "TRACK"),
        ("Paper Harbour", "TRACK"),
    ]
    # one hit single: "and" may be part of its title
    assert hits("Their hit single Salt and Vinegar sold well.") == [("Salt and Vinegar", "TRACK")]


def test_no_possessed_work_where_the_stock_ner_sees_a_place() -> None:
    from linernotes.nlp.candidates import Candidate as _Cand
    from linernotes.nlp.candidates import rules_named

    text = "Opera lovers know Radiohead 's Cape Harbour Opera well."
    venue = (text.index("Cape"), text.index(" well"))
    artist = _Cand(text.index("Radiohead"), text.index(" 's"), "ARTIST", 0.95, "ner", True)
    doc = _stock_doc(text, [], {venue: "FAC"})
    (rule,) = rules_named(["possessive"])
    assert rule.func(doc, _ctx(doc, [artist])) == []
    doc = _stock_doc(text, [], {venue: "WORK_OF_ART"})
    found = rule.func(doc, _ctx(doc, [artist]))
    assert [text[c.start : c.end] for c in found] == ["Cape Harbour Opera"]


def test_album_sentences_overrule_a_track_only_catalogue_title() -> None:
    """The catalogue knows "Creep" only as a track; an NER "album" of that name stays an album
    where the sentence speaks of albums and not songs, and becomes a track elsewhere."""
    from linernotes.nlp.rules_ner import work_label

    for text, label in (
        ("Their five albums were Pablo Honey, Creep and Homogenic.", "ALBUM"),
        ("Their best songs include Creep.", "TRACK"),
        ("They played Creep twice.", "TRACK"),
    ):
        ctx = _ctx(_stock_doc(text, [], {}))
        assert work_label(ctx, "Creep", "ALBUM", text.index("Creep")) == label, text


def _register_album_guess_ner() -> str:
    """A second NER that reads every text as one album title (a label guess with no context)."""
    from spacy.language import Language
    from spacy.tokens import SpanGroup

    name = "test_album_guess_ner"
    if not Language.has_factory(name):

        @Language.factory(name)
        def make(nlp: Any, name: str) -> Any:
            def guess(doc: Any) -> Any:
                group = SpanGroup(doc, spans=[doc.char_span(0, len(doc.text), label="ALBUM")])
                group.attrs["scores"] = [1.0]
                doc.spans["ner_candidates"] = group
                return doc

            return guess

    return name


@pytest.mark.slow
def test_a_title_that_names_a_catalogue_artist_is_not_lost_to_a_ner_guess() -> None:
    # a biography page titled with the band's bare name: the extra NER calls the title an
    # album the catalogue does not have; the catalogue's artist of that name is the subject
    catalog = [_artist("ar:everclear", "Everclear")]
    ext = MentionExtractor(Gazetteer.from_entries(catalog), extra_ner=_register_album_guess_ner())
    text = "Everclear is a rock band formed in Portland, Oregon, in 1992."
    found = next(ext.extract([(text, "Everclear")]))
    assert found.subject is not None
    assert (found.subject.label, found.subject.entity_id) == ("ARTIST", "ar:everclear")

"""A page's title makes a catalogue track its subject; headings stay out of evidence."""

from __future__ import annotations

from sqlalchemy import select

from linernotes.nlp.evidence import refresh_evidence, skip_headings
from linernotes.nlp.subject import credit_names, pick_title_work, title_keys
from linernotes.storage import Store
from linernotes.storage.models import Artist, Document, DocumentSubject, Evidence, Track
from tests.test_evidence import NOW


def test_title_keys_undress_quotes_brackets_and_site_names() -> None:
    assert title_keys('"Blue Monday" (song) - Example Wiki')[0] == "blue monday"
    assert title_keys("'Deed I Do") == ["deed i do"]
    assert "blue monday" in title_keys("New Order: Blue Monday")
    # a bracket that is part of the name is kept
    assert title_keys("(Remember Me) I'm the One Who Loves You") == [
        "remember me im the one who loves you"
    ]


def test_a_title_must_be_backed_by_the_page() -> None:
    song = ("t1", "Home", "a1", "Daughtry")
    assert pick_title_work([song], "Welcome to our home page.", set()) is None
    assert pick_title_work([song], "Daughtry wrote it after a tour.", set()) == "t1"
    assert pick_title_work([song], "The ballad “Home” closes the set.", set()) == "t1"
    assert pick_title_work([song], "No names here.", {"a1"}) == "t1"


def test_equally_backed_namesakes_give_no_subject() -> None:
    a = ("t1", "Home", "a1", "Daughtry")
    b = ("t2", "Home", "a2", "Michael Buble")
    assert pick_title_work([a, b], 'Their "Home" was a hit.', set()) is None
    assert pick_title_work([a, b], 'Michael Buble sang "Home".', set()) == "t2"


def test_headline_backs_a_title_of_several_words_only() -> None:
    long = ("t1", "Tzena Tzena Tzena", "a1", "Issachar Miron (1941)")
    short = ("t2", "About", "a2", "Somebody")
    assert pick_title_work([long], "Tzena Tzena Tzena\nIt was written in 1941.", set()) == "t1"
    assert pick_title_work([short], "About\nWe are a small blog.", set()) is None


def test_credit_names_split_composite_credits() -> None:
    assert credit_names("Jay Livingston & Ray Evans") == [
        "Jay Livingston & Ray Evans",
        "Jay Livingston",
        "Ray Evans",
    ]


def test_skip_headings_moves_past_title_and_byline_lines() -> None:
    text = "Anniversary\nFrom grief to the dancefloor\nBy Mara Lind\nThe song was a hit. Next."
    end = text.index("hit.") + 4
    assert text[skip_headings(text, 0, end) : end] == "The song was a hit."
    keep = "It opens slowly:\nthen the drums come in."
    assert skip_headings(keep, 0, len(keep)) == 0


def _song_page(store: Store, title: str, text: str, subject: str | None = None) -> None:
    with store.session() as session:
        session.add(Artist(id="ar:rose", name="Fred Rose", norm_name="fred rose", aliases=[]))
        session.flush()
        for tid, t in (("wmt:1", "'Deed I Do"), ("wmt:2", "Deed")):
            session.add(
                Track(id=tid, title=t, norm_title=t.strip("'").lower(), artist_id="ar:rose")
            )
        session.add(
            Document(
                id=1,
                url="https://songs.example/1",
                canonical_url="https://songs.example/1",
                title=title,
                text=text,
                content_hash="h1",
                fetched_at=NOW,
            )
        )
        session.flush()
        if subject:
            session.add(
                DocumentSubject(document_id=1, entity_kind="track", entity_id=subject, sentences=[])
            )


def test_a_song_page_without_mentions_profiles_its_track(store: Store) -> None:
    _song_page(store, "'Deed I Do", '\'Deed I Do\n"Deed I Do" is a 1926 standard. It swings.')
    refresh_evidence(store)
    with store.session() as session:
        rows = session.execute(select(Evidence.entity_id, Evidence.text)).all()
    assert {r[0] for r in rows} == {"wmt:1"}
    assert rows[0][1] == '"Deed I Do" is a 1926 standard.'  # the headline is not fused in


def test_a_full_title_match_beats_a_partly_named_work(store: Store) -> None:
    _song_page(store, "'Deed I Do", '"\'Deed I Do" is a 1926 standard.', subject="wmt:2")
    refresh_evidence(store)
    with store.session() as session:
        ids = set(session.execute(select(Evidence.entity_id)).scalars())
    assert ids == {"wmt:1"}

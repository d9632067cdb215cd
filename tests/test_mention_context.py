"""Linking from context, bylines, bracketed titles, stored candidates (issue 11's four cases)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from linernotes.nlp.gazetteer import CatalogEntry, Gazetteer, title_base
from linernotes.nlp.mentions import FoundMention, MentionExtractor
from linernotes.storage import Store
from linernotes.storage.models import Document, Mention


def _artist(aid: str, name: str) -> CatalogEntry:
    return CatalogEntry("artist", aid, name)


def _work(kind: str, wid: str, name: str, aid: str, artist: str) -> CatalogEntry:
    return CatalogEntry(kind, wid, name, aid, artist)


CATALOG = [
    _artist("ar:robyn", "Robyn"),
    _work("album", "al:robyn/honey", "Honey", "ar:robyn", "Robyn"),
    _work("track", "tr:robyn/missing-u", "Missing U", "ar:robyn", "Robyn"),
    _artist("ar:bryan-adams", "Bryan Adams"),
    _work("track", "tr:bryan-adams/heaven", "Heaven", "ar:bryan-adams", "Bryan Adams"),
    _work("track", "tr:bryan-adams/run-to-you", "Run to You", "ar:bryan-adams", "Bryan Adams"),
    _artist("ar:talking-heads", "Talking Heads"),
    _work("track", "tr:talking-heads/heaven", "Heaven", "ar:talking-heads", "Talking Heads"),
    _artist("ar:kate-bush", "Kate Bush"),
    _work(
        "track",
        "tr:kate-bush/running-up-that-hill-a-deal-with-god",
        "Running Up That Hill (A Deal with God)",
        "ar:kate-bush",
        "Kate Bush",
    ),
    _artist("ar:mara-lind", "Mara Lind"),  # a writer who happens to share a catalogue name
]


@pytest.fixture(scope="module")
def extractor() -> MentionExtractor:
    return MentionExtractor(Gazetteer.from_entries(CATALOG), batch_size=4)


def _mentions(ex: MentionExtractor, text: str, title: str | None = None) -> list[FoundMention]:
    (found,) = ex.extract([(text, title)])
    return found.mentions


def _linked(ms: list[FoundMention], surface: str) -> list[str | None]:
    return [m.entity_id for m in ms if m.surface == surface]


def test_possessor_outranks_the_page_subject(extractor: MentionExtractor) -> None:
    """Case 1: "Caribou's Honey" in a review on Robyn's page is not Robyn's album Honey."""
    title = "Robyn: Honey review"
    text = "She loves one record above all: Caribou's Honey, the album she plays most."
    ms = _mentions(extractor, text, title)
    assert [(m.label, m.entity_id) for m in ms if m.surface == "Honey"] == [("ALBUM", None)]
    own = _mentions(extractor, "Robyn's Honey is the warmest record she made.", title)
    assert _linked(own, "Honey") == ["al:robyn/honey"]


def test_link_levels_nearest_first() -> None:
    from linernotes.nlp import linking

    gaz = Gazetteer.from_entries(CATALOG)
    ctx = linking.LinkContext
    subject = ctx(subject_artist_id="ar:robyn")
    assert linking.link(gaz, "Honey", "ALBUM", subject).entity_id == "al:robyn/honey"
    unknown_owner = ctx(subject_artist_id="ar:robyn", possessor_ids=frozenset())
    assert linking.link(gaz, "Honey", "ALBUM", unknown_owner).entity_id is None
    both = ctx(artist_ids=frozenset({"ar:bryan-adams"}), subject_artist_id="ar:talking-heads")
    assert linking.link(gaz, "Heaven", "TRACK", both).entity_id == "tr:bryan-adams/heaven"
    alone = linking.link(gaz, "Heaven", "TRACK", ctx())
    assert alone.entity_id and len(alone.alternatives) == 2 and alone.confidence < 0.6


def test_page_subject_speaks_only_when_nothing_nearer_does(extractor: MentionExtractor) -> None:
    text = 'Nobody expected "Heaven" to close the set, but it did.'
    on_adams_page = _mentions(extractor, text, "Bryan Adams live in Oslo")
    assert _linked(on_adams_page, "Heaven") == ["tr:bryan-adams/heaven"]
    nearer = "Talking Heads closed with Heaven, and nobody expected it."
    ms = _mentions(extractor, nearer, "Bryan Adams live in Oslo")
    assert _linked(ms, "Heaven") == ["tr:talking-heads/heaven"]  # the sentence beats the page


def test_ambiguous_title_keeps_its_candidates(extractor: MentionExtractor) -> None:
    """Case 2: two tracks called Heaven; the link says which and keeps the other with a score."""
    ms = _mentions(extractor, "Talking Heads closed the show with Heaven, slow and quiet.")
    (heaven,) = [m for m in ms if m.surface == "Heaven"]
    assert heaven.entity_id == "tr:talking-heads/heaven"
    ids = [c[0] for c in heaven.candidates]
    assert ids == ["tr:talking-heads/heaven", "tr:bryan-adams/heaven"]
    assert heaven.candidates[0][1] > heaven.candidates[1][1]


@pytest.mark.parametrize(
    "credit",
    [
        "Words by Mara Lind\n\n",
        "Photo: Mara Lind\n",
        "By Mara Lind\n\n",
        "Photography by Mara Lind | ",
    ],
)
def test_bylines_are_not_artists(extractor: MentionExtractor, credit: str) -> None:
    """Case 3: a writer or photographer credited on the page is not an artist."""
    text = credit + "Last night Robyn played a sold-out show in Stockholm."
    ms = _mentions(extractor, text)
    assert not [m for m in ms if "Mara" in m.surface]
    assert _linked(ms, "Robyn") == ["ar:robyn"]


@pytest.mark.slow
def test_byline_rule_is_what_drops_the_credit() -> None:
    """Without the `byline` rule the same credit is an artist: the rule, not luck, drops it."""
    ex = MentionExtractor(Gazetteer.from_entries(CATALOG), without=["byline"])
    ms = _mentions(ex, "Words by Mara Lind and others.\n\nThe Mara Lind show was loud.")
    assert "ar:mara-lind" in [m.entity_id for m in ms]


def test_title_without_its_bracketed_part_links(extractor: MentionExtractor) -> None:
    """Case 4: "Running Up That Hill" is the catalogue's "... (A Deal with God)"."""
    for text in (
        'Everyone can hum "Running Up That Hill" now.',
        "Kate Bush wrote Running Up That Hill in 1985.",
    ):
        ms = _mentions(extractor, text)
        assert _linked(ms, "Running Up That Hill") == [
            "tr:kate-bush/running-up-that-hill-a-deal-with-god"
        ], text


def test_title_base_strips_version_parts() -> None:
    assert title_base("Running Up That Hill (A Deal with God)") == "Running Up That Hill"
    assert title_base("Heroes - 2017 Remaster") == "Heroes"
    assert title_base("Heaven [Remastered 2011]") == "Heaven"
    assert title_base("Dreams - Live") == "Dreams"
    assert title_base("(I Can't Get No) Satisfaction") == "Satisfaction"
    assert title_base("Rock - Paper - Scissors") == "Rock - Paper - Scissors"  # no version word
    assert title_base("(Untitled)") == "(Untitled)"  # nothing would be left
    gaz = Gazetteer.from_entries(
        [*CATALOG[:1], _work("track", "tr:x", "Dreams - Live", "ar:robyn", "Robyn")]
    )
    assert [e.id for e in gaz.lookup_name("Dreams")] == ["tr:x"]


def _store_docs(store: Store, texts: list[str]) -> None:
    with store.session() as s:
        for n, text in enumerate(texts):
            s.add(
                Document(
                    url=f"http://blog.test/{n}",
                    canonical_url=f"http://blog.test/{n}",
                    text=text,
                    content_hash=f"h{n}",
                    fetched_at=datetime.now(UTC),
                )
            )


@pytest.mark.slow
def test_stored_candidates_and_the_name_choice(store: Store, tmp_path: Path) -> None:
    """Ambiguous mentions are stored with their candidates; `choose_by_name` says which one the
    stored text supports and that another track has the same name."""
    from linernotes.nlp.extract import extract_documents
    from linernotes.nlp.name_choice import choose_by_name
    from linernotes.storage.catalog import import_catalog

    csv = tmp_path / "cat.csv"
    lines = ["artist_id,artist,track_id,track,album_id,album"]
    lines += [
        f"{e.artist_id},{e.artist_name},{e.id},{e.name},," for e in CATALOG if e.kind == "track"
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_catalog(store, csv)
    _store_docs(
        store,
        [
            "Talking Heads closed the show with Heaven, slow and quiet.",
            "Talking Heads opened with Heaven too, the next night.",
        ],
    )
    ex = MentionExtractor(Gazetteer.from_entries(CATALOG), batch_size=4)
    extract_documents(store, extractor=ex)
    with store.session() as s:
        rows = s.execute(
            select(Mention.entity_id, Mention.candidates).where(Mention.surface == "Heaven")
        )
        stored = list(rows)
        choice = choose_by_name(s, "track", "Heaven")
        hill = choose_by_name(s, "track", "Running Up That Hill")
    assert {r[0] for r in stored} == {"tr:talking-heads/heaven"}
    assert all(r[1] and r[1][1][0] == "tr:bryan-adams/heaven" for r in stored)
    assert choice is not None and choice.picked.entity_id == "tr:talking-heads/heaven"
    assert [o.entity_id for o in choice.others] == ["tr:bryan-adams/heaven"]
    assert "also named so" in choice.describe() and "Bryan Adams" in choice.describe()
    assert hill is not None and not hill.ambiguous
    assert hill.picked.entity_id == "tr:kate-bush/running-up-that-hill-a-deal-with-god"

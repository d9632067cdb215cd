"""Evidence: mention sentences, subject pages, works credited to artists, incremental rebuilds."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from linernotes.nlp.evidence import document_evidence, refresh_evidence, split_sentences
from linernotes.storage import Store
from linernotes.storage.models import (
    Artist,
    Document,
    DocumentSubject,
    EntityState,
    Evidence,
    Mention,
    Track,
)

NOW = datetime(2024, 3, 5, tzinfo=UTC)

DOCS = {
    1: (
        "Glasswing released a dreamy shoegaze record. Their guitars drown in reverb. "
        "Later, Glasswing toured with Ironhull.",
        [("Glasswing", "artist", "ar:glasswing"), ("Ironhull", "artist", "ar:ironhull")],
    ),
    2: (
        "Ironhull play crushing doom metal with sludgy riffs. "
        'Their song "Slow Tide" is a heavy dirge.',
        [("Ironhull", "artist", "ar:ironhull"), ("Slow Tide", "track", "tr:slow-tide")],
    ),
    3: (
        "Glasswing are a dream pop band from Leeds. "
        "Its lush synths and airy vocals recall dream pop.",
        [("Glasswing", "artist", "ar:glasswing")],
    ),
}


def _mentions(doc_id: int, text: str, names: list[tuple[str, str, str]]) -> list[Mention]:
    spans = split_sentences(text)
    out = []
    for surface, kind, eid in names:
        start = text.find(surface)
        while start >= 0:
            s0, s1 = next((a, b) for a, b in spans if a <= start < b)
            out.append(
                Mention(
                    document_id=doc_id,
                    start=start,
                    end=start + len(surface),
                    sent_start=s0,
                    sent_end=s1,
                    label=kind.upper(),
                    entity_id=eid,
                    surface=surface,
                    norm_surface=surface.lower(),
                    method="test",
                )
            )
            start = text.find(surface, start + 1)
    return out


def seed_corpus(
    store: Store, docs: dict[int, tuple[str, list[tuple[str, str, str]]]] = DOCS
) -> None:
    """A tiny catalogue and corpus, written as the crawler and extractor would."""
    with store.session() as session:
        for aid, name in (("ar:glasswing", "Glasswing"), ("ar:ironhull", "Ironhull")):
            session.add(Artist(id=aid, name=name, norm_name=name.lower(), aliases=[]))
        session.flush()
        session.add(
            Track(
                id="tr:slow-tide",
                title="Slow Tide",
                norm_title="slow tide",
                artist_id="ar:ironhull",
            )
        )
        for doc_id, (text, _names) in docs.items():
            session.add(
                Document(
                    id=doc_id,
                    url=f"https://blog.example/{doc_id}",
                    canonical_url=f"https://blog.example/{doc_id}",
                    text=text,
                    content_hash=f"h{doc_id}",
                    published_at=NOW.replace(month=doc_id),
                    fetched_at=NOW,
                )
            )
        session.flush()
        for doc_id, (text, names) in docs.items():
            session.add_all(_mentions(doc_id, text, names))
        if 3 in docs:
            session.add(
                DocumentSubject(
                    document_id=3, entity_kind="artist", entity_id="ar:glasswing", sentences=[]
                )
            )


def _rows(store: Store) -> list[tuple[str, str, int, str, list[str]]]:
    with store.session() as session:
        return [
            (r.entity_kind, r.entity_id, r.document_id, r.via, r.co_entities)
            for r in session.execute(select(Evidence).order_by(Evidence.id)).scalars()
        ]


def test_split_sentences_spans_cover_sentences() -> None:
    text = "First one. Second one!  Third?\n\nFourth"
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "First one.",
        "Second one!",
        "Third?",
        "Fourth",
    ]


def test_evidence_from_mentions_subjects_and_works(store: Store) -> None:
    seed_corpus(store)
    stats = refresh_evidence(store)
    rows = _rows(store)
    assert stats.documents_rebuilt == 3
    # the track's sentence is evidence for the track and (as a work) for its artist
    assert ("track", "tr:slow-tide", 2, "mention", ["artist:ar:ironhull"]) in rows
    assert any(r[:4] == ("artist", "ar:ironhull", 2, "work") for r in rows)
    # a subject page gives every sentence, the ones without a mention as `subject`
    subject = [r for r in rows if r[2] == 3]
    assert {r[3] for r in subject} == {"mention", "subject"} and len(subject) == 2
    # co-mentions point at the other entity, never at the entity itself
    tour = [r for r in rows if r[:3] == ("artist", "ar:glasswing", 1)]
    assert ["artist:ar:ironhull"] in [r[4] for r in tour]
    assert stats.changed >= {("artist", "ar:glasswing"), ("track", "tr:slow-tide")}


def test_evidence_is_incremental(sqlite_store: Store) -> None:
    seed_corpus(sqlite_store)
    refresh_evidence(sqlite_store)
    again = refresh_evidence(sqlite_store)
    assert again.documents_rebuilt == 0 and not again.changed
    with sqlite_store.session() as session:
        session.execute(update(Document).where(Document.id == 2).values(content_hash="changed"))
        session.execute(
            Mention.__table__.delete().where(  # type: ignore[attr-defined]
                Mention.document_id == 2, Mention.label == "TRACK"
            )
        )
    third = refresh_evidence(sqlite_store)
    assert third.documents_rebuilt == 1
    assert ("track", "tr:slow-tide") in third.changed
    assert ("artist", "ar:glasswing") not in third.changed
    with sqlite_store.session() as session:
        state = session.get(EntityState, ("track", "tr:slow-tide"))
        assert state is not None and state.evidence_hash is None


def test_document_evidence_dedupes_sentences() -> None:
    from linernotes.nlp.evidence import _Doc

    text = "Ironhull and Ironhull again. Other."
    doc = _Doc(
        7,
        text,
        None,
        [(0, 8, 0, 28, "ARTIST", "ar:i"), (13, 21, 0, 28, "ARTIST", "ar:i")],
        None,
        [(29, "some stranger"), (9, "a friend")],
    )
    rows = document_evidence(doc, {})
    assert len(rows) == 1 and rows[0].text == "Ironhull and Ironhull again."
    assert rows[0].co_entities == ["name:a friend"]  # unlinked names in the same sentence only


def test_a_document_that_stops_being_stored_leaves_no_mentions_or_evidence(store: Store) -> None:
    # Doc 1 is re-fetched and now carries doc 2's text (a syndicated copy): it becomes a
    # duplicate, and nothing derived from its old text may linger to be counted twice.
    from linernotes.storage import documents as docs

    seed_corpus(store)
    refresh_evidence(store)
    copy = docs.DocumentRecord(
        "https://blog.example/1", "https://blog.example/1", None, NOW, text=DOCS[2][0]
    )
    copy.content_hash, copy.check_near = "h2", False
    [outcome] = docs.save_documents(store, [copy], None)
    assert outcome.outcome == "duplicate" and outcome.original == 2
    stats = refresh_evidence(store)
    assert ("artist", "ar:glasswing") in stats.changed
    with store.session() as session:
        assert not session.scalars(select(Mention).where(Mention.document_id == 1)).all()
        assert not session.scalars(select(Evidence).where(Evidence.document_id == 1)).all()
    assert {r[2] for r in _rows(store)} == {2, 3}

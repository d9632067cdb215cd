"""Each stored document's subject, from the extractor or from the catalogue track its title names.

The database side of `nlp.subject`'s title matching: read by the evidence
step (`nlp.evidence`) before it rebuilds a document's evidence.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from linernotes.nlp.subject import pick_title_work, title_keys
from linernotes.storage.chunks import chunked
from linernotes.storage.models import Artist, Document, DocumentSubject, Track

Subject = tuple[str, str, list[Any]]  # entity kind, entity id, the extractor's sentence spans


def document_subjects(
    session: Session, mentions: dict[int, list[tuple[Any, ...]]]
) -> dict[int, Subject]:
    """Each stored document's subject: the extractor's, else the catalogue track its title names.

    The extractor finds a subject among the title's mentions; a song page titled
    "'Deed I Do" or "Blue Monday (song)" may give it none, yet the whole page is
    about that track (see `nlp.subject.pick_title_work`).
    """
    subjects: dict[int, Subject] = {
        d: (k, e, s)
        for d, k, e, s in session.execute(
            select(
                DocumentSubject.document_id,
                DocumentSubject.entity_kind,
                DocumentSubject.entity_id,
                DocumentSubject.sentences,
            )
        )
    }
    named = _subject_titles(session, subjects)
    titles = {}
    for d, t in session.execute(
        select(Document.id, Document.title).where(
            Document.status == "stored", Document.title.is_not(None)
        )
    ):
        keys = title_keys(t or "")
        # An artist subject stays; a work the title only partly names ("Dream" for
        # "Dream (When You're Feeling Blue)") gives way to one it names in full.
        if keys and (d not in subjects or (d in named and named[d] not in keys)):
            titles[d] = keys
    by_key = _tracks_by_title({k for keys in titles.values() for k in keys}, session)
    wanted = {d: keys for d, keys in titles.items() if any(k in by_key for k in keys)}
    texts = _texts(session, sorted(wanted))
    for doc_id, keys in wanted.items():
        candidates = list({c[0]: c for k in keys for c in by_key.get(k, [])}.values())
        artists = {str(m[3]) for m in mentions.get(doc_id, []) if m[2] == "ARTIST" and m[3]}
        chosen = pick_title_work(candidates, texts.get(doc_id, ""), artists)
        if chosen is not None:
            subjects[doc_id] = ("track", chosen, [])
    return subjects


def _subject_titles(session: Session, subjects: dict[int, Subject]) -> dict[int, str]:
    """Document -> the catalogue key of its subject's title, for track subjects."""
    by_track: dict[str, list[int]] = defaultdict(list)
    for d, (kind, eid, _s) in subjects.items():
        if kind == "track":
            by_track[eid].append(d)
    out: dict[int, str] = {}
    ids = sorted(by_track)
    for chunk in chunked(ids):
        query = select(Track.id, Track.norm_title).where(Track.id.in_(chunk))
        for tid, norm in session.execute(query):
            out.update({d: norm for d in by_track[tid]})
    return out


def _tracks_by_title(
    keys: set[str], session: Session
) -> dict[str, list[tuple[str, str, str | None, str | None]]]:
    """norm_title -> catalogue tracks (id, title, artist id, artist name) with that title."""
    out: dict[str, list[tuple[str, str, str | None, str | None]]] = defaultdict(list)
    for chunk in chunked(sorted(keys)):
        query = (
            select(Track.norm_title, Track.id, Track.title, Track.artist_id, Artist.name)
            .outerjoin(Artist, Artist.id == Track.artist_id)
            .where(Track.norm_title.in_(chunk))
        )
        for norm, tid, title, aid, name in session.execute(query):
            out[norm].append((tid, title, aid, name))
    return out


def _texts(session: Session, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk in chunked(ids):
        query = select(Document.id, Document.text).where(Document.id.in_(chunk))
        out.update({d: t or "" for d, t in session.execute(query)})
    return out

"""Step 1 of the stage: read every entity's evidence, its names, and what needs recomputing.

Everything later steps compute from comes from here, as plain Python objects:
feature code never touches the database.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from linernotes.nlp.descriptors import month_of
from linernotes.nlp.evidence import EntityKey
from linernotes.nlp.profiles.config import STATE_KEY
from linernotes.storage import Store
from linernotes.storage.chunks import chunked
from linernotes.storage.models import Album, Artist, EntityState, Evidence, KeyValue, Track


@dataclass
class Ev:
    """One evidence sentence as the profile steps see it."""

    id: int
    doc: int
    text: str
    hash: str
    month: str | None
    weight: float
    co: list[str]


@dataclass
class Corpus:
    """What one run computes from: all evidence, and which entities need recomputing."""

    evidence: dict[EntityKey, list[Ev]]
    todo: set[EntityKey]
    removed: set[EntityKey]
    hashes: dict[EntityKey, str | None]
    names: dict[str, list[str]]
    track_artist: dict[str, str]
    co_df: Counter[str] = field(default_factory=Counter)  # entities: how many co-mention each
    full: bool = False  # every entity is a target (asked for, or the configuration changed)

    def __post_init__(self) -> None:
        for evs in self.evidence.values():
            self.co_df.update({c for ev in evs for c in ev.co})


def load_corpus(store: Store, signature: str, full: bool) -> Corpus:
    """All evidence; everything is a target when the configuration's signature changed."""
    with store.session() as session:
        state_row = session.get(KeyValue, STATE_KEY)
        full = full or state_row is None or state_row.value.get("signature") != signature
        evidence = _load_evidence(session)
        todo, removed, hashes = _targets(session, set(evidence), full)
        keys = {f"{k}:{e}" for k, e in evidence} | {
            c for evs in evidence.values() for ev in evs for c in ev.co
        }
        names = _names(session, keys)
        track_artist = _track_artists(session, (e for k, e in evidence if k == "track"))
    return Corpus(evidence, todo, removed, hashes, names, track_artist, full=full)


def _load_evidence(session: Session) -> dict[EntityKey, list[Ev]]:
    """Every evidence row, in id order.

    The co-mentions come as JSON text and each distinct list is decoded once
    (102k distinct among 571k rows at 10,000 pages; decoding every row was
    two thirds of reading the corpus). Rows sharing a list share the object:
    nothing downstream mutates it.
    """
    out: dict[EntityKey, list[Ev]] = defaultdict(list)
    decoded: dict[str | None, list[str]] = {}
    query = select(
        Evidence.entity_kind,
        Evidence.entity_id,
        Evidence.id,
        Evidence.document_id,
        Evidence.text,
        Evidence.sentence_hash,
        Evidence.published_at,
        Evidence.weight,
        cast(Evidence.co_entities, Text),
    ).order_by(Evidence.id)
    for kind, eid, ev_id, doc, txt, h, pub, w, raw in session.execute(query):
        co = decoded.get(raw)
        if co is None:
            co = decoded[raw] = [str(c) for c in json.loads(raw) or []] if raw else []
        out[(kind, eid)].append(Ev(ev_id, doc, txt, h, month_of(pub), float(w), co))
    return out


def _names(session: Session, keys: set[str]) -> dict[str, list[str]]:
    """`kind:id` -> the names to exclude from descriptors (name, aliases, titles)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        kind, _, eid = key.partition(":")
        wanted[kind].add(eid)
    out: dict[str, list[str]] = {f"name:{n}": [n] for n in wanted.pop("name", set())}
    tables: dict[str, Any] = {"artist": Artist, "track": Track, "album": Album}
    for kind, ids in wanted.items():
        model = tables.get(kind)
        if model is None:
            continue
        id_list = sorted(ids)
        for chunk in chunked(id_list):
            if model is Artist:
                rows = session.execute(
                    select(Artist.id, Artist.name, Artist.aliases).where(Artist.id.in_(chunk))
                )
                for eid, name, aliases in rows:
                    out[f"artist:{eid}"] = [name, *(aliases or [])]
            else:
                for eid, title in session.execute(
                    select(model.id, model.title).where(model.id.in_(chunk))  # type: ignore[union-attr]
                ):
                    out[f"{kind}:{eid}"] = [title]
    return out


def _track_artists(session: Session, track_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(track_ids))
    out: dict[str, str] = {}
    for chunk in chunked(ids):
        for tid, aid in session.execute(
            select(Track.id, Track.artist_id).where(Track.id.in_(chunk))
        ):
            if aid:
                out[tid] = aid
    return out


def _targets(
    session: Session, present: set[EntityKey], full: bool
) -> tuple[set[EntityKey], set[EntityKey], dict[EntityKey, str | None]]:
    """(entities to recompute, entities to remove, their evidence hashes)."""
    states = {
        (k, e): (h, p)
        for k, e, h, p in session.execute(
            select(
                EntityState.entity_kind,
                EntityState.entity_id,
                EntityState.evidence_hash,
                EntityState.profiled_hash,
            )
        )
    }
    hashes = {key: hp[0] for key, hp in states.items()}
    todo = set()
    removed = set()
    for key, (h, p) in states.items():
        if key not in present:
            if p is not None:
                removed.add(key)
        elif full or h != p:
            todo.add(key)
    todo |= {key for key in present if key not in states}
    return todo, removed, hashes

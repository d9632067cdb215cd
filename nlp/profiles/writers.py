"""Step 4: write descriptors, monthly descriptors, vectors and entity states."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from linernotes.nlp.descriptors import (
    EntityTerms,
    TermExtractor,
    display_weights,
    top_terms,
    trend_terms,
)
from linernotes.nlp.evidence import EntityKey
from linernotes.nlp.profiles.config import CULTURAL, ProfileConfig
from linernotes.nlp.similarity import backoff
from linernotes.storage import Store
from linernotes.storage.chunks import chunked, chunked_by_kind
from linernotes.storage.models import Descriptor, DescriptorMonth, EntityState, Neighbor, Vector
from linernotes.storage.upsert import insert_rows, upsert


@dataclass
class DescriptorInput:
    """What the descriptor writer needs: the bags, their weights and the corpus statistics."""

    bags: dict[EntityKey, EntityTerms]
    weights: dict[EntityKey, dict[str, float]]
    df: Counter[str]
    n_entities: int
    extractor: TermExtractor
    rates: dict[str, float] = field(default_factory=dict)  # corpus sentence share per term


def delete_for(session: Session, model: Any, keys: set[EntityKey]) -> None:
    """Delete the entities' rows, kind by kind (`chunked_by_kind`: the primary key is searched)."""
    for kind, chunk in chunked_by_kind(keys):
        session.execute(delete(model).where(model.entity_kind == kind, model.entity_id.in_(chunk)))


def write_descriptors(
    store: Store,
    todo: set[EntityKey],
    removed: set[EntityKey],
    data: DescriptorInput,
    cfg: ProfileConfig,
) -> None:
    rows: list[dict[str, Any]] = []
    month_rows: list[dict[str, Any]] = []
    for key in todo:
        rows += _descriptor_rows(key, data, cfg)
        month_rows += _month_rows(key, data, cfg)
    with store.session() as session:
        delete_for(session, Descriptor, todo | removed)
        delete_for(session, DescriptorMonth, todo | removed)
        upsert(session, Descriptor, rows, keys=["entity_kind", "entity_id", "term"])
        upsert(
            session, DescriptorMonth, month_rows, keys=["entity_kind", "entity_id", "month", "term"]
        )


def _descriptor_rows(key: EntityKey, data: DescriptorInput, cfg: ProfileConfig) -> list[dict]:
    bag = data.bags[key]
    shown = display_weights(bag, data.rates, data.df, data.n_entities, cfg.salience, data.extractor)
    stats = top_terms(bag, shown, data.df, cfg.top_n, cfg.salience, data.n_entities)
    return [
        {
            "entity_kind": key[0],
            "entity_id": key[1],
            "term": stat.term[:200],
            "weight": round(stat.weight, 6),
            "count": math.ceil(stat.count),
            "doc_freq": stat.doc_freq,
            "evidence_ids": stat.evidence_ids,
        }
        for stat in stats
    ]


def _month_rows(key: EntityKey, data: DescriptorInput, cfg: ProfileConfig) -> list[dict]:
    """Per month, the entity's trend terms (`trend_terms`) weighted as `display_weights`."""
    rows = []
    bag = data.bags[key]
    min_df = cfg.salience.min_df_display if data.n_entities >= 20 else 1
    overall = display_weights(
        bag, data.rates, data.df, data.n_entities, cfg.salience, data.extractor
    )
    overall = {t: w for t, w in overall.items() if data.df.get(t, 0) >= min_df}
    allowed = trend_terms(bag, overall, cfg.month_top_n, data.extractor)
    for month, counts in bag.months.items():
        mw = display_weights(
            bag, data.rates, data.df, data.n_entities, cfg.salience, data.extractor, month
        )
        shown = [t for t in mw if t in allowed]
        for term in sorted(shown, key=lambda t: (-mw[t], t))[: cfg.month_top_n]:
            rows.append(
                {
                    "entity_kind": key[0],
                    "entity_id": key[1],
                    "month": month,
                    "term": term[:200],
                    "weight": round(mw[term], 6),
                    "count": math.ceil(counts[term]),
                }
            )
    return rows


def load_vectors(
    session: Session, kind: str, ids: Iterable[str], models: Iterable[str]
) -> dict[str, dict[str, np.ndarray]]:
    out: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    id_list = sorted(set(ids))
    model_list = list(models)
    for chunk in chunked(id_list):
        for eid, model, vec in session.execute(
            select(Vector.entity_id, Vector.model, Vector.vector).where(
                Vector.entity_kind == kind,
                Vector.entity_id.in_(chunk),
                Vector.model.in_(model_list),
            )
        ):
            out[eid][model] = np.asarray(vec, dtype=np.float32)
    return out


@dataclass
class VectorInput:
    """Every target's parts, with what the writer needs to back tracks off and label rows."""

    parts: dict[EntityKey, dict[str, np.ndarray]]
    support: dict[EntityKey, int]
    track_artist: Mapping[str, str]
    versions: Mapping[str, str]
    dims: Mapping[str, int]
    hashes: Mapping[EntityKey, str | None]
    removed: set[EntityKey]


def write_vectors(store: Store, data: VectorInput, cfg: ProfileConfig) -> None:
    """Backs tracks off towards their artist, combines, and writes every kind plus `cultural`."""
    now = datetime.now(UTC)
    kinds = list(data.dims)
    parts = data.parts
    with store.session() as session:
        needed = {data.track_artist[e] for k, e in parts if k == "track" and e in data.track_artist}
        stored = load_vectors(
            session, "artist", needed - {e for k, e in parts if k == "artist"}, kinds
        )
    artist_parts = {e: p for (k, e), p in parts.items() if k == "artist"}
    rows = []
    for key, p in parts.items():
        support = data.support[key]
        alpha = 0.0
        final = dict(p)
        if key[0] == "track" and key[1] in data.track_artist:
            artist = data.track_artist[key[1]]
            parent = artist_parts.get(artist) or stored.get(artist, {})
            for kind in kinds:
                vec, a = backoff(p.get(kind), parent.get(kind), support, cfg.track_backoff_k)
                if vec is not None:
                    final[kind] = vec
                    alpha = max(alpha, a)
        for kind, vec in final.items():
            rows.append(_vector_row(key, kind, data.versions[kind], vec, support, alpha, now))
        if final:
            combined = cfg.combination.combine(final, data.dims)
            version = json.dumps(dict(cfg.combination.weights), sort_keys=True)
            rows.append(_vector_row(key, CULTURAL, version[:100], combined, support, alpha, now))
    with store.session() as session:
        delete_for(session, Vector, set(parts) | data.removed)
        insert_rows(session, Vector, rows)
        _write_states(session, set(parts), data.removed, data.hashes, now)
        delete_for(session, Neighbor, data.removed)


def _write_states(
    session: Session,
    profiled: set[EntityKey],
    removed: set[EntityKey],
    hashes: Mapping[EntityKey, str | None],
    now: datetime,
) -> None:
    rows = [
        {
            "entity_kind": k,
            "entity_id": e,
            "evidence_hash": hashes.get((k, e)),
            "profiled_hash": hashes.get((k, e)),
            "profiled_at": now,
        }
        for k, e in profiled
    ] + [
        {
            "entity_kind": k,
            "entity_id": e,
            "evidence_hash": None,
            "profiled_hash": None,
            "profiled_at": now,
        }
        for k, e in removed
    ]
    upsert(session, EntityState, rows, keys=["entity_kind", "entity_id"])


def _vector_row(
    key: EntityKey, model: str, version: str, vec: np.ndarray, support: int, alpha: float, now: Any
) -> dict[str, Any]:
    arr = np.asarray(vec, dtype=np.float32)
    return {
        "entity_kind": key[0],
        "entity_id": key[1],
        "model": model,
        "model_version": version[:100],
        "dim": int(arr.shape[0]),
        "vector": arr,
        "support": support,
        "backoff": float(alpha),
        "updated_at": now,
    }

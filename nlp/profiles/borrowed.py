"""Step 6: descriptor terms inferred from an entity's nearest neighbours, marked as such.

Most of what listeners tag an artist with is never written in its evidence:
on sas_mirex 539 of the ~630 tags its top terms missed never occur in the
artist's text ("pop" for 75 artists). An entity's neighbours are written
about in words it lacks, so an entity also gets the descriptive vocabulary
terms (genres, moods, instruments; not facts such as "producer") that its
neighbours' texts use and its own does not, weighted by the neighbours' mean
display weight (a neighbour that does not use the term counts 0): the same
scale as a term read in the text, so both rank in one list. Nothing is
fitted: the neighbours are the stored list (`neighbors_k` of them), each
counts alike, and the weights are the ones every entity shows.

Rows are `descriptors` with `source = 'neighbours'`, count 0, and as
evidence the sentences of the neighbours' own (text) rows for the term, from
the neighbours that use it most. They follow the neighbour table, so they are
rewritten for a whole kind whenever its neighbours are, from every entity's
cached bag summary (an incremental embed extracts full bags only for the
entities it rewrites); the vectors and neighbours never read them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Text, cast, delete, select

from linernotes.nlp.descriptors import shown_weights
from linernotes.nlp.evidence import EntityKey
from linernotes.nlp.profiles.bags import BagSummary
from linernotes.nlp.profiles.config import CULTURAL, ProfileConfig
from linernotes.nlp.profiles.writers import DescriptorInput
from linernotes.storage import Store
from linernotes.storage.chunks import chunked
from linernotes.storage.models import Descriptor, Neighbor
from linernotes.storage.upsert import insert_rows

NEIGHBOURS = "neighbours"  # descriptors.source of an inferred term
TEXT = "text"  # descriptors.source of a term read in the entity's own evidence
EVIDENCE_PER_TERM = 10  # neighbours' sentence ids kept per inferred term


def borrow_terms(
    own: Mapping[str, float],
    neighbours: Sequence[Mapping[str, float]],
    descriptive: Callable[[str], bool],
    limit: int,
    used: Callable[[str], bool] | None = None,
) -> dict[str, float]:
    """Terms to infer for one entity: term -> the neighbours' mean weight.

    `own` is the entity's shown weights, `neighbours` each neighbour's.
    Only `descriptive` terms the entity does not use (`used`, default: in
    `own`) are candidates, and only those that rank within the entity's top
    `limit` once merged with its own terms are kept.
    """
    if not neighbours:
        return {}
    is_used = used or (lambda t: t in own)
    totals: dict[str, float] = {}
    for weights in neighbours:
        for term, w in weights.items():
            if descriptive(term) and not is_used(term):
                totals[term] = totals.get(term, 0.0) + w
    borrowed = {t: w / len(neighbours) for t, w in totals.items() if w > 0}
    merged = {**own, **borrowed}
    top = sorted(merged, key=lambda t: (-merged[t], t))[:limit]
    return {t: borrowed[t] for t in top if t in borrowed}


def write_borrowed(
    store: Store,
    kind: str,
    data: DescriptorInput,
    summaries: Mapping[EntityKey, BagSummary],
    cfg: ProfileConfig,
    changed: Collection[str] | None = None,
    relisted: Collection[str] = (),
) -> int:
    """Rewrite the inferred terms of one kind from its current neighbour table.

    With `changed` (the entities whose own descriptors changed, or that went) only
    the rows of those, of the `relisted` ones (whose neighbour lists changed) and
    of the entities listing a changed one as a neighbour are rewritten: nothing
    else an inferred row is computed from moved. Without, the whole kind.
    """
    lists = _neighbour_lists(store, kind)
    kind_size = len(lists)
    targets: set[str] | None = None
    if changed is not None:
        moved = set(changed)
        targets = moved | set(relisted)
        targets |= {e for e, nbrs in lists.items() if not moved.isdisjoint(nbrs)}
        lists = {e: nbrs for e, nbrs in lists.items() if e in targets}
    needed = None if targets is None else targets | {n for v in lists.values() for n in v}
    if needed is not None and len(needed) > kind_size // 2:
        needed = None  # most of the kind: one scan beats hundreds of IN lists
    stored = _text_rows(store, kind, needed)
    shown: dict[str, dict[str, float]] = {}

    lendable: dict[str, dict[str, float]] = {}
    descriptive = data.extractor.is_descriptive

    def weights_of(eid: str) -> dict[str, float]:
        if eid not in shown:
            shown[eid] = _shown_weights(summaries[(kind, eid)], data, cfg)
        return shown[eid]

    def lendable_of(eid: str) -> dict[str, float]:
        # what a neighbour can lend, filtered once per entity, not once per list it is in:
        # an entity is in ~k lists, and filtering every list's terms was most of a re-run
        if eid not in lendable:
            lendable[eid] = {t: w for t, w in weights_of(eid).items() if descriptive(t)}
        return lendable[eid]

    inferred: list[tuple[str, str, float, list[str]]] = []
    if cfg.infer_from_neighbours:
        for eid, nbrs in lists.items():
            if (kind, eid) not in summaries:
                continue
            own = summaries[(kind, eid)]
            nbr_ids = [n for n in nbrs if (kind, n) in summaries]
            lends = [lendable_of(n) for n in nbr_ids]
            terms = borrow_terms(
                weights_of(eid),
                lends,
                descriptive,
                cfg.top_n,
                used=_used_by(own.uses, stored.get(eid, {})),
            )
            for term, weight in terms.items():
                inferred.append((eid, term, weight, _lenders(term, nbr_ids, lends)))
    # decoded once per (neighbour, term): a neighbour lends the same term to many entities
    evidence_of = functools.cache(lambda n, t: _decode_ids(stored.get(n, {}).get(t)))
    rows = [_row(kind, eid, term, w, users, data, evidence_of) for eid, term, w, users in inferred]
    with store.session() as session:
        old = Descriptor.entity_kind == kind, Descriptor.source == NEIGHBOURS
        if targets is None:
            session.execute(delete(Descriptor).where(*old))
        for ids in chunked(sorted(targets or ())):
            session.execute(delete(Descriptor).where(*old, Descriptor.entity_id.in_(ids)))
        insert_rows(session, Descriptor, rows)
    return len(rows)


def _lenders(term: str, ids: Sequence[str], lends: Sequence[Mapping[str, float]]) -> list[str]:
    """The neighbours lending `term`, the heaviest first (ties in list order)."""
    weighted = [(-lend[term], i) for i, lend in enumerate(lends) if term in lend]
    return [ids[i] for _, i in sorted(weighted)]


def _used_by(uses: Mapping[str, Any], stored: Mapping[str, Any]) -> Callable[[str], bool]:
    """Whether the entity says a term itself: in its bag now or in a stored text row.

    The two differ for an entity whose text rows were written by an earlier run
    (only entities whose evidence changed are rewritten): a catalogue name or
    alias added since ("Sludgy") leaves its bag, not its stored row. Inferring
    such a term would give the entity one term twice, which the key forbids.
    """
    return lambda term: term in uses or term in stored


def _text_rows(
    store: Store, kind: str, only: Collection[str] | None = None
) -> dict[str, dict[str, str]]:
    """Entity id -> term -> evidence ids as stored (JSON text), for every stored text row of
    the kind (one read; with `only`, of those entities).

    The terms say what an entity already says itself (`_used_by`); the ids are
    an inferred row's evidence, taken from the neighbours' own rows. They stay
    JSON text until a row needs them (`_decode_ids`): most are never read, and
    decoding every one was a tenth of a re-run's embed.
    """
    out: dict[str, dict[str, str]] = {}
    query = select(
        Descriptor.entity_id, Descriptor.term, cast(Descriptor.evidence_ids, Text)
    ).where(Descriptor.entity_kind == kind, Descriptor.source == TEXT)
    queries = (
        [query]
        if only is None
        else [query.where(Descriptor.entity_id.in_(ids)) for ids in chunked(sorted(only))]
    )
    with store.session() as session:
        for one in queries:
            for eid, term, evidence in session.execute(one):
                out.setdefault(eid, {})[term] = evidence or "[]"
    return out


def _decode_ids(raw: str | None) -> list[int]:
    """A stored row's evidence ids from their JSON text (none when there is no such row)."""
    return [int(i) for i in json.loads(raw) or []] if raw else []


def _row(
    kind: str,
    eid: str,
    term: str,
    weight: float,
    users: Sequence[str],
    data: DescriptorInput,
    evidence_of: Callable[[str, str], list[int]],
) -> dict[str, Any]:
    """One inferred row: its evidence is the sentences of the neighbours using it most."""
    ids: list[int] = []
    for n in users:
        if len(ids) >= EVIDENCE_PER_TERM:
            break
        ids += evidence_of(n, term)[: max(1, EVIDENCE_PER_TERM // len(users))]
    return {
        "entity_kind": kind,
        "entity_id": eid,
        "term": term[:200],
        "weight": round(weight, 6),
        "count": 0,
        "doc_freq": data.df.get(term, 0),
        "evidence_ids": ids[:EVIDENCE_PER_TERM],
        "source": NEIGHBOURS,
    }


def _shown_weights(
    summary: BagSummary, data: DescriptorInput, cfg: ProfileConfig
) -> dict[str, float]:
    """The entity's display weights over the terms it may show (as `top_terms` filters them)."""
    weights = shown_weights(
        summary.uses,
        summary.sentences,
        data.rates,
        data.df,
        data.n_entities,
        cfg.salience,
        data.extractor,
    )
    min_df = cfg.salience.min_df_display if data.n_entities >= 20 else 1
    return {t: w for t, w in weights.items() if data.df.get(t, 0) >= min_df and w > 0}


def _neighbour_lists(store: Store, kind: str) -> dict[str, list[str]]:
    """Entity id -> its plain neighbour list (model `cultural`), best first."""
    out: dict[str, list[str]] = {}
    with store.session() as session:
        for eid, nid in session.execute(
            select(Neighbor.entity_id, Neighbor.neighbor_id)
            .where(Neighbor.entity_kind == kind, Neighbor.model == CULTURAL)
            .order_by(Neighbor.entity_id, Neighbor.rank)
        ):
            out.setdefault(eid, []).append(nid)
    return out

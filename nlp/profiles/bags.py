"""Step 2b: every entity's term bag summary, cached per entity (`entity_bags`).

Document frequencies, the corpus sentence shares of terms and every entity's
exact sparse parts (which the neighbour table needs for all entities) are
sums over per-entity bags. Extracting those bags was most of an incremental
`embed`; a summary of each bag (term counts, sentence uses, 1-2 grams) is
kept under a hash of exactly what it was computed from (the evidence texts,
weights, months and co-mentions, and the names left out), so a run
re-extracts only the entities whose inputs changed, and the corpus-wide
sums come out identical to recounting from scratch.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from linernotes.nlp.descriptors import EntityTerms, TermExtractor
from linernotes.nlp.evidence import EntityKey
from linernotes.nlp.profiles.corpus import Corpus
from linernotes.nlp.profiles.features import term_bags, text_bags
from linernotes.nlp.profiles.tag_cache import cached_content_words
from linernotes.storage import Store
from linernotes.storage.chunks import chunked
from linernotes.storage.models import EntityBag
from linernotes.storage.upsert import upsert

BAG_VERSION = "bag-v1"  # bump when term extraction changes without a salience version bump


@dataclass
class BagSummary:
    """What corpus-wide statistics need of one entity's bag: no evidence ids, no months."""

    counts: dict[str, float]  # term -> weighted count (EntityTerms.counts, same order)
    uses: dict[str, int]  # term -> evidence sentences using it
    sentences: int  # evidence sentences
    grams: dict[str, int]  # the evidence's 1-2 grams, each sentence once (text_bags)

    @classmethod
    def of(cls, bag: EntityTerms, grams: Counter[str]) -> BagSummary:
        uses = {t: len(set(ids)) for t, ids in bag.evidence.items()}
        return cls(dict(bag.counts), uses, len(bag.sentences), dict(grams))

    def as_json(self) -> dict[str, Any]:
        return {"c": self.counts, "u": self.uses, "n": self.sentences, "g": self.grams}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BagSummary:
        return cls(data["c"], data["u"], int(data["n"]), data["g"])


@dataclass
class Bags:
    """Full bags of the targets (descriptor rows need evidence ids) and summaries of all."""

    full: dict[EntityKey, EntityTerms]
    summaries: dict[EntityKey, BagSummary]
    extracted: int  # entities whose terms were extracted this run (the rest came cached)


def input_hash(key: EntityKey, corpus: Corpus, version: str = "") -> str:
    """Fingerprint of everything an entity's bag is computed from (`version`: the extractor's)."""
    evs = corpus.evidence[key]
    names = corpus.names
    co = sorted({c for ev in evs for c in ev.co})
    payload = [
        BAG_VERSION,
        version,
        names.get(f"{key[0]}:{key[1]}", []),
        [(c, names.get(c, [])) for c in co],
        [(ev.text, ev.weight, ev.month, ev.co) for ev in evs],
    ]
    return hashlib.sha1(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()


def entity_bags(
    store: Store, corpus: Corpus, extractor: TermExtractor, *, refresh: bool, version: str = ""
) -> Bags:
    """Full bags for `corpus.todo`, summaries for every entity (cached ones read back).

    `refresh` ignores the cache (`embed --full` recomputes everything from the
    evidence); `version` (the salience version) is part of every cache key.
    """
    hashes = {key: input_hash(key, corpus, version) for key in corpus.evidence}
    cached = {} if refresh else _load(store, hashes)
    need = {k for k in corpus.evidence if k in corpus.todo or k not in cached}
    sub = Corpus(
        {k: corpus.evidence[k] for k in sorted(need)},
        set(),
        set(),
        {},
        corpus.names,
        corpus.track_artist,
    )
    texts = (ev.text for evs in sub.evidence.values() for ev in evs)
    content = cached_content_words(store, texts) if sub.evidence else {}
    fresh = term_bags(sub, extractor, pos_filter=content is not None, content=content)
    grams = text_bags(sub)
    summaries = dict(cached)
    new_rows = []
    for key in need:
        summaries[key] = BagSummary.of(fresh[key], grams[key])
        if key not in cached:
            new_rows.append(
                {
                    "entity_kind": key[0],
                    "entity_id": key[1],
                    "key_hash": hashes[key],
                    "bag": summaries[key].as_json(),
                }
            )
    with store.session() as session:
        for chunk in chunked(new_rows, 1000):
            upsert(session, EntityBag, chunk, keys=["entity_kind", "entity_id"])
    ordered = {k: summaries[k] for k in corpus.evidence}  # corpus order, as a recount sees it
    full = {k: fresh[k] for k in corpus.todo if k in fresh}
    return Bags(full, ordered, len(need))


def _load(store: Store, hashes: Mapping[EntityKey, str]) -> dict[EntityKey, BagSummary]:
    """Cached summaries whose input hash still matches (one scan: most rows are wanted)."""
    out: dict[EntityKey, BagSummary] = {}
    with store.session() as session:
        rows = session.execute(
            select(EntityBag.entity_kind, EntityBag.entity_id, EntityBag.key_hash, EntityBag.bag)
        )
        for kind, eid, key_hash, bag in rows:
            if hashes.get((kind, eid)) == key_hash:
                out[(kind, eid)] = BagSummary.from_json(bag)
    return out


def document_frequencies(summaries: Mapping[EntityKey, BagSummary]) -> Counter[str]:
    """Entities per term, summed from the summaries (equal to recounting the bags)."""
    df: Counter[str] = Counter()
    for s in summaries.values():
        df.update(s.counts.keys())
    return df


def sentence_rates(summaries: Mapping[EntityKey, BagSummary]) -> dict[str, float]:
    """Per term, the share of all evidence sentences using it (`descriptors.sentence_rates`)."""
    uses: Counter[str] = Counter()
    total = 0
    for s in summaries.values():
        total += s.sentences
        uses.update(s.uses)
    return {t: c / max(1, total) for t, c in uses.items()}

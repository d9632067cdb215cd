"""Every entity's term bag summary as rows of sparse matrices over one shared vocabulary.

The corpus statistics (document frequencies, sentence shares) and the exact
sparse parts of every entity (salience, TF-IDF of 1-2 grams) are column sums
and column scalings of three entity x term matrices: weighted term counts,
sentences using each term, and 1-2 gram counts. Kept as per-entity dicts of
strings they took 3.2 GB at 10,000 pages (a new string per key per entity);
as CSR rows of term ids they take ~12 bytes a cell, and the statistics are
a few vectorised numpy operations. No database here (profiles/bags.py reads
and writes the cache).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from linernotes.nlp.descriptors import EntityTerms, SalienceConfig, TermExtractor
from linernotes.nlp.evidence import EntityKey

_HEADER = np.dtype("<i8")
_ID = np.dtype("<i4")
_COUNT = np.dtype("<f8")


@dataclass
class BagSummary:
    """What corpus-wide statistics need of one entity's bag: no evidence ids, no months."""

    counts: dict[str, float]  # term -> weighted count (EntityTerms.counts, same order)
    uses: dict[str, int]  # term -> evidence sentences using it
    sentences: int  # evidence sentences
    grams: dict[str, int]  # the evidence's 1-2 grams, each sentence once (text_bags)

    @classmethod
    def of(cls, bag: EntityTerms, grams: Mapping[str, int]) -> BagSummary:
        uses = {t: len(set(ids)) for t, ids in bag.evidence.items()}
        return cls(dict(bag.counts), uses, len(bag.sentences), dict(grams))


@dataclass
class BagRow:
    """One entity's summary as term ids (the cached form: `encode` / `decode`)."""

    sentences: int
    term_ids: np.ndarray  # int32, EntityTerms.counts order
    counts: np.ndarray  # float64
    uses: np.ndarray  # int32
    gram_ids: np.ndarray  # int32
    grams: np.ndarray  # int32

    @classmethod
    def of(cls, summary: BagSummary, vocab: dict[str, int]) -> BagRow:
        """Term ids from `vocab`, which gets any new term appended."""
        ids = [vocab.setdefault(t, len(vocab)) for t in summary.counts]
        gids = [vocab.setdefault(t, len(vocab)) for t in summary.grams]
        return cls(
            summary.sentences,
            np.asarray(ids, dtype=_ID),
            np.asarray(list(summary.counts.values()), dtype=_COUNT),
            np.asarray([summary.uses.get(t, 0) for t in summary.counts], dtype=_ID),
            np.asarray(gids, dtype=_ID),
            np.asarray(list(summary.grams.values()), dtype=_ID),
        )

    def encode(self) -> bytes:
        head = np.asarray([self.sentences, len(self.term_ids), len(self.gram_ids)], dtype=_HEADER)
        body = (
            self.term_ids.astype(_ID).tobytes()
            + self.counts.astype(_COUNT).tobytes()
            + self.uses.astype(_ID).tobytes()
            + self.gram_ids.astype(_ID).tobytes()
            + self.grams.astype(_ID).tobytes()
        )
        return head.tobytes() + body

    @classmethod
    def decode(cls, blob: bytes) -> BagRow:
        """The row `encode` wrote; a blob of the wrong size is refused (ValueError)."""
        head = np.frombuffer(blob[: 3 * _HEADER.itemsize], dtype=_HEADER)
        n, t, g = (int(x) for x in head) if len(head) == 3 else (0, -1, -1)
        layout = ((_ID, t), (_COUNT, t), (_ID, t), (_ID, g), (_ID, g))
        size = head.nbytes + sum(d.itemsize * k for d, k in layout)
        if t < 0 or g < 0 or size != len(blob):
            raise ValueError(f"entity bag blob of {len(blob)} bytes, its header says {size}")
        arrays = []
        offset = head.nbytes
        for dtype, count in layout:
            arrays.append(np.frombuffer(blob, dtype=dtype, count=count, offset=offset))
            offset += dtype.itemsize * count
        return cls(n, *arrays)


@dataclass
class BagTable:
    """All entities' summaries: row i is keys[i]; columns are term ids into `terms`."""

    keys: list[EntityKey]
    terms: Sequence[str]
    counts: Any  # CSR float64, weighted term counts
    uses: Any  # CSR int32, same structure: sentences using each term
    grams: Any  # CSR int32, 1-2 gram counts
    sentences: np.ndarray  # evidence sentences per row

    @classmethod
    def stack(cls, keys: list[EntityKey], rows: Sequence[BagRow], terms: Sequence[str]) -> BagTable:
        width = max(1, len(terms))
        return cls(
            keys,
            terms,
            _csr([r.term_ids for r in rows], [r.counts for r in rows], width, np.float64),
            _csr([r.term_ids for r in rows], [r.uses for r in rows], width, np.int32),
            _csr([r.gram_ids for r in rows], [r.grams for r in rows], width, np.int32),
            np.asarray([r.sentences for r in rows], dtype=np.int64),
        )

    def document_frequencies(self) -> np.ndarray:
        """Entities per term (column), over the descriptor terms (`uses` >= 1 wherever counted)."""
        return np.bincount(self.uses.indices, minlength=self.uses.shape[1])

    def df_counter(self, df: np.ndarray) -> Counter[str]:
        return Counter({self.terms[c]: int(df[c]) for c in np.flatnonzero(df).tolist()})

    def sentence_rates(self) -> dict[str, float]:
        """Per term, the share of all evidence sentences using it (`descriptors.sentence_rates`)."""
        used = np.bincount(self.uses.indices, weights=self.uses.data, minlength=self.uses.shape[1])
        total = max(1, int(self.sentences.sum()))
        cols = np.flatnonzero(np.bincount(self.uses.indices, minlength=self.uses.shape[1])).tolist()
        return {self.terms[c]: float(used[c]) / total for c in cols}

    def summary(self, row: int, grams: bool = True) -> BagSummary:
        """One entity's summary as dicts (for the few entities that need them; `grams`: fill
        in the 1-2 grams too, the largest part)."""
        lo, hi = self.counts.indptr[row], self.counts.indptr[row + 1]
        glo, ghi = self.grams.indptr[row], self.grams.indptr[row + 1]
        terms = [self.terms[c] for c in self.counts.indices[lo:hi].tolist()]
        return BagSummary(
            dict(zip(terms, self.counts.data[lo:hi].tolist(), strict=True)),
            dict(zip(terms, self.uses.data[lo:hi].tolist(), strict=True)),
            int(self.sentences[row]),
            {}
            if not grams
            else {
                self.terms[c]: v
                for c, v in zip(
                    self.grams.indices[glo:ghi].tolist(),
                    self.grams.data[glo:ghi].tolist(),
                    strict=True,
                )
            },
        )


class SummaryView(Mapping[EntityKey, BagSummary]):
    """The table read as key -> BagSummary, each built on demand (nothing kept).

    With `grams=False` the summaries leave their 1-2 grams empty (inferred terms
    need only the term uses).
    """

    def __init__(self, table: BagTable, grams: bool = True) -> None:
        self.table = table
        self.grams = grams
        self.index = {k: i for i, k in enumerate(table.keys)}

    def __getitem__(self, key: EntityKey) -> BagSummary:
        return self.table.summary(self.index[key], self.grams)

    def __contains__(self, key: object) -> bool:
        return key in self.index

    def __iter__(self) -> Iterator[EntityKey]:
        return iter(self.table.keys)

    def __len__(self) -> int:
        return len(self.table.keys)


def _csr(ids: Sequence[np.ndarray], values: Sequence[np.ndarray], width: int, dtype: Any) -> Any:
    """Rows given as (column ids, values), in their given order (no sorting, no summing)."""
    indptr = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum([len(i) for i in ids], out=indptr[1:])
    indices = np.concatenate(ids).astype(np.int32) if ids else np.zeros(0, np.int32)
    data = np.concatenate(values).astype(dtype) if values else np.zeros(0, dtype)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(ids), width))


def salience_matrix(
    table: BagTable, df: np.ndarray, config: SalienceConfig, extractor: TermExtractor
) -> Any:
    """`descriptors.salience` of every row at once (terms with a count <= 0 left out)."""
    n = len(table.keys)
    counts = table.counts
    cols = np.flatnonzero(df)
    boost = np.ones(counts.shape[1])
    vocab = [c for c in cols.tolist() if extractor.is_vocab(table.terms[c])]
    boost[vocab] = config.vocab_boost
    d = np.maximum(1, df).astype(np.float64)
    rows = np.repeat(np.arange(n), np.diff(counts.indptr))
    tf = counts.data
    if config.scheme == "whitman":
        z = (np.log(d / max(1, n)) - config.whitman_mu) / config.whitman_sigma
        total = np.asarray(counts.sum(axis=1)).ravel()
        total[total == 0] = 1.0
        col_factor = np.exp(-0.5 * z * z) * 100.0 * boost
        values = tf / total[rows] * col_factor[counts.indices]
    else:
        idf = np.log((1 + n) / (1 + d)) + 1.0
        with np.errstate(divide="ignore"):
            values = (1.0 + np.log(np.maximum(tf, 1e-300))) * (idf * boost)[counts.indices]
    keep = tf > 0
    out = sparse.csr_matrix(
        (
            values[keep],
            counts.indices[keep],
            np.r_[0, np.cumsum(np.bincount(rows[keep], minlength=n))],
        ),
        shape=counts.shape,
    )
    return out


def tfidf_matrix(grams: Any) -> Any:
    """Smoothed-idf TF-IDF of count rows, df over the rows given (as `features.tfidf`)."""
    n = grams.shape[0]
    df = np.bincount(grams.indices, minlength=grams.shape[1])
    idf = 1.0 + np.log((1 + n) / (1 + np.maximum(df, 0)))
    out = grams.astype(np.float64)
    out.data = out.data * idf[out.indices]
    return out


def dicts_to_csr(
    keys: Sequence[EntityKey], rows: Mapping[EntityKey, Mapping[str, float]]
) -> tuple[Any, list[str]]:
    """Per-key weight dicts as one CSR matrix and its column names (first-seen order)."""
    vocab: dict[str, int] = {}
    ids, values = [], []
    for key in keys:
        weights = rows.get(key, {})
        ids.append(np.asarray([vocab.setdefault(t, len(vocab)) for t in weights], dtype=np.int32))
        values.append(np.fromiter(weights.values(), dtype=np.float64, count=len(weights)))
    return _csr(ids, values, max(1, len(vocab)), np.float64), list(vocab)


def row_dict(matrix: Any, row: int, columns: Sequence[str]) -> dict[str, float]:
    """One CSR row as column name -> value (stored order)."""
    lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
    return {
        columns[c]: float(v) for c, v in zip(matrix.indices[lo:hi], matrix.data[lo:hi], strict=True)
    }

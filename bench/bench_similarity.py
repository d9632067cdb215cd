"""Similarity end to end on both development sets, artists and tracks, in one run.

Runs the whole pipeline as a user would (`catalog import`, `crawl`,
`extract`, `embed` in child processes) on two local web sites built by the
shared harness and served on 127.0.0.1 with the crawl delay set to 0:

  sas_mirex     262 artist biographies (`bios_site.py`), neighbours scored
                against the MIREX listener gold: P@10 = hits / min(10, gold
                length), as `linernotes eval similarity`; strict hits / 10 too.
  wikimt_songs  505 songs, one encyclopedia paragraph each, genre words removed
                (`songs_site.py`), neighbours scored by genre: the share of a
                song's 10 neighbours of its genre (`genre_neighbors_score.py`'s
                rule; a song without neighbours scores 0).

Baseline on each set, same run: plain scikit-learn TF-IDF (1-2 grams,
English stop words) over the raw texts. Reported: the default combination,
every part alone (z-scored, no walk), and the cross-set figure the default
is chosen on: the mean of the two ratios to the raw-text baselines. Needs
../shared; without it the benchmark reports that it was skipped.
"""

from __future__ import annotations

import functools
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAS = SHARED / "data" / "similarity" / "sas_mirex"
SONGS = SHARED / "data" / "similarity" / "wikimt_songs"
K = 10
DENSE_PARTS = ("minilm-vocab", "minilm-mean", "era", "genre-family", "w2v-terms")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(db: str, *args: str) -> float:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "linernotes", "--db", db, *args]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=1800)
    return time.perf_counter() - started


@dataclass
class Scored:
    value: float  # the set's P@10
    strict: float | None  # hits / 10 where the metric differs (sas_mirex)
    covered: int  # entities of the set with neighbours
    total: int


@dataclass
class DevSet:
    """One development set: how to build its site, what to score, its raw texts."""

    name: str
    kind: str
    site_args: Callable[[Path, int], list[str]]
    score: Callable[[Mapping[str, Sequence[str]]], Scored]
    raw_texts: Callable[[], dict[str, str]]
    # rows scored on the pipeline's SQLite file beyond neighbours (sas_mirex: descriptor tags)
    extra: Callable[[Path], list[dict[str, Any]]] | None = None


def _sas() -> DevSet:
    from linernotes.nlp.neighbour_metrics import evaluate, read_neighbor_tsv

    gold = read_neighbor_tsv((SAS / "mirex_gold.txt").read_text())

    def score(found: Mapping[str, Sequence[str]]) -> Scored:
        r = evaluate(found, gold, K)
        return Scored(r.p_at_k, r.strict_p_at_k, r.evaluated, r.gold_entities)

    def raw() -> dict[str, str]:
        link = re.compile(r"\[([^\]]+)\]\([^)]+\)")
        return {i: link.sub(r"\1", (SAS / "biographies" / f"{i}.txt").read_text()) for i in gold}

    def site(out: Path, port: int) -> list[str]:
        return [
            str(SHARED / "bench" / "bios_site.py"),
            str(SAS / "biographies"),
            str(SAS / "mb2uri_mirex.txt"),
            str(out),
            str(port),
        ]

    return DevSet("sas_mirex", "artist", site, score, raw, descriptor_tags)


_TAGS_LINE = re.compile(r"recall@(\d+) ([\d.]+)\s+precision@\d+ ([\d.]+)\s+MAP ([\d.]+)")


def descriptor_tags(db_file: Path) -> list[dict[str, Any]]:
    """The shared runner `descriptor_tags_eval.py` on this run's database: recall@20 and MAP of
    listeners' tags among each artist's top 20 terms, its raw-page TF-IDF baseline beside."""
    script = SHARED / "bench" / "descriptor_tags_eval.py"
    if not script.exists():
        return []
    names, pages = SAS / "mb2uri_mirex.txt", SAS / "biographies"
    cmd = [sys.executable, str(script), str(db_file), str(names), "--pages", str(pages)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=1800).stdout
    found = {
        line.split(":")[0]: _TAGS_LINE.search(line) for line in out.splitlines() if "MAP" in line
    }
    ours, base = found.get("descriptors"), found.get("baseline TF-IDF 1-3 grams of the raw pages")
    if ours is None or base is None:
        raise RuntimeError(f"descriptor_tags_eval.py printed no scores: {out[-300:]}")
    note = "listeners' Genius tags; raw-page TF-IDF 1-3 grams as baseline (shared runner)"
    k = ours.group(1)
    return [
        _row(
            "sas_mirex",
            f"descriptor tags recall@{k}",
            float(ours.group(2)),
            float(base.group(2)),
            note,
        ),
        _row("sas_mirex", "descriptor tags MAP", float(ours.group(4)), float(base.group(4)), note),
    ]


def _songs() -> DevSet:
    genre: dict[str, str] = {}
    for line in (SONGS / "genres.tsv").read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            song, label = line.split("\t")[:2]
            genre[song] = label

    def score(found: Mapping[str, Sequence[str]]) -> Scored:
        shares = []
        for song, label in genre.items():
            near = [n for n in found.get(song, []) if n in genre][:K]
            shares.append(sum(genre[n] == label for n in near) / K)
        covered = sum(1 for song in genre if found.get(song))
        return Scored(sum(shares) / len(shares), None, covered, len(genre))

    def raw() -> dict[str, str]:
        rows = [json.loads(x) for x in (SONGS / "songs.jsonl").read_text().splitlines() if x]
        return {r["id"]: r["text"] for r in rows if r["id"] in genre}

    def site(out: Path, port: int) -> list[str]:
        return [
            str(SHARED / "bench" / "songs_site.py"),
            str(SONGS / "songs.jsonl"),
            str(out),
            str(port),
        ]

    return DevSet("wikimt_songs", "track", site, score, raw)


def _pipeline(tmp: Path, dev: DevSet) -> tuple[str, dict[str, float]]:
    port = _free_port()
    site = tmp / "site"
    subprocess.run([sys.executable, *dev.site_args(site, port)], check=True, capture_output=True)
    sources = tmp / "sources.toml"
    sources.write_text("[crawler]\ndelay = 0\n\n" + (site / "sources.toml").read_text())
    handler = functools.partial(_Quiet, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    db = f"sqlite:///{tmp / 'eval.db'}"
    try:
        seconds = {
            "catalog import": _cli(db, "catalog", "import", str(site / "catalog.csv")),
            "crawl": _cli(db, "crawl", "--sources", str(sources)),
            "extract": _cli(db, "extract"),
            "embed": _cli(db, "embed"),
        }
    finally:
        server.shutdown()
        server.server_close()
    return db, seconds


def _top(found: Mapping[str, list[tuple[str, float]]]) -> dict[str, list[str]]:
    return {e: [n for n, _ in nbrs] for e, nbrs in found.items()}


def raw_tfidf_neighbors(texts: Mapping[str, str]) -> dict[str, list[str]]:
    """The baseline: scikit-learn TF-IDF 1-2 grams over the raw texts, cosine top K."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from linernotes.nlp.similarity import knn_combined

    ids = sorted(texts)
    matrix = TfidfVectorizer(ngram_range=(1, 2), stop_words="english").fit_transform(
        [texts[i] for i in ids]
    )
    return _top(knn_combined(ids, [(1.0, matrix)], K))


def _parts_alone(store: Any, kind: str) -> dict[str, dict[str, list[str]]]:
    """Neighbours by each part alone, through the stage's own neighbour code."""
    from linernotes.nlp.profiles import DEFAULT_COMBINATION, load_matrix
    from linernotes.nlp.profiles.config import SPARSE_PARTS
    from linernotes.nlp.profiles.neighbours import combined_neighbors
    from linernotes.nlp.profiles.stage import stored_sparse_parts
    from linernotes.nlp.similarity import Combination

    ids, _ = load_matrix(store, kind)
    sparse = stored_sparse_parts(store).of_kind(kind)
    out = {}
    for part in (*SPARSE_PARTS, *DENSE_PARTS):
        alone = Combination(((part, 1.0),), standardise=True)
        out[part] = _top(combined_neighbors(store, kind, ids, K, alone, sparse)[0])
    walked = Combination(DEFAULT_COMBINATION.weights, standardise=True, walk=0.0)
    out["default without the walk:"] = _top(
        combined_neighbors(store, kind, ids, K, walked, sparse)[0]
    )
    return out


def _row(dev: str, metric: str, value: float, baseline: float | None, notes: str) -> dict:
    return {
        "bench": f"similarity {dev}",
        "metric": metric,
        "value": round(value, 4),
        "unit": f"P@{K}" if "P@" in metric else ("s" if "seconds" in metric else ""),
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": None if not baseline else round(value / baseline, 3),
        "notes": notes,
    }


def run_set(dev: DevSet) -> tuple[list[dict[str, Any]], float]:
    """The rows of one set, and its ratio default / raw-text baseline."""
    from linernotes.commands.profiles import export_table
    from linernotes.storage import open_store

    base = dev.score(raw_tfidf_neighbors(dev.raw_texts()))
    note = "raw-text TF-IDF 1-2 grams (scikit-learn) as baseline"
    with tempfile.TemporaryDirectory() as tmpdir:
        db, seconds = _pipeline(Path(tmpdir), dev)
        store = open_store(db)
        try:
            ours = dev.score(export_table(store, dev.kind, K))
            alone = {
                part: dev.score(found) for part, found in _parts_alone(store, dev.kind).items()
            }
        finally:
            store.close()
        extra = dev.extra(Path(tmpdir) / "eval.db") if dev.extra else []
    rows = [
        _row(dev.name, f"P@{K} default", ours.value, base.value, note),
        _row(
            dev.name,
            f"{dev.kind}s with neighbours",
            ours.covered,
            None,
            f"of {ours.total} in the set",
        ),
    ]
    if ours.strict is not None:
        rows.append(_row(dev.name, f"strict P@{K} (hits/{K})", ours.strict, base.strict, note))
    for part, scored in alone.items():
        label = part[:-1] if part.endswith(":") else f"{part} alone"
        rows.append(_row(dev.name, f"P@{K} {label}", scored.value, base.value, "z-scored"))
    rows += extra
    stages = ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())
    rows.append(
        _row(dev.name, "pipeline seconds", sum(seconds.values()), None, f"{stages}; delay 0")
    )
    return rows, ours.value / base.value


def run(quick: bool = False) -> list[dict[str, Any]]:
    needed = (SAS / "biographies", SONGS / "songs.jsonl", SHARED / "bench" / "songs_site.py")
    if not all(p.exists() for p in needed):
        return [{"bench": "similarity", "metric": "skipped", "notes": "../shared not present"}]
    if quick:
        return [{"bench": "similarity", "metric": "skipped", "notes": "full pipeline: not quick"}]
    sys.path.insert(0, str(REPO))
    rows: list[dict[str, Any]] = []
    ratios = []
    for dev in (_sas(), _songs()):
        set_rows, ratio = run_set(dev)
        rows += set_rows
        ratios.append(ratio)
    rows.append(
        _row(
            "both sets",
            "mean ratio to raw-text baselines",
            sum(ratios) / len(ratios),
            None,
            "what the default combination is chosen on (docs/similarity.md)",
        )
    )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))

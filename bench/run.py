"""Run every benchmark module and write bench/results.md and bench/results.json.

Each `bench/bench_<name>.py` exposes `run(quick: bool = False) -> list[dict]`
with rows {bench, metric, value, unit, baseline, ratio, notes}. Ratios, not
absolute numbers, are the figures to compare across machines: the baseline
is the plain library call measured on the same input in the same run.
A module that fails is reported as a failed row; the others still run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COLUMNS = ("bench", "metric", "value", "unit", "baseline", "ratio", "notes")


def discover(selected: list[str] | None) -> list[str]:
    """Module names of the benchmarks, optionally filtered by name."""
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    return names


def run_module(name: str, quick: bool) -> list[dict[str, Any]]:
    """Run one benchmark module; a crash becomes a single 'failed' row."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        rows = list(module.run(quick=quick))
    except Exception as exc:  # a broken benchmark must not hide the others
        traceback.print_exc()
        rows = [{"bench": name, "metric": "failed", "notes": f"{type(exc).__name__}: {exc}"}]
    for row in rows:
        row.setdefault("seconds", round(time.perf_counter() - started, 1))
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value).replace("|", "\\|")


def to_markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The results table, with the machine it ran on."""
    lines = [
        "# Benchmark results",
        "",
        f"Run {meta['when']} on {meta['machine']} ({meta['cpus']} CPUs), python {meta['python']}.",
        "Ratio = linernotes / plain library call on the same input in the same run.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="run only benchmarks whose name contains these")
    parser.add_argument("--quick", action="store_true", help="smaller inputs (smoke run)")
    args = parser.parse_args(argv)
    import os

    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "quick": args.quick,
    }
    rows: list[dict[str, Any]] = []
    for name in discover(args.only):
        print(f"== {name}", file=sys.stderr, flush=True)
        rows += run_module(name, args.quick)
    (HERE / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (HERE / "results.md").write_text(to_markdown(rows, meta))
    print(to_markdown(rows, meta))
    return 1 if any(r.get("metric") == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

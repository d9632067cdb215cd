"""Operations commands: `status` and `schedule` (the pages are in `pages.py`).

`schedule` runs each source's crawl as its own `linernotes run` subprocess, so
a crash, a memory leak or a hung fetch in one crawl cannot take the scheduler
or another source's crawl down with it.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from linernotes.context import app
from linernotes.errors import UserFacingError
from linernotes.storage import Store

log = logging.getLogger("linernotes.schedule")

DEFAULT_CRON = "0 */6 * * *"
Runner = Callable[[list[str]], int]


# ---------------------------------------------------------------- status


def _when(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)[:16]


def _counts(value: Any, prefix: str = "") -> list[str]:
    """Non-zero counts of a nested stats dict as `a.b=n` pairs (zeros are noise)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _counts(v, f"{prefix}{k}.")]
    if isinstance(value, list) or value in (0, None, "", {}):
        return []
    return [f"{prefix.rstrip('.')}={value}"]


def _stats_line(stats: Any) -> str:
    """One line per run: per-source counts first, then the run-wide ones."""
    if not isinstance(stats, dict):
        return str(stats or "")
    parts = []
    for name, counts in (stats.get("sources") or {}).items():
        parts.append(f"{name}: {' '.join(_counts(counts)) or 'nothing'}")
    for key, value in stats.items():
        if key == "sources":
            continue
        if isinstance(value, dict):
            parts.append(f"{key}: {' '.join(_counts(value)) or 'none'}")
        else:
            parts.extend(_counts(value, f"{key}."))
    return "  ".join(parts)


def format_status(info: dict[str, Any]) -> str:
    """The human-readable status report."""
    lines = [f"sources: {len(info['sources'])}"]
    for src in info["sources"]:
        lines.append(
            f"  {src['name']}: {src['documents']} documents, "
            f"last fetched {_when(src['last_fetched'])}"
        )
    lines.append(f"last crawl runs: {len(info['crawl_runs'])}")
    for run in info["crawl_runs"]:
        names = ",".join(map(str, run["sources"] or [])) or "-"
        lines.append(
            f"  #{run['id']} {run['status']} {_when(run['started_at'])} -> "
            f"{_when(run['finished_at'])} [{names}] {_stats_line(run['stats'])}".rstrip()
        )
    docs = info["documents"]
    lines.append(
        f"corpus: {docs['stored']} documents stored, {docs['skipped']} skipped, "
        f"{docs['duplicates']} duplicates"
    )
    lines.append(f"mentions: {info['mentions']} ({info['unlinked_mentions']} unlinked)")
    kinds = ", ".join(f"{n} {kind}s" for kind, n in sorted(info["profiles"].items()))
    lines.append(f"entities with profiles: {kinds or 'none'}")
    vecs = ", ".join(f"{n} {kind}s" for kind, n in sorted(info["vectors"].items()))
    lines.append(f"entities with vectors: {vecs or 'none'}")
    lines.append(f"stale profiles (run `linernotes embed`): {info['stale_profiles']}")
    lines.append(
        f"unextracted documents (run `linernotes extract`): {info['unextracted_documents']}"
    )
    return "\n".join(lines)


@click.command("status")
@click.option("--runs", default=5, show_default=True, help="How many recent crawl runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_command(runs: int, as_json: bool) -> None:
    """Sources, recent crawl runs, corpus size, profiles, and the work still pending."""
    info = app(click.get_current_context()).api().status_info(runs)
    if as_json:
        click.echo(json.dumps(info, default=str, indent=1))
    else:
        click.echo(format_status(info))


# ---------------------------------------------------------------- schedule


def load_schedules(path: Path, default_cron: str) -> dict[str, str]:
    """Source name -> cron expression, from the sources file (`schedule` key per source)."""
    from linernotes.crawler.sources import (
        read_sources_text,  # names the file and line of a bad byte
    )

    try:
        config = tomllib.loads(read_sources_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise UserFacingError(f"cannot read sources file {path}: {exc}") from None
    found: dict[str, str] = {}
    for index, source in enumerate(config.get("source", []), start=1):
        name = source.get("name") if isinstance(source, dict) else None
        if not name:
            raise UserFacingError(f"{path}: source #{index} has no name")
        found[str(name)] = str(source.get("schedule") or default_cron)
    if not found:
        raise UserFacingError(f"{path}: no [[source]] entries")
    return found


def subprocess_runner(command: list[str]) -> int:
    """Run one crawl in its own process; its output goes to ours."""
    return subprocess.run(command, check=False).returncode


def record_failure(store: Store, source: str, detail: dict[str, Any]) -> None:
    """A failed scheduled run leaves a 'failed' crawl_runs row, so `status` shows it."""
    now = datetime.now(UTC)
    from linernotes.storage.models import CrawlRun

    with store.session() as session:
        session.add(
            CrawlRun(
                sources=[source],
                started_at=detail.pop("started_at", now),
                finished_at=now,
                status="failed",
                stats={"scheduled": True, **detail},
            )
        )


class SourceJob:
    """The job for one source: run the crawl subprocess, log and record failures."""

    def __init__(self, store: Store, sources_file: Path, source: str, runner: Runner) -> None:
        self.store, self.sources_file, self.source, self.runner = (
            store,
            sources_file,
            source,
            runner,
        )

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "linernotes", "--db", self.store.url,
            "run", "--sources", str(self.sources_file), "--source", self.source,
        ]  # fmt: skip

    def __call__(self) -> bool:
        started = datetime.now(UTC)
        log.info("starting scheduled run of %s", self.source)
        try:
            code = self.runner(self.command())
            error = None if code == 0 else f"exit code {code}"
        except Exception as exc:  # the scheduler must outlive any one crawl
            code, error = -1, f"{type(exc).__name__}: {exc}"
        if error is None:
            log.info("scheduled run of %s finished", self.source)
            return True
        log.error("scheduled run of %s failed: %s", self.source, error)
        try:
            record_failure(
                self.store,
                self.source,
                {"started_at": started, "returncode": code, "error": error},
            )
        except Exception:
            log.exception("could not record the failure of %s", self.source)
        return False


def build_scheduler(
    store: Store, sources_file: Path, schedules: dict[str, str], runner: Runner
) -> Any:
    """A BlockingScheduler with one cron job per source, never two runs of a source at once."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler = BlockingScheduler(timezone=UTC)
    for name, cron in schedules.items():
        try:
            trigger = CronTrigger.from_crontab(cron, timezone=UTC)
        except ValueError as exc:
            raise UserFacingError(f"source {name}: bad cron expression {cron!r}: {exc}") from None
        scheduler.add_job(
            SourceJob(store, sources_file, name, runner),
            trigger,
            id=name,
            name=f"crawl {name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
    return scheduler


def next_runs(scheduler: Any) -> list[tuple[str, str, datetime | None]]:
    """(job id, cron, next fire time) for every job, computed from its trigger."""
    now = datetime.now(UTC)
    return [
        (job.id, str(job.trigger), job.trigger.get_next_fire_time(None, now))
        for job in scheduler.get_jobs()
    ]


@click.command("schedule")
@click.option(
    "--sources", "sources_file", required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--default-cron",
    default=DEFAULT_CRON,
    show_default=True,
    help="Cron expression for sources without a `schedule` key.",
)
@click.option("--once", is_flag=True, help="Run every source's job once now, then exit.")
def schedule_command(sources_file: Path, default_cron: str, once: bool) -> None:
    """Crawl each source on its cron schedule (`schedule = "0 */6 * * *"` in the sources file).

    Each run is `linernotes run --sources FILE --source NAME` in its own process.
    """
    store = app(click.get_current_context()).store()
    schedules = load_schedules(sources_file, default_cron)
    scheduler = build_scheduler(store, sources_file.resolve(), schedules, RUNNER[0])
    for name, _trigger, when in next_runs(scheduler):
        shown = when.strftime("%Y-%m-%d %H:%M UTC") if when else "never"
        click.echo(f"{name}: '{schedules[name]}' next run {shown}")
    if once:
        failed = [job.id for job in scheduler.get_jobs() if not job.func()]
        if failed:
            raise UserFacingError(f"scheduled runs failed: {', '.join(failed)}")
        return
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)


# The runner `schedule` uses; tests swap in a fake so no real crawl is started.
RUNNER: list[Runner] = [subprocess_runner]


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `status` and `schedule` (the pages' commands are in `pages.py`)."""
    cli.add_command(status_command)
    cli.add_command(schedule_command)

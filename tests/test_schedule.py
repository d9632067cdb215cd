"""`linernotes schedule`: cron per source, one subprocess per run, failures recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from linernotes.cli import main
from linernotes.commands import ops
from linernotes.crawler.sources import SourceConfigError
from linernotes.storage import Store

SOURCES = """
[[source]]
name = "good-blog"
start_urls = ["https://good.example/"]
schedule = "15 3 * * *"

[[source]]
name = "bad-blog"
start_urls = ["https://bad.example/"]
"""


@pytest.fixture
def sources_file(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    return path


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Swap the subprocess runner for a fake: bad-blog fails, good-blog succeeds."""
    seen: list[list[str]] = []

    def fake(command: list[str]) -> int:
        seen.append(command)
        return 1 if command[-1] == "bad-blog" else 0

    monkeypatch.setattr(ops, "RUNNER", [fake])
    return seen


def test_once_runs_each_source_in_its_own_command(
    sqlite_store: Store, sources_file: Path, calls: list[list[str]]
) -> None:
    args = ["--db", sqlite_store.url, "schedule", "--sources", str(sources_file), "--once",
            "--default-cron", "*/30 * * * *"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "good-blog: '15 3 * * *' next run" in result.stdout
    assert "bad-blog: '*/30 * * * *' next run" in result.stdout
    assert result.stderr.splitlines()[-1] == "error: scheduled runs failed: bad-blog"
    assert "scheduled run of bad-blog failed: exit code 1" in result.stderr  # logged
    assert sorted(c[-1] for c in calls) == ["bad-blog", "good-blog"]
    good = next(c for c in calls if c[-1] == "good-blog")
    run_args = ["run", "--sources", str(sources_file.resolve()), "--source", "good-blog"]
    assert good[1:] == ["-m", "linernotes", "--db", sqlite_store.url, *run_args]
    with sqlite_store.engine.connect() as conn:
        failed = conn.execute(text("SELECT status, sources, stats FROM crawl_runs")).all()
    assert len(failed) == 1
    assert failed[0].status == "failed"
    assert '"bad-blog"' in failed[0].sources and '"returncode": 1' in failed[0].stats


def test_jobs_never_overlap_and_survive_a_crashing_runner(
    sqlite_store: Store, sources_file: Path
) -> None:
    def crash(command: list[str]) -> int:
        raise OSError("no such interpreter")

    schedules = ops.load_schedules(sources_file, ops.DEFAULT_CRON)
    assert schedules == {"good-blog": "15 3 * * *", "bad-blog": ops.DEFAULT_CRON}
    scheduler = ops.build_scheduler(sqlite_store, sources_file, schedules, crash)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"good-blog", "bad-blog"}
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
    when = dict((name, nxt) for name, _, nxt in ops.next_runs(scheduler))
    assert when["good-blog"] is not None and (when["good-blog"].hour, when["good-blog"].minute) == (
        3,
        15,
    )
    assert jobs["good-blog"].func() is False  # logged and recorded, not raised
    with sqlite_store.engine.connect() as conn:
        stats = conn.execute(text("SELECT stats FROM crawl_runs")).scalar_one()
    assert "OSError: no such interpreter" in stats


def test_bad_cron_is_one_readable_line(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[source]]\nname = "x"\nschedule = "every day"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--db", sqlite_store.url, "schedule", "--sources",
                                       str(path), "--once"])  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("error: source x: bad cron expression 'every day'")


def test_schedule_names_a_latin1_sources_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(b'[[source]]\nname = "caf\xe9"\nfeeds = ["https://x.org/f"]\n')
    with pytest.raises(SourceConfigError, match=r"s\.toml: line 2: not UTF-8"):
        ops.load_schedules(path, ops.DEFAULT_CRON)

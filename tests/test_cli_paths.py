"""The README path's rough edges: summaries as JSON, hints after an empty or refused
crawl, errors that name the path, and `report --all` as a static site."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from linernotes.cli import main
from linernotes.commands.pipeline import crawl_hint
from linernotes.crawler.summary import CrawlSummary
from linernotes.storage import Store
from linernotes.storage.models import Document
from tests.conftest import REPO
from tests.test_views import _insert, seed


def _summary(**stats: Any) -> CrawlSummary:
    return CrawlSummary(run_id=1, status="finished", sources={"blog": stats})


def test_the_summary_says_how_many_stored_pages_took_over_a_copy() -> None:
    plain = _summary(fetched=3, stored=3).format()
    assert "took over" not in plain
    text = _summary(fetched=3, stored=3, near_duplicate=0, took_over=1).format()
    assert "stored 3 new" in text
    assert "earlier publications: 1 stored page took over the copy" in text
    many = _summary(fetched=9, stored=9, took_over=4).format()
    assert "earlier publications: 4 stored pages took over the copy" in many


def test_a_fully_refused_crawl_points_at_allow_private_addresses() -> None:
    hint = crawl_hint(_summary(fetched=0, stored=0, errors={"private_address": 3}))
    assert hint is not None and "allow_private_addresses = true" in hint
    assert crawl_hint(_summary(fetched=2, stored=2, errors={})) is None
    other = crawl_hint(_summary(fetched=0, errors={"dns": 1}))
    assert other is not None and "dns 1" in other


def test_run_without_a_catalogue_says_to_import_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import linernotes.crawler.runner  # noqa: F401
    from linernotes import crawler

    refused = _summary(fetched=0, stored=0, errors={"private_address": 1})
    monkeypatch.setattr(crawler.runner, "crawl_sources", lambda *a, **k: refused)
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "blog"\nstart_urls = ["http://127.0.0.1/"]\n')
    db = f"sqlite:///{tmp_path / 'new.db'}"
    result = CliRunner().invoke(main, ["run", "--db", db, "--sources", str(sources)])
    assert result.exit_code == 1
    assert "allow_private_addresses" in result.stderr
    assert "the catalogue is empty" in result.stderr and "catalog import" in result.stderr
    assert "extract:" not in result.stdout  # nothing was extracted against no catalogue


def test_summaries_as_json(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    args = ["--db", db, "catalog", "import", str(REPO / "demo" / "catalog.csv"), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert isinstance(summary, dict) and summary  # the ImportSummary's fields


def test_a_database_in_a_missing_folder_is_named(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "x.db"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{target}", "catalog", "import", "x"])
    assert result.exit_code == 1
    assert f"folder {target.parent} does not exist" in result.stderr


def test_report_all_writes_a_linked_static_site(sqlite_store: Store, tmp_path: Path) -> None:
    seed(sqlite_store)
    out = tmp_path / "site"
    result = CliRunner().invoke(
        main, ["--db", sqlite_store.url, "report", "--all", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    index = (out / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="((?:artist|track|album)/[^"]+)"', index))
    assert len(links) == 5  # every profiled entity of the fixture, charts link only those
    for link in links:
        assert (out / link).is_file()
    for page_file in out.glob("*/*.html"):  # no link inside the site is broken
        for href in re.findall(r'href="(\.\./[^"]+)"', page_file.read_text(encoding="utf-8")):
            assert (page_file.parent / href).resolve().is_file(), (page_file, href)
    alison = next(out / link for link in links if "alison" in link)
    page = alison.read_text(encoding="utf-8")
    neighbour = re.search(r'class="neighbor" href="(\.\./track/[^"]+)">Heaven or Las Vegas', page)
    assert neighbour is not None and (alison.parent / neighbour.group(1)).resolve().is_file()
    assert 'href="/' not in page


def test_crawl_progress_line_on_a_terminal(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    import linernotes.crawl_progress as progress

    monkeypatch.setattr(progress, "progress_enabled", lambda: True)
    seen = []
    seed(sqlite_store)  # fetched before the crawl: not counted
    with progress.crawl_progress(sqlite_store, interval=0.05):
        with sqlite_store.engine.begin() as conn:
            _insert(conn, {}, Document(id=9, url="https://x.example/a", canonical_url="c9",
                                       status="stored", fetched_at=datetime.now(UTC),
                                       metadata_json={}))  # fmt: skip
        for _ in range(100):
            time.sleep(0.05)
            seen.append(capsys.readouterr().err)
            if "1 pages stored" in "".join(seen):
                break
    err = "".join(seen) + capsys.readouterr().err
    assert "one request per second per host" in err
    assert "1 pages stored" in err


def test_no_progress_line_off_a_terminal(
    sqlite_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    from linernotes.crawl_progress import crawl_progress

    with crawl_progress(sqlite_store, interval=0.01):
        pass
    assert capsys.readouterr().err == ""


def test_a_reading_command_upgrades_an_old_schema_but_creates_nothing(tmp_path: Path) -> None:
    """CONTRACT: any command upgrades the schema as needed; a reader still never creates a file."""
    from sqlalchemy import text as sql_text

    from linernotes.storage import open_store

    db = tmp_path / "old.db"
    store = open_store(f"sqlite:///{db}")
    with store.engine.begin() as conn:  # the schema as it was three revisions ago
        conn.execute(sql_text("DROP VIEW trending"))
        for view in ("track_descriptors", "artist_descriptors", "descriptor_entities"):
            conn.execute(sql_text(f"DROP VIEW {view}"))
        conn.execute(sql_text("ALTER TABLE descriptors DROP COLUMN source"))
        conn.execute(sql_text("DROP TABLE sentence_tags"))
        conn.execute(sql_text("DROP TABLE entity_bags"))
        conn.execute(sql_text("DROP TABLE bag_terms"))
        conn.execute(sql_text("DROP TABLE extract_blocks"))
        conn.execute(sql_text("UPDATE alembic_version SET version_num = '0004_mention_candidates'"))
    store.close()
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "sql", "SELECT 1 AS one"])
    assert result.exit_code == 0, result.stderr
    store = open_store(f"sqlite:///{db}", upgrade=False)
    with store.engine.connect() as conn:
        assert conn.execute(sql_text("SELECT version_num FROM alembic_version")).scalar() == (
            "0009_extract_blocks"
        )
        assert conn.execute(sql_text("SELECT count(*) FROM trending")).scalar() == 0
        assert conn.execute(sql_text("SELECT count(source) FROM artist_descriptors")).scalar() == 0
        assert conn.execute(sql_text("SELECT count(*) FROM entity_bags")).scalar() == 0
    store.close()
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{missing}", "similar", "--track", "x"])
    assert result.exit_code == 1 and not missing.exists()

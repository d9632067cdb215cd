"""The Python API: read-only opening, one name resolution, DataFrames on both backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import text

import linernotes
from linernotes.api import Linernotes
from linernotes.cli import main
from linernotes.storage import StorageError, Store, open_store
from tests.test_views import REPO, seed


def add_second_heaven(store: Store) -> None:
    """Two tracks called "Heaven"; the corpus writes about the Mitski one."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO artists (id, name, norm_name, aliases) VALUES "
                "('ar:mitski', 'Mitski', 'mitski', '[]'), ('ar:th', 'Talking Heads', "
                "'talking heads', '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO tracks (id, title, norm_title, artist_id) VALUES "
                "('tr:th/heaven', 'Heaven', 'heaven', 'ar:th'), "
                "('tr:mitski/heaven', 'Heaven', 'heaven', 'ar:mitski')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO evidence (id, entity_kind, entity_id, document_id, sent_start, "
                "sent_end, text, sentence_hash, via, weight, co_entities) VALUES (99, 'track', "
                "'tr:mitski/heaven', 2, 0, 5, 'Heaven aches.', 'hx', 'mention', 1, '[]')"
            )
        )


def test_open_readonly_never_creates_a_file(tmp_path: Path) -> None:
    target = tmp_path / "missing.db"
    with pytest.raises(StorageError, match=f"no database at {target}"):
        linernotes.open(target)
    assert not target.exists()
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(StorageError, match="is a directory"):
        linernotes.open(folder)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello, not a database\n")
    with pytest.raises(StorageError, match=f"{text_file}: the file is not a SQLite database"):
        linernotes.open(text_file)


def test_open_readonly_refuses_an_old_schema_and_does_not_migrate(db_url: str) -> None:
    store = open_store(db_url)
    with store.engine.begin() as conn:
        conn.execute(text("DROP VIEW trending"))
        # the schema as it was three revisions ago (before the trending view,
        # descriptors.source and the embed caches)
        conn.execute(text("DROP TABLE sentence_tags"))
        conn.execute(text("DROP TABLE entity_bags"))
        conn.execute(text("DROP TABLE bag_terms"))
        conn.execute(text("DROP TABLE extract_blocks"))
        for view in ("track_descriptors", "artist_descriptors", "descriptor_entities"):
            conn.execute(text(f"DROP VIEW {view}"))
        conn.execute(text("ALTER TABLE descriptors DROP COLUMN source"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0004_mention_candidates'"))
    store.close()
    with pytest.raises(StorageError, match="is at schema revision 0004_mention_candidates"):
        linernotes.open(db_url)
    store = open_store(db_url, upgrade=False)
    with store.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            == "0004_mention_candidates"
        )
    store.close()
    with linernotes.open(db_url, readonly=False) as api:  # the writer upgrades
        assert not api.sql("SELECT * FROM trending").columns.empty
        assert "source" in api.sql("SELECT * FROM descriptor_entities").columns


def test_readonly_postgres_session_cannot_write(pg_url: str) -> None:
    open_store(pg_url).close()
    with (
        linernotes.open(pg_url) as api,
        pytest.raises(Exception, match="read-only"),
        api.store.engine.begin() as conn,
    ):
        conn.execute(text("CREATE TABLE scratch (x int)"))


def test_ambiguous_name_returns_the_pick_and_the_others(store: Store) -> None:
    seed(store)
    add_second_heaven(store)
    res = Linernotes(store).resolve("track", "heaven")
    assert res.id == "tr:mitski/heaven"
    assert [c.id for c in res.others] == ["tr:th/heaven"]
    note = res.note()
    assert note is not None and "tr:th/heaven" in note and "Talking Heads" in note
    assert Linernotes(store).resolve("track", "tr:th/heaven").others == []


def test_cli_says_which_one_it_picked(sqlite_store: Store) -> None:
    seed(sqlite_store)
    add_second_heaven(sqlite_store)
    with sqlite_store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO descriptors (entity_kind, entity_id, term, weight, count, doc_freq, "
                "evidence_ids) VALUES ('track', 'tr:mitski/heaven', 'aching', 1.0, 1, 1, '[]')"
            )
        )
    result = CliRunner().invoke(
        main, ["descriptors", "--track", "Heaven", "--db", sqlite_store.url]
    )
    assert result.exit_code == 0, result.output
    assert "aching" in result.stdout and "tr:mitski/heaven" in result.stdout
    assert "picked Heaven by Mitski" in result.stderr and "tr:th/heaven" in result.stderr


def test_frames_on_both_backends(store: Store) -> None:
    seed(store)
    api = Linernotes(store)
    frame = api.descriptors(track="Alison")
    assert list(frame.term) == ["hazy", "dreamy"]
    assert frame.attrs["resolution"].id == "tr:alison"
    assert list(api.similar(track="alison").name) == ["Heaven or Las Vegas", "Soon"]
    assert api.evidence(track="Alison").text.iloc[0] == "Alison is a hazy song by Slowdive."
    trends = api.trends(track="Alison")
    assert set(trends.month) == {"2024-01", "2024-02"}
    assert "tr:alison" in set(api.search("ali").entity_id)
    mentions = api.mentions(artist="Slowdive")
    assert list(mentions.surface) == ["Slowdive"]
    status = api.status().set_index("what")["value"]
    assert status["documents.stored"] == 2 and status["mentions"] == 7
    assert api.sql("SELECT COUNT(*) AS n FROM artists").n.iloc[0] == 3
    ids, matrix = api.vectors("track", model="minilm")
    assert ids == ["tr:alison", "tr:heaven"]
    assert isinstance(matrix, np.ndarray) and matrix.shape == (2, 3)
    chart = api.trending("artist", days=3650, until=None)
    assert set(chart.name) == {"Cocteau Twins", "Slowdive", "My Bloody Valentine"}


def test_import_linernotes_is_cheap_and_open_is_lazy() -> None:
    code = (
        "import sys, linernotes; "
        "print(sorted(m for m in ('pandas', 'sqlalchemy', 'linernotes.api') if m in sys.modules)); "
        "print(linernotes.open.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "linernotes.api"


def test_db_after_the_subcommand_and_sql_from_stdin(sqlite_store: Store) -> None:
    seed(sqlite_store)
    runner = CliRunner()
    after = runner.invoke(
        main, ["sql", "--db", sqlite_store.url, "SELECT COUNT(*) AS n FROM tracks"]
    )
    assert after.exit_code == 0, after.output
    assert "(1 row)" in after.stdout and "3" in after.stdout
    equals = runner.invoke(
        main, ["sql", "--json", f"--db={sqlite_store.url}", "-"], input="SELECT 7 AS n"
    )
    assert equals.exit_code == 0, equals.output
    assert '"n": 7' in equals.stdout


def test_read_commands_refuse_a_missing_database(tmp_path: Path) -> None:
    target = tmp_path / "nothing.db"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{target}", "similar", "--artist", "x"])
    assert result.exit_code == 1
    assert f"no database at {target}" in result.stderr
    assert "catalog import" in result.stderr
    assert not target.exists()

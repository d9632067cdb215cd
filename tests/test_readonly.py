"""storage.readonly: user SQL reads the project's data and reaches nothing else.

PostgreSQL runs on the embedded server with its superuser URL (the worst
case: a plain READ ONLY transaction there runs server programs); SQLite is
checked for files written by ATTACH / VACUUM INTO and for databases created
by opening a missing path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from linernotes.storage import Store, open_store
from linernotes.storage.readonly import READER_FUNCTION, ReadOnlyError, run_readonly
from tests.test_views import seed


def _refused(store: Store, sql: str) -> str:
    with pytest.raises(ReadOnlyError) as caught:
        run_readonly(store, sql)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    return message


def test_postgres_superuser_url_cannot_reach_the_server(
    pg_url: str, tmp_path: Path, pg_server_url: str
) -> None:
    store = open_store(pg_url)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(
                text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar()
        seed(store)
        program_out = tmp_path / "program.txt"
        copy_out = tmp_path / "copy.csv"
        _refused(store, f"COPY (SELECT 1) TO PROGRAM 'id > {program_out}'")
        _refused(store, f"COPY (SELECT name FROM artists) TO '{copy_out}'")
        assert not program_out.exists() and not copy_out.exists()
        assert "permission denied" in _refused(store, "SELECT pg_read_file('postgresql.conf')")
        assert "permission denied" in _refused(store, "SELECT pg_ls_dir('.')")
        # another session's backend stays alive
        with store.engine.connect() as other:
            pid = other.execute(text("SELECT pg_backend_pid()")).scalar_one()
            _refused(store, f"SELECT pg_terminate_backend({pid})")
            assert other.execute(text("SELECT 1")).scalar_one() == 1
        # switching back to the URL's role from inside the statement is refused too
        _refused(store, "SELECT set_config('role', current_setting('is_superuser'), true)")
        _refused(store, "SELECT set_config('role', 'postgres', true), pg_read_file('PG_VERSION')")
        _refused(store, "SELECT set_config('session_authorization', 'postgres', true)")
        _refused(store, "SELECT * FROM ts_stat('SELECT to_tsvector(pg_read_file(''PG_VERSION''))')")
        _refused(store, "DELETE FROM artists RETURNING id")
        _refused(store, "SELECT 1; DELETE FROM artists")
        # tables and views stay readable, with their types
        columns, rows = run_readonly(store, "SELECT COUNT(*) AS n, 2.5::numeric AS x FROM artists")
        assert columns == ["n", "x"] and rows[0][0] == 3
        columns, rows = run_readonly(
            store, "SELECT track, term FROM track_descriptors WHERE term_rank = 1 ORDER BY track"
        )
        assert rows == [("Alison", "hazy"), ("Heaven or Las Vegas", "dreamy")]
        columns, rows = run_readonly(store, "EXPLAIN SELECT * FROM entity_names")
        assert columns == ["QUERY PLAN"] and rows
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM artists")).scalar_one() == 3
    finally:
        store.close()


def test_postgres_tables_made_by_later_migrations_are_readable(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("CREATE TABLE later_table (x INTEGER)"))
            conn.execute(text("INSERT INTO later_table VALUES (7)"))
        assert run_readonly(store, "SELECT x FROM later_table") == (["x"], [(7,)])
    finally:
        store.close()


def test_postgres_refuses_clearly_without_the_reader_setup(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(text(f"DROP FUNCTION {READER_FUNCTION}(text)"))
        message = _refused(store, "SELECT 1")
        assert READER_FUNCTION in message and "superuser" in message
    finally:
        store.close()
    repaired = open_store(pg_url)  # a role that may create it repairs it on open
    try:
        assert run_readonly(repaired, "SELECT COUNT(*) FROM artists") == (["count"], [(0,)])
    finally:
        repaired.close()


def test_sqlite_refuses_attach_vacuum_and_writing_pragmas(
    sqlite_store: Store, tmp_path: Path
) -> None:
    seed(sqlite_store)
    for target, sql in (
        ("attached.db", "ATTACH DATABASE '{}' AS other"),
        ("vacuumed.db", "VACUUM INTO '{}'"),
    ):
        path = tmp_path / target
        assert "read-only" in _refused(sqlite_store, sql.format(path))
        assert not path.exists()
    for sql in (
        "DETACH DATABASE main",
        "PRAGMA user_version = 7",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA optimize",
        "DELETE FROM artists",
        "BEGIN",
    ):
        _refused(sqlite_store, sql)
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA user_version")).scalar_one() == 0
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    assert run_readonly(sqlite_store, "SELECT COUNT(*) FROM artists")[1] == [(3,)]
    assert run_readonly(sqlite_store, "PRAGMA table_info(artists)")[1]
    assert run_readonly(
        sqlite_store,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) "
        "SELECT i FROM n",
    )[1] == [(1,), (2,), (3,)]


def test_sqlite_opens_existing_files_only(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    store = open_store(f"sqlite:///{missing}", upgrade=False)
    assert str(missing) in _refused(store, "SELECT 1")
    assert not missing.exists()
    folder = tmp_path / "folder.db"
    folder.mkdir()
    store = open_store(f"sqlite:///{folder}", upgrade=False)
    assert str(folder) in _refused(store, "SELECT 1")


def test_postgres_owner_without_role_rights_upgrades_and_gets_a_clear_refusal(
    pg_server_url: str,
) -> None:
    """A plain (non-superuser, no CREATEROLE) owner: the migration warns instead of failing."""
    import os

    import psycopg
    from sqlalchemy.engine import make_url

    role = f"ln_plain_{os.getpid()}"
    admin = make_url(pg_server_url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"CREATE DATABASE {role} OWNER {role}")
    owned = admin.set(database=role)
    with psycopg.connect(owned.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")  # needs a superuser
    url = owned.set(drivername="postgresql+psycopg", username=role)
    store = open_store(url.render_as_string(hide_password=False))
    try:
        message = _refused(store, "SELECT COUNT(*) FROM artists")
        assert f'GRANT linernotes_reader TO "{role}"' in message or "superuser" in message
    finally:
        store.close()

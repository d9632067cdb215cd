"""Opening a database for the API: paths named in errors, read-only without migrating.

A reader must never write: a missing SQLite file is refused rather than
created, no Alembic migration runs, PostgreSQL sessions are READ ONLY, and a
schema older (or newer) than the code is refused with what to run.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from linernotes.storage import StorageError, Store


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def check_sqlite_path(url: str, readonly: bool) -> None:
    """Name the file when it cannot be a database, instead of SQLite's anonymous error.

    The wording is storage.db's (`_open_error`), so a reader and a writer
    report the same fault the same way.
    """
    path = _sqlite_path(url)
    if path is None:
        return
    if "\x00" in str(path):
        raise StorageError(f"database path contains a NUL character: {str(path)!r}")
    if path.is_dir():
        raise StorageError(f"cannot open the SQLite database {path}: it is a directory")
    if not path.parent.is_dir():
        raise StorageError(
            f"cannot open the SQLite database {path}: folder {path.parent} does not exist"
        )
    if readonly and not path.exists():
        raise StorageError(
            f"no database at {path}: run `linernotes catalog import FILE` and "
            "`linernotes run --sources FILE` first, or point --db / LINERNOTES_DB at one "
            "(after the demo: export LINERNOTES_DB=sqlite:///$PWD/demo-out/demo.db)"
        )
    if path.exists():
        with path.open("rb") as handle:
            head = handle.read(16)
        if head and head != b"SQLite format 3\x00":
            raise StorageError(
                f"cannot open the SQLite database {path}: the file is not a SQLite database"
            )


def schema_revisions(store: Store) -> tuple[str | None, str | None]:
    """(the database's Alembic revision, the newest this code knows)."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from linernotes.storage.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with store.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


def open_readonly(url: str) -> Store:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from linernotes.storage.db import make_engine

    if make_url(url).get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"options": "-c default_transaction_read_only=on"},
        )
    else:
        engine = make_engine(url)
    store = Store(url, engine, sessionmaker(engine, expire_on_commit=False))
    current, head = schema_revisions(store)
    if current != head:
        store.close()
        where = _sqlite_path(url) or make_url(url).render_as_string(hide_password=True)
        raise StorageError(
            f"database {where} is at schema revision {current or 'none'}, this linernotes "
            f"reads {head}: upgrade it with a writing command (`linernotes extract`) "
            "or linernotes.open(db, readonly=False)"
        )
    return store


def as_url(db: str | os.PathLike[str] | None) -> str | None:
    value = os.fspath(db) if db is not None else os.environ.get("LINERNOTES_DB")
    if not value:
        return None
    return value if "://" in value else f"sqlite:///{Path(value).resolve()}"

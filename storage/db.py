"""Engines, sessions and schema upgrades for both backends.

Every command calls `open_store(url)`: it normalises the URL, creates the
engine with the pragmas SQLite needs for a crawler writing while a reader
reads (WAL, a busy timeout, foreign keys), and upgrades the schema with
Alembic, so a user never runs migrations by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///linernotes.db"
MIGRATIONS = Path(__file__).parent / "migrations"


class StorageError(Exception):
    """A storage problem worth one readable line to the user (bad URL, bad data)."""


def resolve_url(url: str | None) -> str:
    """The database URL: the argument, else $LINERNOTES_DB, else ./linernotes.db."""
    chosen = url or os.environ.get("LINERNOTES_DB") or DEFAULT_URL
    if "\x00" in chosen:
        raise StorageError("invalid database URL: it contains a NUL character")
    try:
        parsed = make_url(chosen)
        port = parsed.port
    except (ArgumentError, ValueError) as exc:
        reason = "the port is not a number" if "int()" in str(exc) else _first_line(exc)
        raise StorageError(f"invalid database URL {chosen!r}: {reason}") from None
    if port is not None and not 0 < port < 65536:
        raise StorageError(f"invalid database URL {chosen!r}: port {port} is not 1-65535")
    if any("\x00" in part for part in _url_parts(parsed)):
        raise StorageError("invalid database URL: it contains a NUL character (%00)")
    if parsed.drivername == "postgresql" or parsed.drivername == "postgres":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StorageError(f"unsupported database {parsed.drivername!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def _url_parts(parsed: Any) -> list[str]:
    """Every text part of a URL, decoded (`%00` becomes a NUL only here)."""
    parts = [parsed.username, parsed.password, parsed.host, parsed.database]
    for key, value in parsed.query.items():
        parts += [key, *(value if isinstance(value, tuple) else [value])]
    return [str(p) for p in parts if p is not None]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    _enable_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _enable_wal(cur: Any) -> None:
    """Switch a new database file to WAL once (the mode sticks to the file).

    Switching needs a moment alone with the file and SQLite answers "database
    is locked" at once, without waiting, when several processes open a brand
    new database together: so check first, and retry briefly.
    """
    import sqlite3
    import time

    for attempt in range(50):
        if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            return
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            time.sleep(0.02 * (attempt + 1))
    cur.execute("PRAGMA journal_mode=WAL")  # one last time: let the real error through


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets its pragmas on every connection."""
    engine = create_engine(url, future=True, pool_pre_ping=url.startswith("postgresql"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _sqlite_file_lock(engine: Engine, name: str = "migrate") -> Iterator[None]:
    """Serialise one kind of work on a SQLite file across processes (a lock file beside it)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    import fcntl

    with open(f"{database}.{name}-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_key(name: str) -> int:
    """A stable 63-bit advisory-lock key for a name."""
    import hashlib

    return int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big") >> 1


def upgrade_schema(engine: Engine) -> None:
    """Bring the database to the latest Alembic revision (no-op when current).

    Several workers may start on a new database at once: they queue on an
    advisory lock (PostgreSQL) or a lock file (SQLite), and each re-checks
    the revision once it holds the lock, so the schema is made exactly once.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if _current_revision(engine) == head:
        _ensure_reader(engine)
        return
    if engine.dialect.name == "sqlite":
        with _sqlite_file_lock(engine):
            if _current_revision(engine) != head:
                with engine.begin() as conn:
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(745001)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")  # a no-op when a worker before us upgraded
        _ensure_reader(engine, conn)


def _ensure_reader(engine: Engine, conn: Any = None) -> None:
    """PostgreSQL: the `linernotes sql` reader role, when an earlier upgrade could not make it."""
    if engine.dialect.name != "postgresql":
        return
    from linernotes.storage.readonly import ensure_reader, reader_missing

    if conn is not None:
        ensure_reader(conn)
        return
    with engine.connect() as check:
        if not reader_missing(check):
            return
    with engine.begin() as own:
        own.exec_driver_sql("SELECT pg_advisory_xact_lock(745001)")
        ensure_reader(own)


@dataclass
class Store:
    """An open database: the engine plus a session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold a database-wide lock called `name` while the block runs.

        For corpus-wide work that must not run twice at once (e.g. `embed`):
        a PostgreSQL session advisory lock, or a lock file beside a SQLite
        database. A second holder waits until the first is done.
        """
        if self.dialect != "postgresql":
            with _sqlite_file_lock(self.engine, name):
                yield
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_lock_key(name)})")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_lock_key(name)})")
                conn.commit()

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (and by default create or upgrade) the database at `url`."""
    resolved = resolve_url(url)
    engine = make_engine(resolved)
    if upgrade:
        try:
            upgrade_schema(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise StorageError(_open_error(engine, exc)) from None
    return Store(resolved, engine, sessionmaker(engine, expire_on_commit=False))


def _open_error(engine: Engine, exc: DBAPIError) -> str:
    """One line saying which database could not be opened, and why."""
    reason = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
    if engine.dialect.name != "sqlite":
        shown = engine.url.render_as_string(hide_password=True)
        return f"cannot use the database {shown}: {reason}"
    path = Path(engine.url.database or "")
    if path.is_dir():
        return f"cannot open the SQLite database {path}: it is a directory"
    if "not a database" in reason:
        return f"cannot open the SQLite database {path}: the file is not a SQLite database"
    if not path.parent.is_dir():
        return f"cannot open the SQLite database {path}: folder {path.parent} does not exist"
    return f"cannot open the SQLite database {path}: {reason}"

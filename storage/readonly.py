"""Run one user-supplied SQL statement so that it can only read the project's data.

Read-only is enforced by the database, not by inspecting the statement:
parsing SQL for writes is a losing game (CTEs, functions with side effects,
PRAGMAs, quoted or escaped identifiers).

- SQLite: an existing file opened `mode=ro` with `query_only` on, plus an
  authorizer (`set_authorizer`, made for untrusted SQL) that allows reading
  tables and calling functions and refuses ATTACH/DETACH (which VACUUM INTO
  uses), transactions and pragmas that change anything.
- PostgreSQL: a READ ONLY transaction that switches to the NOLOGIN role
  `linernotes_reader` (migration 0003_readonly_role: SELECT on the project's
  tables and views, nothing else), and runs the statement inside
  `linernotes_readonly_rows`, a SECURITY DEFINER function owned by that role,
  where PostgreSQL forbids switching `role` back (`set_config('role', ...)`
  would otherwise undo `SET ROLE` for a superuser URL). Server programs
  (`COPY ... TO PROGRAM`), server files (`pg_read_file`) and other sessions
  (`pg_terminate_backend`) are out of reach whatever role the URL names.

The one entry point is `run_readonly`; the CLI (`linernotes sql`) and the
Python API both call it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from linernotes.storage.db import StorageError, Store

READER_ROLE = "linernotes_reader"
READER_FUNCTION = "linernotes_readonly_rows"
Rows = tuple[list[str], list[tuple[Any, ...]]]

NO_ROWS = (
    "linernotes sql is read-only: it runs statements that return rows "
    "(SELECT, WITH, VALUES, EXPLAIN), and this one returns none"
)
_WRITE_HINTS = (
    "readonly",
    "read-only",
    "read only",
    "query_only",
    "not authorized",
    "authorization denied",
)


class ReadOnlyError(StorageError):
    """A statement `run_readonly` will not or could not run (one readable line)."""


def run_readonly(store: Store, sql: str) -> Rows:
    """Execute one row-returning statement that cannot write; returns (columns, rows).

    The SQL reaches the database verbatim (no `:name` or `%` parsing); both
    drivers refuse a second statement after `;`.
    """
    statement = sql.strip().rstrip(";").strip()
    if not statement:
        raise ReadOnlyError("no SQL given")
    if "\x00" in statement:
        raise ReadOnlyError("the SQL contains a NUL character")
    if store.dialect == "postgresql":
        return _run_postgres(store, statement)
    return _run_sqlite(store, statement)


def explain_error(exc: Exception) -> str:
    """The first line of a database error, saying so when it was a refused write."""
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if any(hint in message.lower() for hint in _WRITE_HINTS):
        return f"linernotes sql is read-only: {message}"
    return f"SQL error: {message}"


# --- the reader role (PostgreSQL) -------------------------------------------

# The same statement as migration 0003_readonly_role (which keeps its own frozen
# copy): idempotent, so it can repair a database first upgraded by a role that
# could not create roles, once a role that can opens it.
READER_SETUP = r"""
DO $setup$
DECLARE
    schema_name text := current_schema();
    is_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'linernotes_reader') THEN
        BEGIN
            CREATE ROLE linernotes_reader NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database of this cluster created it meanwhile
        END;
    END IF;
    IF NOT is_super THEN
        EXECUTE 'GRANT linernotes_reader TO ' || quote_ident(current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO linernotes_reader', schema_name);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO linernotes_reader', schema_name);
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO linernotes_reader',
        schema_name);
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION %I.linernotes_readonly_rows(statement text) '
        'RETURNS SETOF record LANGUAGE plpgsql SECURITY DEFINER '
        'AS $fn$ BEGIN RETURN QUERY EXECUTE statement; END $fn$',
        schema_name);
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO linernotes_reader', schema_name);
    EXECUTE format(
        'ALTER FUNCTION %I.linernotes_readonly_rows(text) OWNER TO linernotes_reader',
        schema_name);
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM linernotes_reader', schema_name);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'linernotes: cannot set up role linernotes_reader (%); '
        'linernotes sql will refuse to run until a superuser upgrades this database', SQLERRM;
END
$setup$;
"""


_NEEDS_SETUP = """
SELECT to_regprocedure('linernotes_readonly_rows(text)') IS NULL
   AND (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user)
"""


def reader_missing(conn: Any) -> bool:
    """True when the reader function is missing and this role could create it."""
    return bool(conn.exec_driver_sql(_NEEDS_SETUP).scalar())


def ensure_reader(conn: Any) -> None:
    """Create the reader role and function when missing and this role may."""
    if reader_missing(conn):
        conn.exec_driver_sql(READER_SETUP.replace("%", "%%"))  # psycopg reads % as a placeholder


# --- SQLite -----------------------------------------------------------------

_SQLITE_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
# Pragmas that only report, even with an argument (`PRAGMA table_info(t)`).
_SQLITE_READ_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "table_list",
    "index_info",
    "index_xinfo",
    "index_list",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
}
# Pragmas that change something even without an argument.
_SQLITE_ACTING_PRAGMAS = {"optimize", "wal_checkpoint", "incremental_vacuum", "shrink_memory"}


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL, which must already exist and be a file.

    `linernotes sql` never creates a database: a typo in --db should say so,
    not leave an empty database behind.
    """
    database = make_url(url).database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise ReadOnlyError("linernotes sql needs a database file, not an in-memory one")
    path = Path(database)
    if not path.exists():
        raise ReadOnlyError(f"no database at {path} (linernotes sql opens existing files only)")
    if not path.is_file():
        raise ReadOnlyError(f"{path} is not a database file")
    return path


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    """Allow reading tables and calling functions; deny everything else."""
    if action in _SQLITE_ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg1 is not None:
        name = arg1.lower()
        if name in _SQLITE_READ_PRAGMAS or (arg2 is None and name not in _SQLITE_ACTING_PRAGMAS):
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite_connect(store: Store) -> sqlite3.Connection:
    path = sqlite_path(store.url)
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise ReadOnlyError(f"cannot read the database {path}: {exc}") from None
    conn.set_authorizer(_sqlite_authorizer)
    return conn


def _run_sqlite(store: Store, statement: str) -> Rows:
    conn = _sqlite_connect(store)
    try:
        cur = conn.cursor()
        cur.execute(statement)
        if cur.description is None:
            raise ReadOnlyError(NO_ROWS)
        return [d[0] for d in cur.description], [tuple(row) for row in cur.fetchall()]
    except sqlite3.Error as exc:
        raise ReadOnlyError(explain_error(exc)) from None
    finally:
        conn.rollback()
        conn.close()


# --- PostgreSQL -------------------------------------------------------------


def _postgres_connect(store: Store) -> Any:
    import psycopg

    conninfo = make_url(store.url).set(drivername="postgresql")
    conn = psycopg.connect(
        conninfo.render_as_string(hide_password=False),
        options="-c default_transaction_read_only=on",
    )
    conn.execute("SET TRANSACTION READ ONLY")
    return conn


def _become_reader(conn: Any) -> None:
    """Switch this transaction to the reader role, or refuse with what to do."""
    import psycopg

    fix = "run any linernotes command once with a superuser (or CREATEROLE) URL to create it"
    try:
        conn.execute(f"SET LOCAL ROLE {READER_ROLE}")
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or ["?"])[0]
        if "permission denied" in first:
            user = conn.info.user
            fix = f'a superuser can allow it: GRANT {READER_ROLE} TO "{user}"'
        message = f"linernotes sql cannot run as role {READER_ROLE} ({first}); {fix}"
        raise ReadOnlyError(message) from None
    owner = conn.execute(
        "SELECT pg_get_userbyid(p.proowner), p.prosecdef FROM pg_proc p "
        "WHERE p.oid = to_regprocedure(%s)",
        [f"{READER_FUNCTION}(text)"],
    ).fetchone()
    if owner is None or owner[0] != READER_ROLE or not owner[1]:
        raise ReadOnlyError(f"linernotes sql: function {READER_FUNCTION} is missing; {fix}")


def _describe(conn: Any, statement: str) -> list[tuple[str, str]]:
    """Names and SQL types of the statement's columns, from the server, without running it."""
    from psycopg import pq

    encoding = conn.info.encoding
    pgconn = conn.pgconn
    parsed = pgconn.prepare(b"", statement.encode(encoding))
    if parsed.status != pq.ExecStatus.COMMAND_OK:
        raise ReadOnlyError(explain_error(Exception(_pq_message(parsed, encoding))))
    described = pgconn.describe_prepared(b"")
    if described.status != pq.ExecStatus.COMMAND_OK:
        raise ReadOnlyError(explain_error(Exception(_pq_message(described, encoding))))
    if described.nfields == 0:
        raise ReadOnlyError(NO_ROWS)
    fields = [
        ((described.fname(i) or b"?").decode(encoding), described.ftype(i), described.fmod(i))
        for i in range(described.nfields)
    ]
    types = conn.execute(
        "SELECT format_type(t.oid, t.mod) FROM unnest(%s::oid[], %s::int[]) "
        "WITH ORDINALITY AS t(oid, mod, n) ORDER BY n",
        [[f[1] for f in fields], [f[2] for f in fields]],
    ).fetchall()
    return [(name, row[0]) for (name, _, _), row in zip(fields, types, strict=True)]


def _pq_message(result: Any, encoding: str) -> str:
    raw = result.error_message or b"the server refused the statement"
    text = raw.decode(encoding, "replace").strip()
    return text.removeprefix("ERROR:").strip()


def _run_postgres(store: Store, statement: str) -> Rows:
    import psycopg
    from psycopg import sql

    try:
        conn = _postgres_connect(store)
    except psycopg.Error as exc:
        raise ReadOnlyError(explain_error(exc)) from None
    try:
        _become_reader(conn)
        columns = _describe(conn, statement)
        definition = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(f"c{i}"), sql.SQL(kind))
            for i, (_, kind) in enumerate(columns)
        )
        query = sql.SQL("SELECT * FROM {}(%s) AS t({})").format(
            sql.Identifier(READER_FUNCTION), definition
        )
        rows = conn.execute(query, [statement]).fetchall()
        return [name for name, _ in columns], [tuple(row) for row in rows]
    except psycopg.Error as exc:
        raise ReadOnlyError(explain_error(exc)) from None
    finally:
        conn.rollback()
        conn.close()

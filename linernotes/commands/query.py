"""`linernotes sql`: read-only SQL over the database, as a table, CSV or JSON.

Read-only is enforced by the database, not by inspecting the statement:
parsing SQL for writes is a losing game (CTEs, functions with side effects,
PRAGMAs). SQLite gets its own `mode=ro` connection with `query_only` on top;
PostgreSQL gets a session whose every transaction is READ ONLY, the
transaction itself is declared READ ONLY, and the statement is sent as a
prepared statement so the server refuses a second one smuggled in after `;`
(such as `COMMIT; SET ... READ WRITE`).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from linernotes.context import app
from linernotes.errors import UserFacingError
from storage import Store

MAX_CELL = 80
_WRITE_HINTS = ("readonly", "read-only", "read only", "query_only")


def _sqlite_connect(store: Store) -> Any:
    database = make_url(store.url).database or ""
    if database in ("", ":memory:"):
        raise UserFacingError("linernotes sql needs a database file, not an in-memory one")
    conn = sqlite3.connect(Path(database).resolve().as_uri() + "?mode=ro", uri=True)
    conn.execute("PRAGMA query_only=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _postgres_connect(store: Store) -> Any:
    import psycopg

    conninfo = make_url(store.url).set(drivername="postgresql")
    conn = psycopg.connect(
        conninfo.render_as_string(hide_password=False),
        options="-c default_transaction_read_only=on",
    )
    conn.execute("SET TRANSACTION READ ONLY")
    return conn


def _db_errors() -> tuple[type[Exception], ...]:
    import psycopg

    return (sqlite3.Error, psycopg.Error)


def run_query(store: Store, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Execute one statement on a connection that cannot write; returns columns and rows.

    The raw DB-API cursor is used so the SQL reaches the database verbatim (no
    `:name` or `%` parsing). Both drivers then refuse a second statement after
    `;`: sqlite3 by design, psycopg because a prepared statement holds one command.
    """
    statement = sql.strip().rstrip(";").strip()
    if not statement:
        raise UserFacingError("no SQL given")
    postgres = store.dialect == "postgresql"
    try:
        conn = _postgres_connect(store) if postgres else _sqlite_connect(store)
        try:
            cur = conn.cursor()
            if postgres:
                cur.execute(statement, prepare=True)
            else:
                cur.execute(statement)
            if cur.description is None:
                raise UserFacingError(
                    "the statement returned no rows (linernotes sql is read-only)"
                )
            columns = [d[0] for d in cur.description]
            return columns, [tuple(row) for row in cur.fetchall()]
        finally:
            conn.rollback()
            conn.close()
    except _db_errors() as exc:
        raise UserFacingError(_explain(exc)) from None


def _explain(exc: Exception) -> str:
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if any(hint in message.lower() for hint in _WRITE_HINTS):
        return f"linernotes sql is read-only: {message}"
    return f"SQL error: {message}"


def _plain(value: Any) -> Any:
    """A JSON/CSV-friendly form of a database value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if hasattr(value, "tolist"):  # numpy arrays (pgvector) and scalars
        return value.tolist()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    shown = str(_plain(value)).replace("\n", " ")
    return shown if len(shown) <= MAX_CELL else shown[: MAX_CELL - 1] + "…"


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned text table with a row count, like psql's."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    for row in cells:
        lines.append(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines)


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else _plain(v) for v in row])


def write_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    objects = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    click.echo(json.dumps(objects, ensure_ascii=False, default=str, indent=1))


@click.command("sql")
@click.argument("statement")
@click.option("--csv", "fmt", flag_value="csv", help="Write CSV (header row first).")
@click.option("--json", "fmt", flag_value="json", help="Write a JSON array of row objects.")
def sql_command(statement: str, fmt: str | None) -> None:
    """Run one read-only SQL statement (SELECT, WITH, EXPLAIN) and print the rows.

    Writes are refused by the database itself. Views such as track_descriptors,
    neighbor_names and mention_evidence are described in docs/queries.md.
    STATEMENT `-` reads the statement from stdin.
    """
    if statement == "-":
        statement = sys.stdin.read()
    columns, rows = app(click.get_current_context()).api().sql_rows(statement)
    if fmt == "csv":
        write_csv(columns, rows)
    elif fmt == "json":
        write_json(columns, rows)
    else:
        click.echo(format_table(columns, rows))


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `sql` to the main group."""
    cli.add_command(sql_command)

"""`linernotes sql`: read-only SQL over the database, as a table, CSV or JSON.

A thin CLI over `storage.readonly.run_readonly`, which says how read-only is
enforced on each backend. This module only formats: on a terminal control
characters from crawled pages are escaped, and CSV cells that a spreadsheet
would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click
from sqlalchemy.engine import make_url

from linernotes.context import app
from linernotes.storage import Store, resolve_url
from linernotes.storage.readonly import run_readonly, sqlite_path

MAX_CELL = 80
# A cell a spreadsheet would evaluate (OWASP "CSV injection"): these first characters.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Invisible characters that reorder text on a terminal (bidirectional overrides).
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def run_query(store: Store, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Execute one read-only statement (storage.readonly does the work)."""
    return run_readonly(store, sql)


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


def _printable(text: str) -> str:
    """Escape control characters (ESC sequences from crawled pages must not reach a terminal)."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) == "Cc" or ch in _BIDI
        else ch
        for ch in text
    )


def neutralise_formula(value: Any) -> Any:
    """Prefix text cells a spreadsheet would run as a formula with `'` (OWASP's rule).

    Numbers are left alone (-1.5 is data, not a formula); text such as
    `=HYPERLINK(...)` or `@SUM(...)` from a crawled page is shown, not run.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    shown = _printable(str(_plain(value)).replace("\n", " ").replace("\t", " "))
    return shown if len(shown) <= MAX_CELL else shown[: MAX_CELL - 1] + "…"


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned text table with a row count, like psql's."""
    columns = [_printable(c) for c in columns]
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    for row in cells:
        lines.append(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines)


def write_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """CSV with formula cells neutralised; a row holding a CR is fully quoted.

    With "\\n" line ends Python's csv module leaves a lone CR unquoted, which
    a reader takes for a line break: such rows are written with every field quoted.
    """
    plain = csv.writer(sys.stdout, lineterminator="\n")
    quoted = csv.writer(sys.stdout, lineterminator="\n", quoting=csv.QUOTE_ALL)
    cells = [[neutralise_formula(c) for c in columns]]
    cells += [["" if v is None else neutralise_formula(_plain(v)) for v in row] for row in rows]
    for row in cells:
        has_cr = any(isinstance(v, str) and "\r" in v for v in row)
        (quoted if has_cr else plain).writerow(row)


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
    The table escapes control characters; --csv prefixes text cells starting
    with = + - @ tab or CR with ' so spreadsheets show them instead of running them.
    STATEMENT `-` reads the statement from stdin.
    """
    if statement == "-":
        statement = sys.stdin.read()
    context = app(click.get_current_context())
    url = resolve_url(context.db_url)
    if make_url(url).get_backend_name() == "sqlite":
        sqlite_path(url)  # never create a database to query it
    columns, rows = context.api().sql_rows(statement)
    if fmt == "csv":
        write_csv(columns, rows)
    elif fmt == "json":
        write_json(columns, rows)
    else:
        click.echo(format_table(columns, rows))


def register(cli: click.Group, groups: dict[str, click.Group]) -> None:
    """Attach `sql` to the main group."""
    cli.add_command(sql_command)

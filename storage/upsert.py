"""Idempotent bulk upserts that behave the same on SQLite and PostgreSQL.

Both dialects speak `INSERT ... ON CONFLICT`, but PostgreSQL refuses a batch
that hits the same key twice ("cannot affect row a second time"), so rows are
first collapsed by key, the last one winning, as a sequence of single upserts
would. The statement is compiled once and run with the rows as parameter
sets (executemany; SQLAlchemy batches them as multi-row VALUES where the
driver benefits): compiling one multi-row VALUES statement per chunk spent
most of a 212k-row catalogue import inside the SQL compiler.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from linernotes.storage.chunks import chunked

CHUNK_ROWS = 5000  # rows per execute: bounds the memory of one round trip


def _table(target: type[DeclarativeBase] | Table) -> Table:
    return target if isinstance(target, Table) else target.__table__  # type: ignore[return-value]


def dedupe_by_key(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Collapse rows sharing a key; later rows override earlier ones, order of first sight kept."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if key in merged:
            merged[key].update(row)
        else:
            merged[key] = dict(row)
    return list(merged.values())


def upsert(
    session: Session,
    target: type[DeclarativeBase] | Table,
    rows: Iterable[Mapping[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> int:
    """Insert `rows`, updating `update` columns (default: all non-key) on key conflict.

    With `update=[]` existing rows are left untouched (insert-or-ignore).
    Returns the number of distinct rows sent.
    """
    table = _table(target)
    batch = dedupe_by_key(rows, keys)
    if not batch:
        return 0
    columns = list(batch[0].keys())
    for row in batch:
        if row.keys() != batch[0].keys():
            raise ValueError("upsert rows must all have the same columns")
    chosen = [c for c in columns if c not in keys] if update is None else list(update)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    base = insert(table)
    if chosen:
        stmt = base.on_conflict_do_update(
            index_elements=list(keys), set_={c: base.excluded[c] for c in chosen}
        )
    else:
        stmt = base.on_conflict_do_nothing(index_elements=list(keys))
    for chunk in chunked(batch, CHUNK_ROWS):
        session.execute(stmt, list(chunk))
    return len(batch)


def insert_rows(
    session: Session,
    target: type[DeclarativeBase] | Table,
    rows: Sequence[Mapping[str, Any]],
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Plain INSERT of many rows through the table (executemany), a chunk at a time.

    Why not `session.execute(insert(Model), rows)`: that is the ORM's bulk
    path, which builds every row's parameters in Python again; the table's
    own statement does the same work in about two thirds of the time
    (`bench/bench_storage.py`), and an incremental embed writes a few hundred
    thousand descriptor and neighbour rows. Column defaults apply as usual.
    """
    table = _table(target)
    for chunk in chunked(rows, chunk_rows):
        session.execute(table.insert(), list(chunk))
    return len(rows)

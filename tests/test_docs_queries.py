"""Every ```sql block in docs/queries.md and README.md runs on SQLite and PostgreSQL.

Documented SQL rots silently when the schema moves; executing it against the
fixture corpus keeps the examples honest. A block preceded by an HTML comment
`<!-- expect: col1, col2 -->` must return exactly those columns and at least
one row; a block without one must merely run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from linernotes.storage import Store
from linernotes.storage.views import VIEW_NAMES
from tests.test_views import seed

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "docs" / "queries.md", REPO / "README.md"]
_BLOCK = re.compile(
    r"(?:<!--\s*expect:\s*(?P<expect>[^>]*?)\s*-->\s*\n)?```sql\n(?P<sql>.*?)```", re.DOTALL
)


@dataclass
class Block:
    where: str
    sql: str
    expect: list[str] | None


def sql_blocks(path: Path) -> list[Block]:
    """The sql fences of a Markdown file, with their expected columns when declared."""
    if not path.exists():
        return []
    content = path.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(content):
        line = content.count("\n", 0, match.start("sql"))
        expect = match.group("expect")
        columns = [c.strip() for c in expect.split(",")] if expect else None
        sql = match.group("sql").strip().rstrip(";")
        found.append(Block(f"{path.name}:{line}", sql, columns))
    return found


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in sql_blocks(path)]


def test_queries_doc_has_examples_for_every_view() -> None:
    blocks = sql_blocks(DOCS[0])
    assert len(blocks) >= 15
    assert all(b.expect for b in blocks), "every block in docs/queries.md declares its columns"
    used = " ".join(b.sql for b in blocks)
    missing = [name for name in VIEW_NAMES if name not in used]
    assert not missing, f"views without an example in docs/queries.md: {missing}"


def test_every_documented_query_runs(store: Store) -> None:
    seed(store)
    failures = []
    for block in all_blocks():
        try:
            with store.engine.connect() as conn:
                result = conn.execute(text(block.sql))
                columns = list(result.keys())
                fetched = result.fetchall()
        except Exception as exc:
            failures.append(f"{block.where}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        if block.expect is None:
            continue
        if columns != block.expect:
            failures.append(f"{block.where}: columns {columns} != {block.expect}")
        elif not fetched:
            failures.append(f"{block.where}: no rows on the fixture corpus")
    assert not failures, "\n".join(failures)

"""`linernotes sql` on both backends: output formats, and writes refused by the database."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from sqlalchemy import text

from linernotes.cli import main
from storage import Store
from tests.test_views import seed

TOP = "SELECT track, term FROM track_descriptors WHERE term_rank = 1 ORDER BY track"


def _sql(store: Store, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", store.url, "sql", *args])
    return result.exit_code, result.stdout, result.stderr


def _artists(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM artists")).scalar_one())


def test_table_csv_and_json(store: Store) -> None:
    seed(store)
    code, out, _ = _sql(store, TOP)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split(" | ")[0].strip() == "track"
    assert "Heaven or Las Vegas | dreamy" in out
    assert lines[-1] == "(2 rows)"

    code, out, _ = _sql(store, "--csv", TOP)
    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["track", "term"],
        ["Alison", "hazy"],
        ["Heaven or Las Vegas", "dreamy"],
    ]

    trend = "SELECT month, weight FROM descriptor_trends WHERE entity_id = 'tr:alison'"
    code, out, _ = _sql(store, "--json", trend + " AND term = 'hazy' ORDER BY month")
    assert code == 0
    assert json.loads(out) == [
        {"month": "2024-01", "weight": 0.3},
        {"month": "2024-02", "weight": 0.8},
    ]


def test_sql_reaches_the_database_verbatim(store: Store) -> None:
    seed(store)
    code, out, _ = _sql(
        store, "--json", "SELECT name FROM entity_names WHERE name LIKE '%Vegas' AND '12:00' <> ''"
    )
    assert code == 0, out
    assert json.loads(out) == [{"name": "Heaven or Las Vegas"}]


def test_writes_are_refused_with_one_line(store: Store) -> None:
    seed(store)
    before = _artists(store)
    for statement in (
        "DELETE FROM artists",
        "UPDATE artists SET name = 'x'",
        "CREATE TABLE evil (x INTEGER)",
        "SELECT 1; DELETE FROM artists",
        "COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM artists",
    ):
        code, out, err = _sql(store, statement)
        assert code != 0, statement
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("error: ")
        assert "Traceback" not in err
    assert _artists(store) == before


def test_bad_sql_is_one_readable_line(sqlite_store: Store) -> None:
    code, _, err = _sql(sqlite_store, "SELEC nothing")
    assert code == 1
    assert err.startswith("error: SQL error:")
    code, _, err = _sql(sqlite_store, "DELETE FROM artists")
    assert code == 1
    assert "read-only" in err

"""`linernotes sql` on both backends: output formats, and writes refused by the database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from linernotes.cli import main
from linernotes.storage import Store
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


def test_sql_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{missing}", "sql", "SELECT 1"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: no database at {missing} (linernotes sql opens existing files only)"
    )
    assert not missing.exists()


def test_terminal_output_escapes_control_characters(sqlite_store: Store) -> None:
    code, out, _ = _sql(sqlite_store, "SELECT 'a' || char(27) || '[2J' || char(7) || 'b' AS x")
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "a\\x1b[2J\\x07b" in out
    code, out, _ = _sql(sqlite_store, "SELECT 'evil' || char(8238) || 'txt' AS x")
    assert "\u202e" not in out and "evil\\u202etxt" in out


def test_csv_neutralises_formula_cells(sqlite_store: Store) -> None:
    code, out, _ = _sql(
        sqlite_store,
        "--csv",
        "SELECT '=HYPERLINK(\"http://x\")' AS a, '+1' AS b, '-2+3' AS c, '@SUM(A1)' AS d, "
        "char(9) || '=1' AS e, char(13) || '=1' AS f, 'plain' AS g, -1.5 AS h, 3 AS i",
    )
    assert code == 0
    assert list(csv.reader(io.StringIO(out)))[1] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\t=1",
        "'\r=1",
        "plain",
        "-1.5",
        "3",
    ]

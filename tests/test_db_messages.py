"""A bad --db gives one line naming the database and the reason, on every command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from linernotes.cli import main
from linernotes.storage import StorageError, open_store, resolve_url


def _status(db: str) -> str:
    result = CliRunner().invoke(main, ["--db", db, "status"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_text_file_given_as_db(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 10)
    assert _status(f"sqlite:///{notes}") == (
        f"error: cannot open the SQLite database {notes}: the file is not a SQLite database"
    )
    assert notes.read_text() == "not a database\n" * 10


def test_unable_to_open_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "x.db"
    assert _status(f"sqlite:///{missing}") == (
        f"error: cannot open the SQLite database {missing}: folder {missing.parent} does not exist"
    )
    assert _status(f"sqlite:///{tmp_path}") == (
        f"error: cannot open the SQLite database {tmp_path}: it is a directory"
    )


def test_nul_and_bad_ports_in_the_url(tmp_path: Path) -> None:
    assert "NUL" in _status(f"sqlite:///{tmp_path}/a%00b.db")
    with pytest.raises(StorageError, match="NUL"):
        resolve_url(f"sqlite:///{tmp_path}/a\x00b.db")
    assert _status("postgresql://u@localhost:99999/db").endswith("port 99999 is not 1-65535")
    assert _status("postgresql://u@localhost:abc/db").endswith("the port is not a number")


def test_postgres_errors_hide_the_password() -> None:
    with pytest.raises(StorageError) as caught:
        open_store("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2")
    assert "secret" not in str(caught.value)
    assert str(caught.value).startswith("cannot use the database postgresql+psycopg://u:***@")


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_bad_port_before_opening_anything(tmp_path: Path, port: str) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(main, ["--db", db, "serve", "--port", port])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.stderr
    assert "Traceback" not in result.stderr

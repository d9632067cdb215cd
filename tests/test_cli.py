"""The front door: --db/LINERNOTES_DB, one-line errors, exit codes, every CONTRACT command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from linernotes.cli import main
from linernotes.storage import open_store
from tests.conftest import FIXTURES

CONTRACT_COMMANDS = [
    ["catalog", "import"],
    ["crawl"],
    ["extract"],
    ["embed"],
    ["run"],
    ["annotate"],
    ["eval", "mentions"],
    ["similar"],
    ["descriptors"],
    ["export", "neighbors"],
    ["eval", "similarity"],
    ["sql"],
]


@pytest.mark.parametrize("command", CONTRACT_COMMANDS, ids=" ".join)
def test_every_contract_command_exists(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_catalog_import_via_env_db(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    result = CliRunner().invoke(
        main,
        ["catalog", "import", str(FIXTURES / "catalog/small.csv")],
        env={"LINERNOTES_DB": f"sqlite:///{db}"},
    )
    assert result.exit_code == 0, result.output
    assert "4 artists, 5 tracks, 2 albums" in result.output
    assert db.exists()


def test_bad_row_is_one_line_on_stderr_and_exit_1(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "linernotes",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "catalog",
            "import",
            str(FIXTURES / "catalog/bad_line5.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "line 5" in lines[0] and "Traceback" not in proc.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "linernotes",
            "--debug",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "catalog",
            "import",
            str(tmp_path / "missing.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr


def test_bad_db_url_is_reported() -> None:
    result = CliRunner().invoke(main, ["--db", "mysql://x/y", "catalog", "import", "x.csv"])
    assert result.exit_code == 1
    assert "unsupported database" in result.output


def _all_commands(group: object, prefix: str = "") -> list[str]:
    import click

    names = []
    assert isinstance(group, click.Group)
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            names += _all_commands(cmd, f"{prefix}{name} ")
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [c for c in _all_commands(main) if f"`{c}" not in readme]
    assert missing == []


def test_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`linernotes ... | head -1`: the reader leaving early gives no error line."""
    query = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) "
    open_store(f"sqlite:///{tmp_path / 'x.db'}").close()  # `sql` opens existing files only
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linernotes",
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "sql",
            "--csv",
            query + "SELECT i FROM n",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().strip() == b"i"
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "error" not in err.lower()

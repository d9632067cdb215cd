"""The commands that crawl share their options, and every command fails the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from linernotes.cli import main
from linernotes.errors import EXIT_FAILED, EXIT_USAGE


@pytest.mark.parametrize("command", ["crawl", "run"])
def test_max_pages_is_validated_by_both_crawling_commands(command: str, tmp_path: Path) -> None:
    sources = tmp_path / "s.toml"
    sources.write_text('[[source]]\nname = "x"\nstart_urls = ["https://x.example/"]\n')
    db = f"sqlite:///{tmp_path / 'x.db'}"
    args = ["--db", db, command, "--sources", str(sources), "--max-pages", "0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_USAGE
    assert "Invalid value for '--max-pages': 0 is not in the range x>=1." in result.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything ran


def test_crawl_and_run_take_the_same_crawl_options() -> None:
    def crawl_params(name: str) -> list[tuple[str, ...]]:
        command = main.commands[name]
        return [
            (p.name or "", *p.opts, repr(p.type.to_info_dict()), str(p.required))
            for p in command.params
            if p.name in {"sources_file", "source", "max_pages", "redis_url"}
        ]

    assert crawl_params("crawl") == crawl_params("run")
    assert len(crawl_params("crawl")) == 4


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (["report", "--out", "x.html"], EXIT_USAGE, "give exactly one of --artist, --track"),
        (["descriptors"], EXIT_USAGE, "give exactly one of --artist or --track"),
        (["sql", "DELETE FROM documents"], EXIT_FAILED, "error: "),
    ],
)
def test_errors_are_one_line_and_one_code_per_kind(
    args: list[str], code: int, line: str, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(main, ["--db", db, *args])
    assert result.exit_code == code, result.output
    assert line in result.stderr and "Traceback" not in result.stderr

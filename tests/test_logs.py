"""Log format switch and level, for every package of the project."""

from __future__ import annotations

import io
import json
import logging

import click
import pytest
from click.testing import CliRunner

from linernotes.cli import main
from linernotes.logs import configure_logging


@pytest.fixture(autouse=True)
def _reset_logging() -> object:
    yield None
    configure_logging("text")


def test_log_format_json_gives_json_lines(tmp_path: object) -> None:
    @main.command("_emit_logs", hidden=True)
    def _emit() -> None:
        log = logging.getLogger("linernotes.test")
        log.warning("first %s", "event", extra={"ln_source": "dream-blog"})
        log.error("second")
        click.echo("done")

    try:
        result = CliRunner().invoke(main, ["--log-format", "json", "_emit_logs"])
    finally:
        main.commands.pop("_emit_logs", None)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(r["level"], r["message"]) for r in lines] == [
        ("warning", "first event"),
        ("error", "second"),
    ]
    assert lines[0]["logger"] == "linernotes.test"
    assert lines[0]["source"] == "dream-blog"
    assert "T" in lines[0]["time"]


def test_text_log_format_is_not_json() -> None:
    stream = io.StringIO()
    configure_logging("text")
    handler = logging.getLogger("linernotes").handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logging.getLogger("linernotes.test").warning("plain")
    assert stream.getvalue() == "WARNING linernotes.test: plain\n"


@pytest.mark.parametrize("package", ["linernotes", "nlp", "crawler", "storage"])
def test_every_package_follows_debug_and_json(package: str) -> None:
    @main.command("_emit_logs", hidden=True)
    def _emit() -> None:
        log = logging.getLogger(f"{package}.some_module")
        log.debug("detail %d", 1)
        log.warning("careful")

    try:
        quiet = CliRunner().invoke(main, ["--log-format", "json", "_emit_logs"])
        loud = CliRunner().invoke(main, ["--debug", "--log-format", "json", "_emit_logs"])
    finally:
        main.commands.pop("_emit_logs", None)
    assert quiet.exit_code == 0 and loud.exit_code == 0, quiet.output + loud.output
    assert [json.loads(line)["message"] for line in quiet.stderr.splitlines()] == ["careful"]
    lines = [json.loads(line) for line in loud.stderr.splitlines()]
    assert [(r["level"], r["message"]) for r in lines] == [
        ("debug", "detail 1"),
        ("warning", "careful"),
    ]
    assert {r["logger"] for r in lines} == {f"{package}.some_module"}

"""Log format switch and the TTY-only progress bar."""

from __future__ import annotations

import io
import json
import logging

import click
import pytest
from click.testing import CliRunner

from linernotes import progress as progress_module
from linernotes.cli import main
from linernotes.logs import configure_logging
from linernotes.progress import progress


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


class _FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_without_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(progress_module.sys, "stderr", stream)
    assert list(progress(range(5), total=5, desc="docs")) == [0, 1, 2, 3, 4]
    assert stream.getvalue() == ""


def test_progress_draws_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = _FakeTTY()
    monkeypatch.setattr(progress_module.sys, "stderr", stream)
    assert list(progress(iter(range(3)), total=3, desc="docs")) == [0, 1, 2]
    assert "docs:" in stream.getvalue() and "/3" in stream.getvalue()

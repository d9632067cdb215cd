"""`annotate` input lines and `extract` options: bad input is one line naming the line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from linernotes.cli import main
from linernotes.commands.extract import MAX_LINE_BYTES, MAX_TEXT_CHARS, read_jsonl
from linernotes.errors import UserFacingError


def _error(data: bytes) -> str:
    with pytest.raises(UserFacingError) as caught:
        list(read_jsonl(io.BytesIO(data), "in.jsonl"))
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    return message


def test_good_lines_are_read_with_their_numbers() -> None:
    data = b'{"text": "caf\xc3\xa9"}\n\n{"text": "b", "id": 3}\n'
    assert list(read_jsonl(io.BytesIO(data), "in.jsonl")) == [
        (1, {"text": "café"}),
        (3, {"text": "b", "id": 3}),
    ]


def test_latin1_line_is_named() -> None:
    data = b'{"text": "ok"}\n{"text": "caf\xe9"}\n'
    assert _error(data) == "in.jsonl: line 2: not UTF-8 (byte 0xe9 at 13)"


def test_deeply_nested_line_is_named() -> None:
    data = b'{"text": "ok"}\n' + b'{"text": "x", "n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    assert _error(data) == "in.jsonl: line 2: JSON nested too deeply"


def test_long_lines_and_texts_are_refused_before_spacy_sees_them() -> None:
    huge = b'{"text": "' + b"a" * (MAX_LINE_BYTES + 10) + b'"}\n'
    assert _error(b"\n" + huge) == (
        f"in.jsonl: line 2: longer than {MAX_LINE_BYTES} bytes; split the text"
    )
    long_text = json.dumps({"text": "word " * (MAX_TEXT_CHARS // 5 + 1)}).encode()
    assert "line 1: text of 100005 characters is over the limit" in _error(long_text)
    fits = json.dumps({"text": "a" * MAX_TEXT_CHARS}).encode()
    assert len(list(read_jsonl(io.BytesIO(fits), "in.jsonl"))) == 1


@pytest.mark.slow
def test_annotate_cli_reports_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"text": "caf\xe9"}\n')
    db = f"sqlite:///{tmp_path / 'a.db'}"
    result = CliRunner().invoke(main, ["--db", db, "annotate", "--input", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {path}: line 1: not UTF-8 (byte 0xe9 at 13)"


@pytest.mark.parametrize("option", ["--chunk-size", "--batch"])
def test_zero_sizes_are_refused_by_click(tmp_path: Path, option: str) -> None:
    db = f"sqlite:///{tmp_path / 'e.db'}"
    command = "extract" if option == "--chunk-size" else "annotate"
    result = CliRunner().invoke(main, ["--db", db, command, option, "0"])
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr
    assert not (tmp_path / "e.db").exists()

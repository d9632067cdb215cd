"""The examples of docs/api.md run as doctests against the tests' small corpus."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from linernotes.storage import open_store
from tests.test_api import add_second_heaven
from tests.test_views import REPO, seed

DOC = REPO / "docs" / "api.md"
_FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def doctest_blocks() -> list[str]:
    return [b for b in _FENCE.findall(DOC.read_text(encoding="utf-8")) if ">>> " in b]


def test_api_doc_has_examples() -> None:
    assert len(doctest_blocks()) >= 2


def test_api_doc_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'corpus.db'}")
    seed(store)
    add_second_heaven(store)
    store.close()
    monkeypatch.chdir(tmp_path)
    parser, runner = (
        doctest.DocTestParser(),
        doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE),
    )
    globs: dict[str, object] = {}
    for n, block in enumerate(doctest_blocks()):
        test = parser.get_doctest(block, globs, f"api.md[{n}]", str(DOC), 0)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 15
    assert result.failed == 0

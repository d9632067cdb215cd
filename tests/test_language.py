"""Language identification (py3langid) and the `languages` filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from linernotes.crawler.extraction import Extracted, extract, skip_reason
from linernotes.crawler.language import identify, language_skip
from tests.mockserver import page

SAMPLES = Path(__file__).parent / "fixtures" / "language" / "samples.tsv"


def _samples() -> list[tuple[str, str]]:
    lines = SAMPLES.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t", 1) for line in lines if line and not line.startswith("#")]
    return [(lang, text) for lang, text in rows]


@pytest.mark.parametrize(("lang", "text"), _samples())
def test_identifies_each_sample(lang: str, text: str) -> None:
    """Swedish, Danish, Polish and Japanese were called es, nl, pt and None by stopwords."""
    assert identify(text) == lang


def test_too_little_text_is_unknown() -> None:
    assert identify("") is None
    assert identify("12 34 !!") is None
    assert identify("ok") is None


def test_unknown_language_does_not_pass_a_filter() -> None:
    assert language_skip(None, ("en",)) == "language:unknown"
    assert language_skip(None, ()) is None
    assert language_skip("en-GB", ("en",)) is None
    assert language_skip("sv", ("en",)) == "language:sv"


def test_undeclared_swedish_page_is_skipped_by_an_english_filter() -> None:
    swedish = next(text for lang, text in _samples() if lang == "sv")
    html = page("Recension", [swedish * 2], lang="").replace(' lang=""', "")
    assert "lang=" not in html
    found = extract(html.encode(), "http://x/sv", "text/html", ("en",))
    assert (found.language, found.skip_reason) == ("sv", "language:sv")
    assert extract(html.encode(), "http://x/sv", "text/html", ("sv",)).status == "stored"


def test_stored_page_of_unknown_language_is_skipped_when_filtered() -> None:
    doc = Extracted("stored", text=" ".join(["word"] * 40), language=None)
    assert skip_reason(doc, ("en",)) == "language:unknown"  # None used to pass any filter
    assert skip_reason(doc, ()) is None

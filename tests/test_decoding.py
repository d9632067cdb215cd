"""Decoding fetched bytes: BOM, header charset, <meta charset>, then UTF-8-or-cp1252 (w3lib)."""

from __future__ import annotations

from linernotes.crawler.extraction import decode, extract

REVIEW_EN = (
    "The record is a marvel, and the production is remarkable from start to finish; "
    "every song on it is a small gem worth hearing twice. "
)
REVIEW_JA = "坂本龍一の新しいアルバムは、静かなピアノと電子音が重なり合う美しい作品です。"


def _html(head: str, title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head>{head}<title>{title}</title></head>"
        f"<body><article><h1>{title}</h1><p>{body}</p><p>{body}</p></article></body></html>"
    )


def test_cp1252_page_with_meta_charset_and_no_header() -> None:
    html = _html('<meta charset="windows-1252">', "Own\u201d \u2013 caf\u00e9", REVIEW_EN)
    body = html.encode("cp1252")
    assert "Own\u201d \u2013 caf\u00e9" in decode(body, None)
    assert "Own\x94 \x96" not in decode(body, "text/html")  # the old latin-1 fallback
    found = extract(body, "http://x/cp", None)
    assert found.status == "stored" and found.title == "Own\u201d \u2013 caf\u00e9"


def test_http_equiv_latin1_means_cp1252() -> None:
    head = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    body = _html(head, "Own\u201d", REVIEW_EN).encode("cp1252")
    assert "<title>Own\u201d</title>" in decode(body, "text/html")


def test_shift_jis_page_decodes_and_parses_without_mojibake() -> None:
    body = _html('<meta charset="Shift_JIS">', "坂本龍一 レビュー", REVIEW_JA * 3).encode(
        "shift_jis"
    )
    assert REVIEW_JA in decode(body, "text/html")
    found = extract(body, "http://x/ja", "text/html")
    assert found.status == "stored"  # Japanese prose is not "empty": kana and kanji count
    assert found.title == "坂本龍一 レビュー"
    assert found.text is not None and REVIEW_JA in found.text
    assert found.language == "ja"


def test_utf8_bom_wins_over_a_lying_header() -> None:
    body = b"\xef\xbb\xbf" + _html("", "Björk \u2013 Jóga", REVIEW_EN).encode("utf-8")
    text = decode(body, "text/html; charset=iso-8859-1")
    assert "Björk \u2013 Jóga" in text and not text.startswith("\ufeff")
    assert (
        extract(body, "http://x/bom", "text/html; charset=iso-8859-1").title == "Björk \u2013 Jóga"
    )


def test_undeclared_bodies_utf8_else_cp1252() -> None:
    assert decode("<p>Björk \u2019</p>".encode(), None) == "<p>Björk \u2019</p>"
    assert decode("<p>Björk \u2019</p>".encode("cp1252"), None) == "<p>Björk \u2019</p>"
    assert decode("<p>Björk</p>".encode(), "text/html; charset=utf-8") == "<p>Björk</p>"

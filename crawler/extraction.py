"""Main text and metadata of a fetched page, or the reason it is skipped.

trafilatura finds the article body (no navigation, comments or boilerplate)
and the usual metadata; JSON-LD Article/Review objects, where a page has them,
are more reliable than heuristics, so they win for title, author and date;
htmldate is the last resort for the date. Tiny hand-written pages (a personal
review site) sometimes have no block trafilatura recognises as an article,
so a plain-text fallback keeps their words rather than losing the page.

Pure functions of (bytes, url, content type): the crawler and `reextract`
call the same code, so an archived response re-extracts to the same document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from w3lib.encoding import html_to_unicode

from linernotes.crawler.language import declared, identify, language_skip

ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "blogposting",
    "review",
    "criticreview",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "webpage",
}
HTML_TYPES = ("text/html", "application/xhtml+xml")
MIN_WORDS = 10
SOFT_404 = re.compile(
    r"\b(?:404|page not found|not found|page (?:does not|doesn't|cannot be found|could not)"
    r"|no longer (?:exists|available)|nothing (?:was )?found)\b",
    re.IGNORECASE,
)
SOFT_404_MAX_WORDS = 120
_WS = re.compile(r"[ \t\r\f\v]+")
# Words: runs of letters; Chinese and Japanese write no spaces, so each ideograph
# or kana counts as one (a page of Japanese prose is not "empty").
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+", re.UNICODE)


@dataclass
class Extracted:
    """What a page yields: a stored document, or a skip with its reason."""

    status: str  # 'stored' or 'skipped'
    skip_reason: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def is_html(content_type: str | None, body: bytes) -> bool:
    """HTML by header, or by sniffing when a server sends none."""
    if content_type:
        return content_type.split(";")[0].strip().lower() in HTML_TYPES
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _sniff(body: bytes) -> str:
    """The encoding of an undeclared body: UTF-8 when it is valid UTF-8, else cp1252."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def decode(body: bytes, content_type: str | None) -> str:
    """Text of a body, decoded by w3lib as browsers do.

    A byte-order mark wins, then the header's charset, then `<meta charset>` /
    `http-equiv`; an undeclared body is UTF-8 if it decodes as such, else
    cp1252 (what browsers assume of Latin-1 pages). Undecodable bytes become
    U+FFFD rather than failing the page.
    """
    _, text = html_to_unicode(content_type, body, auto_detect_fun=_sniff)
    return text


def extract(
    body: bytes, url: str, content_type: str | None, languages: tuple[str, ...] = ()
) -> Extracted:
    """Extract one page; `languages` (if set) lists the languages worth keeping."""
    if not is_html(content_type, body):
        kind = (content_type or "unknown").split(";")[0].strip() or "unknown"
        return Extracted("skipped", f"non_html:{kind}")
    html = decode(body, content_type)
    if not html.strip():
        return Extracted("skipped", "empty")
    tree = _parse(html)
    if tree is None:
        return Extracted("skipped", "empty")
    jsonld = json_ld(tree)
    meta: dict[str, Any] = {}
    if jsonld:
        meta["jsonld"] = jsonld
    found = _trafilatura(html, url)
    text = normalise_lines(found.get("text") or "")
    if _word_count(text, MIN_WORDS) < MIN_WORDS:
        text = fallback_text(tree)
    title = _first(_ld(jsonld, "headline", "name"), found.get("title"), _html_title(tree))
    author = _first(_ld_author(jsonld), found.get("author"))
    published = _parse_date(_ld(jsonld, "datePublished", "dateCreated")) or _parse_date(
        found.get("date")
    )
    if published is None:
        published = _htmldate(html)
    for key in ("sitename", "description", "categories", "tags"):
        if found.get(key):
            meta[key] = found[key]
    canonical = tree.xpath("//link[@rel='canonical']/@href")
    if canonical:
        meta["canonical_link"] = str(canonical[0]).strip()
    language = _language(tree, jsonld, text)
    result = Extracted("stored", None, title, author, published, language, text, meta)
    reason = skip_reason(result, languages)
    if reason:
        result.status, result.skip_reason = "skipped", reason
    return result


def skip_reason(doc: Extracted, languages: tuple[str, ...]) -> str | None:
    """Empty, soft-404 or unwanted-language pages are recorded but not stored."""
    words = _word_count(doc.text or "", SOFT_404_MAX_WORDS + 1)
    if words < MIN_WORDS:
        return "empty"
    if words <= SOFT_404_MAX_WORDS and SOFT_404.search(doc.title or ""):
        return "soft_404"
    return language_skip(doc.language, languages)


def _parse(html: str) -> Any:
    import lxml.html

    # The text is already decoded: parse its UTF-8 bytes as UTF-8, or libxml2 would
    # obey the page's <meta charset="Shift_JIS"> a second time and garble it.
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        return lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)
    except Exception:
        return None


def _trafilatura(html: str, url: str) -> dict[str, Any]:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            deduplicate=False,
        )
    except Exception:
        return {}
    if doc is None:
        return {}
    return dict(doc if isinstance(doc, dict) else doc.as_dict())


def fallback_text(tree: Any) -> str:
    """Visible text without scripts, navigation, headers, footers, forms or link lists."""
    import copy

    from lxml_html_clean import Cleaner

    work = copy.deepcopy(tree)
    boiler = "//nav|//header|//footer|//aside|//menu|//title|//head|//form|//*[@id='comments']"
    for bad in work.xpath(boiler):
        bad.drop_tree()
    for lst in work.xpath("//ul|//ol"):
        items = lst.xpath("./li")
        if items and all(len(li.xpath(".//a")) and not _own_text(li) for li in items):
            lst.drop_tree()
    cleaner = Cleaner(scripts=True, javascript=True, style=True, comments=True, forms=True)
    try:
        cleaned = cleaner.clean_html(work)
    except Exception:
        return ""
    for br in cleaned.xpath("//br"):
        br.tail = "\n" + (br.tail or "")
    return normalise_lines(cleaned.text_content())


def _own_text(element: Any) -> str:
    """Text of an element outside its links (a link list item has none)."""
    parts = [element.text or ""] + [child.tail or "" for child in element.iterdescendants()]
    return "".join(parts).strip()


def normalise_lines(text: str) -> str:
    """One space between words, no blank lines, no lone navigation words."""
    lines = []
    for raw in text.splitlines():
        line = _WS.sub(" ", raw).strip()
        if line and line.lower() not in ("back", "home", "menu", "next", "previous"):
            lines.append(line)
    return "\n".join(lines)


def json_ld(tree: Any) -> dict[str, Any]:
    """The first Article/Review-like JSON-LD object of the page (from @graph too)."""
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text_content() or "")
        except ValueError:
            continue
        for obj in _ld_objects(data):
            types = obj.get("@type")
            names = types if isinstance(types, list) else [types]
            if any(isinstance(t, str) and t.lower() in ARTICLE_TYPES for t in names):
                return obj
    return {}


def _ld_objects(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [o for item in data for o in _ld_objects(item)]
    if isinstance(data, dict):
        return [data, *_ld_objects(data.get("@graph", []))]
    return []


def _ld(obj: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _ld_author(obj: dict[str, Any]) -> str | None:
    value = obj.get("author") or obj.get("creator")
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            names.append(item["name"].strip())
        elif isinstance(item, str) and item.strip():
            names.append(item.strip())
    return "; ".join(n for n in names if n) or None


def _first(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return _WS.sub(" ", value.strip())
    return None


def _html_title(tree: Any) -> str | None:
    for xpath in ("//title/text()", "//h1//text()"):
        found = [str(t).strip() for t in tree.xpath(xpath) if str(t).strip()]
        if found:
            return found[0]
    return None


def _parse_date(value: Any) -> datetime | None:
    """An ISO date or datetime as an aware UTC datetime (naive means UTC)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text[:10])
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _htmldate(html: str) -> datetime | None:
    try:
        from htmldate import find_date

        found = find_date(html, original_date=True, extensive_search=False)
    except Exception:
        return None
    return _parse_date(found)


def _language(tree: Any, jsonld: dict[str, Any], text: str) -> str | None:
    """Declared language (html lang, JSON-LD inLanguage), else identified from the text."""
    for value in (*tree.xpath("/html/@lang"), jsonld.get("inLanguage")):
        lang = declared(value)
        if lang:
            return lang
    return identify(text)


def _word_count(text: str, cap: int) -> int:
    """Words in `text`, counted up to `cap` (callers only compare with a threshold).

    Why capped: counting every word of a long article was 5% of a page's extraction.
    """
    return sum(1 for _ in islice(_WORD.finditer(text), cap))

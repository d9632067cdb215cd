"""Name normalisation shared by catalogue import and mention linking.

Catalogue names and the way people write them differ in case, diacritics, a
leading "The", "&" versus "and", and punctuation ("AC/DC", "Guns N' Roses").
Both sides are reduced to the same key so a dictionary lookup links them; the
key is stored next to each catalogue name so lookups never recompute it.
"""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")
_LEADING_THE = re.compile(r"^the\s+")
_AND = re.compile(r"\s*&\s*|\s+\+\s+")
_SLUG = re.compile(r"[^a-z0-9]+")


def strip_diacritics(text: str) -> str:
    """Fold accents ("Björk" -> "Bjork") so either spelling matches."""
    if text.isascii():  # most names: nothing to fold, and NFKD is the costly part
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_name(name: str) -> str:
    """Return the matching key of an artist, track or album name.

    >>> normalize_name("The Beatles")
    'beatles'
    >>> normalize_name("Simon & Garfunkel") == normalize_name("Simon and Garfunkel")
    True
    >>> normalize_name("  Björk ")
    'bjork'
    >>> normalize_name("AC/DC")
    'acdc'
    """
    text = strip_diacritics(name).casefold().strip()
    text = _AND.sub(" and ", text)
    text = text.replace("'", "").replace("\u2019", "").replace("/", "")
    text = _PUNCT.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    stripped = _LEADING_THE.sub("", text)
    return stripped or text


def slugify(name: str) -> str:
    """A readable, URL-safe id fragment derived from a name ("Sigur Rós" -> "sigur-ros")."""
    key = strip_diacritics(name).casefold().replace("&", " and ").replace("'", "")
    slug = _SLUG.sub("-", key).strip("-")
    return slug or "x"

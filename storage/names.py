"""Name normalisation shared by catalogue import and mention linking.

Catalogue names and the way people write them differ in case, diacritics, a
leading "The", "&" versus "and", and punctuation ("AC/DC", "Guns N' Roses").
Both sides are reduced to the same key so a dictionary lookup links them; the
key is stored next to each catalogue name so lookups never recompute it.

Ids derived from names (`slugify`) are transliterated to ASCII by anyascii
(ISC licence; Unidecode is GPL), so "Сплин" and "Кино" get readable, distinct
slugs instead of one shared placeholder; where no slug can be made ("!!!"),
a short hash of the name's identity key stands in. ASCII names slug exactly as
before, so ids already stored keep their form.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from anyascii import anyascii

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


def name_key(name: str) -> str:
    """The identity of a name: two names are one entity's name only if their keys are equal.

    It is the matching key, except for names with no letters or digits ("!!!",
    "???"), whose matching key is empty: those keep their case-folded
    characters so they stay apart from each other.
    """
    return normalize_name(name) or " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def short_hash(key: str, length: int = 8) -> str:
    """A stable hex digest of `key` (the same on every machine and run), `length` characters."""
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()[
        :length
    ]


def _spaced(ch: str) -> bool:
    """Ideographs and Hangul syllables transliterate to whole syllables: keep them apart."""
    return unicodedata.name(ch, "").startswith(
        ("CJK UNIFIED", "CJK COMPATIBILITY IDEO", "HANGUL SYLLABLE")
    )


def transliterate(text: str) -> str:
    """ASCII spelling of `text` ("坂本龍一" -> "Ban Ben Long Yi ", "Сплин" -> "Splin")."""
    if text.isascii():
        return text
    return "".join(f" {anyascii(ch)} " if _spaced(ch) else anyascii(ch) for ch in text)


def readable_slug(name: str) -> str:
    """The transliterated slug of a name, or "" when it has nothing to spell ("!!!")."""
    folded = unicodedata.normalize("NFC", strip_diacritics(name))  # NFC: Hangul recomposed
    key = folded.casefold().replace("&", " and ").replace("'", "")
    return _SLUG.sub("-", transliterate(key).casefold()).strip("-")


def slugify(name: str) -> str:
    """A readable, URL-safe id fragment derived from a name ("Sigur Rós" -> "sigur-ros").

    Names with nothing to spell get `h` and a hash of their identity key, so
    "!!!" and "???" get different fragments.

    >>> slugify("Сплин"), slugify("坂本龍一")
    ('splin', 'ban-ben-long-yi')
    """
    return readable_slug(name) or f"h{short_hash(name_key(name))}"

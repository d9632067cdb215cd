"""The part-of-speech filter of descriptor terms, cached per sentence (`sentence_tags`).

Tagging every evidence sentence with spaCy was most of an incremental
`embed`: a sentence's nouns and adjectives depend only on its text and the
tagger, so each distinct text is tagged once and read back on later runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from linernotes.nlp.descriptors import content_words
from linernotes.storage import Store
from linernotes.storage.chunks import chunked
from linernotes.storage.models import SentenceTags
from linernotes.storage.upsert import upsert

TAG_BATCH = 4096  # rows stored per transaction


def text_key(text: str) -> str:
    """Hash of the exact text: spaCy sees whitespace, so no normalising here."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def tagger_version() -> str | None:
    """Name and version of the tagger `content_words` loads, or None when it is not installed.

    Read from the package metadata: importing spaCy (and torch under it) costs
    seconds, which a run whose sentences are all cached need not pay.
    """
    from importlib.metadata import PackageNotFoundError, version

    from linernotes.nlp.mentions import BASE_MODEL

    try:
        return f"{BASE_MODEL}:{version(BASE_MODEL)}"
    except PackageNotFoundError:
        return None


def cached_content_words(store: Store, texts: Iterable[str]) -> dict[str, frozenset[str]] | None:
    """Text -> its nouns and adjectives, tagged once per distinct text across runs.

    None when the tagger is not installed: descriptors then fall back to
    every content word, as `content_words` documents.
    """
    tagger = tagger_version()
    if tagger is None:
        return None
    by_key = {text_key(t): t for t in dict.fromkeys(texts)}
    out: dict[str, frozenset[str]] = {}
    with store.session() as session:
        for chunk in chunked(sorted(by_key)):
            for key, words in session.execute(
                select(SentenceTags.text_hash, SentenceTags.words).where(
                    SentenceTags.tagger == tagger, SentenceTags.text_hash.in_(chunk)
                )
            ):
                out[by_key[key]] = frozenset(words)
    missing = [(k, t) for k, t in by_key.items() if t not in out]
    if not missing:
        return out
    tagged = content_words([t for _k, t in missing])  # loads the tagger once
    if tagged is None:
        return None
    rows: list[dict[str, Any]] = [
        {"text_hash": k, "tagger": tagger, "words": sorted(words)}
        for (k, _t), words in zip(missing, tagged, strict=True)
    ]
    for row_chunk in chunked(rows, TAG_BATCH):
        with store.session() as session:
            upsert(session, SentenceTags, row_chunk, keys=["text_hash", "tagger"], update=[])
    out.update({t: words for (_k, t), words in zip(missing, tagged, strict=True)})
    return out

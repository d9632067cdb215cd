"""What a conditional GET needs to know about the pages already stored.

Loaded once per source at the start of a crawl, so a revisit can send
If-None-Match / If-Modified-Since and skip pages whose content did not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from linernotes.storage.db import Store
from linernotes.storage.models import Document
from linernotes.storage.runs import source_rows


@dataclass(frozen=True)
class Validators:
    """A stored page's ETag, Last-Modified and content hash."""

    etag: str | None
    last_modified: str | None
    content_hash: str | None


def load_validators(store: Store, source_id: int) -> dict[str, Validators]:
    """The validators of every document of a source, by canonical URL."""
    d = Document
    rows = source_rows(
        store, d.source_id, source_id, d.canonical_url, d.etag, d.last_modified, d.content_hash
    )
    return {r[0]: Validators(r[1], r[2], r[3]) for r in rows}

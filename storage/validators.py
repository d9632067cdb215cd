"""What a conditional GET needs to know about the pages already stored.

Loaded once per source at the start of a crawl, so a revisit can send
If-None-Match / If-Modified-Since and skip pages whose content did not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from storage.db import Store
from storage.models import Document


@dataclass(frozen=True)
class Validators:
    """A stored page's ETag, Last-Modified and content hash."""

    etag: str | None
    last_modified: str | None
    content_hash: str | None


def load_validators(store: Store, source_id: int) -> dict[str, Validators]:
    """The validators of every document of a source, by canonical URL."""
    with store.session() as session:
        rows = session.execute(
            select(
                Document.canonical_url,
                Document.etag,
                Document.last_modified,
                Document.content_hash,
            ).where(Document.source_id == source_id)
        ).all()
    return {r[0]: Validators(r[1], r[2], r[3]) for r in rows}

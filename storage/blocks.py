"""The extract stage's block cache (`extract_blocks`): stored results by content hash.

Storage only keeps and returns opaque JSON lists; what a result holds and how its
hash is made is nlp.blocks' business (storage knows nothing of spaCy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from linernotes.storage.chunks import chunked
from linernotes.storage.models import ExtractBlock
from linernotes.storage.upsert import upsert


def load_blocks(session: Session, hashes: Sequence[str], signature: str) -> dict[str, Any]:
    """The stored results of these block hashes under this signature (absent ones left out)."""
    out: dict[str, Any] = {}
    for chunk in chunked(sorted(set(hashes))):
        for block_hash, result in session.execute(
            select(ExtractBlock.block_hash, ExtractBlock.result).where(
                ExtractBlock.signature == signature, ExtractBlock.block_hash.in_(chunk)
            )
        ):
            out[block_hash] = result
    return out


def save_blocks(session: Session, results: Mapping[str, Any], signature: str) -> int:
    """Add results (hash -> JSON list); a hash already stored is left as it is."""
    rows = [{"block_hash": h, "signature": signature, "result": r} for h, r in results.items()]
    return upsert(session, ExtractBlock, rows, keys=["block_hash"], update=[])


def prune_blocks(session: Session, signature: str) -> int:
    """Drop the results of every other signature (an older model, rule set or catalogue)."""
    result = session.execute(delete(ExtractBlock).where(ExtractBlock.signature != signature))
    return int(getattr(result, "rowcount", 0) or 0)

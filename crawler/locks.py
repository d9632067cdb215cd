"""Whose locks a run holds and which it may drop: this process's, or a shared frontier's.

Without a Redis URL a run's source locks belong to this process and are dropped
when it ends. With one (crawler/distributed.py) several workers crawl a source
side by side under one owner, and the lock stays until the last worker is gone.
Redis support is imported only when a URL is given: a plain crawl never loads it.
"""

from __future__ import annotations

from typing import Any

from linernotes.storage import documents as docs


def shared_frontier(redis_url: str | None) -> Any:
    """A checked Redis client when the frontier is shared, else None (nothing imported)."""
    if not redis_url:
        return None
    from linernotes.crawler.distributed import connect

    return connect(redis_url)


def lock_owner(redis_url: str | None) -> str:
    """The owner a run's source locks are taken under (one per frontier when shared)."""
    if not redis_url:
        return docs.lock_owner()
    from linernotes.crawler.distributed import lock_owner as shared_owner

    return shared_owner(redis_url)


def releasable(redis: Any, names: list[str]) -> list[str]:
    """Sources whose lock this run may drop: with a shared frontier, only once no worker is left."""
    if redis is None:
        return names
    from linernotes.crawler.distributed import live_workers

    try:
        return [name for name in names if live_workers(redis, name) == 0]
    except Exception:  # Redis gone: keep the lock, it goes stale (STALE_LOCK_AFTER)
        return []

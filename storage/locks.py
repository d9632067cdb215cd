"""Per-source crawl locks in the database, so two runs of one source never overlap.

A lock names its owner (host:pid) and carries a heartbeat; a lock whose process
is gone, or which stopped beating, is taken over and its run marked interrupted.
The same rows work on SQLite and PostgreSQL, so no external lock service is needed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, update

from linernotes.storage.db import StorageError, Store
from linernotes.storage.models import CrawlLock, CrawlRun
from linernotes.storage.runs import now
from linernotes.storage.upsert import upsert

STALE_LOCK_AFTER = timedelta(minutes=15)


class CrawlLockedError(StorageError):
    """Another live run holds a source's lock."""


def lock_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(owner: str, heartbeat: datetime) -> bool:
    """A lock is stale when its process is gone (same host) or it stopped beating."""
    if heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=UTC)
    if now() - heartbeat > STALE_LOCK_AFTER:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire_locks(store: Store, names: Sequence[str], run_id: int, owner: str) -> None:
    """Lock every source for this run, or raise CrawlLockedError and lock none."""
    stamp = now()
    with store.session() as session:
        for name in names:
            upsert(
                session,
                CrawlLock,
                [
                    {
                        "source_name": name,
                        "run_id": run_id,
                        "owner": owner,
                        "acquired_at": stamp,
                        "heartbeat_at": stamp,
                    }
                ],
                keys=["source_name"],
                update=[],
            )
            row = session.get(CrawlLock, name, populate_existing=True)
            assert row is not None
            if row.owner == owner:
                continue
            if not _owner_gone(row.owner, row.heartbeat_at):
                raise CrawlLockedError(
                    f"source {name!r} is already being crawled by run {row.run_id} "
                    f"({row.owner}, since {row.acquired_at:%Y-%m-%d %H:%M:%S}); "
                    "wait for it to finish (a lock whose process is gone is taken over)"
                )
            old_owner, old_run = row.owner, row.run_id
            taken = session.execute(
                update(CrawlLock)
                .where(and_(CrawlLock.source_name == name, CrawlLock.owner == old_owner))
                .values(run_id=run_id, owner=owner, acquired_at=stamp, heartbeat_at=stamp)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                raise CrawlLockedError(f"source {name!r} was locked by another run just now")
            if old_run is not None:
                session.execute(
                    update(CrawlRun)
                    .where(and_(CrawlRun.id == old_run, CrawlRun.status == "running"))
                    .values(status="interrupted", finished_at=stamp)
                )


def heartbeat(store: Store, names: Sequence[str], owner: str) -> None:
    with store.session() as session:
        session.execute(
            update(CrawlLock)
            .where(and_(CrawlLock.source_name.in_(list(names)), CrawlLock.owner == owner))
            .values(heartbeat_at=now())
        )


def release_locks(store: Store, names: Sequence[str], owner: str) -> None:
    with store.session() as session:
        session.query(CrawlLock).filter(
            CrawlLock.source_name.in_(list(names)), CrawlLock.owner == owner
        ).delete(synchronize_session=False)

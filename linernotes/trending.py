"""Buzz charts from the `trending` view: who is written about now, and who is rising.

Like Hype Machine's "Most Blogged", an entity ranks by how many *distinct
sources* wrote about it in the window, then by distinct posts, then by
mentions: one prolific blog posting ten times counts as one source, so it
cannot carry a chart on its own. "Rising" compares the window with the one of
equal length just before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Integer, String, column, func, select, table

from linernotes.storage import Store

VIEW = table(
    "trending",
    column("entity_kind", String),
    column("entity_id", String),
    column("name", String),
    column("artist_name", String),
    column("document_id", Integer),
    column("source", String),
    column("url", String),
    column("title", String),
    column("posted_at", DateTime(timezone=True)),
    column("week", String),
    column("mentions", Integer),
)


@dataclass(frozen=True)
class Window:
    """[start, until) and the equally long window before it."""

    until: datetime
    days: int

    @property
    def start(self) -> datetime:
        return self.until - timedelta(days=self.days)

    @property
    def previous_start(self) -> datetime:
        return self.until - timedelta(days=2 * self.days)


def _aware(value: Any) -> datetime | None:
    """Dates from SQLite come back naive (stored as UTC); make every one comparable."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def newest_post(store: Store, kind: str) -> datetime | None:
    """The date of the newest post mentioning an entity of `kind` (None on an empty corpus)."""
    with store.engine.connect() as conn:
        found = conn.execute(
            select(func.max(VIEW.c.posted_at)).where(VIEW.c.entity_kind == kind)
        ).scalar()
    return _aware(found)


def _rows(store: Store, kind: str, window: Window) -> list[dict[str, Any]]:
    query = select(VIEW).where(
        VIEW.c.entity_kind == kind,
        VIEW.c.posted_at >= window.previous_start,
        VIEW.c.posted_at < window.until,
    )
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["posted_at"] = _aware(row["posted_at"])
    return rows


def _tally(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sources": len({r["source"] for r in rows if r["source"] is not None}),
        "posts": len({r["document_id"] for r in rows}),
        "mentions": sum(int(r["mentions"]) for r in rows),
    }


def chart(
    store: Store,
    kind: str,
    days: int,
    *,
    until: datetime | None = None,
    limit: int = 20,
    posts: int = 5,
    order: str = "top",
) -> list[dict[str, Any]]:
    """The chart of one window: one dict per entity with counts, rise and its newest posts.

    `order` is "top" (most sources, then posts, then mentions) or "rising"
    (largest gain in sources, then in posts, over the previous window).
    """
    window = Window(_aware(until) or datetime.now(UTC), days)
    now: dict[str, list[dict[str, Any]]] = {}
    before: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(store, kind, window):
        bucket = now if row["posted_at"] >= window.start else before
        bucket.setdefault(str(row["entity_id"]), []).append(row)
    entries = []
    for entity_id, rows in now.items():
        current, previous = _tally(rows), _tally(before.get(entity_id, []))
        newest = sorted(rows, key=lambda r: (r["posted_at"], r["document_id"]), reverse=True)
        entries.append(
            {
                "id": entity_id,
                "name": rows[0]["name"],
                "artist_name": rows[0]["artist_name"],
                **current,
                "previous_sources": previous["sources"],
                "previous_posts": previous["posts"],
                "rise_sources": current["sources"] - previous["sources"],
                "rise_posts": current["posts"] - previous["posts"],
                "posts_behind": [_post(r) for r in _unique_posts(newest)[:posts]],
            }
        )
    key = _rising_key if order == "rising" else _top_key
    entries.sort(key=key)
    for rank, entry in enumerate(entries, start=1):
        entry["rank"] = rank
    return entries[:limit]


def _top_key(e: dict[str, Any]) -> tuple[Any, ...]:
    return (-e["sources"], -e["posts"], -e["mentions"], str(e["name"]), e["id"])


def _rising_key(e: dict[str, Any]) -> tuple[Any, ...]:
    return (-e["rise_sources"], -e["rise_posts"], *_top_key(e))


def _unique_posts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[int] = set()
    out = []
    for row in rows:
        if row["document_id"] not in seen:
            seen.add(row["document_id"])
            out.append(row)
    return out


def _post(row: dict[str, Any]) -> dict[str, Any]:
    posted = row["posted_at"]
    return {
        "document_id": row["document_id"],
        "source": row["source"],
        "title": row["title"],
        "url": row["url"],
        "posted_at": posted.date().isoformat() if posted else None,
    }


def charts(
    store: Store, days: int = 7, *, until: datetime | None = None, limit: int = 10
) -> dict[str, Any]:
    """Top and rising charts of artists and tracks, for the pages.

    Without `until` the window ends just after the newest post, so a corpus
    crawled a while ago still shows its last week rather than an empty chart.
    """
    if until is None:
        newest = [d for d in (newest_post(store, "artist"), newest_post(store, "track")) if d]
        until = (max(newest) + timedelta(seconds=1)) if newest else datetime.now(UTC)
    out: dict[str, Any] = {"days": days, "until": until.date().isoformat()}
    for kind in ("artist", "track"):
        out[kind] = {
            order: chart(store, kind, days, until=until, limit=limit, order=order)
            for order in ("top", "rising")
        }
    return out

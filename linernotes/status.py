"""What `linernotes status` reports, as plain data (the API and the CLI share it)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from linernotes.storage import Store


def _all(store: Store, sql: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(sql))]


def _scalar(store: Store, sql: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


def _json(value: Any) -> Any:
    """JSON columns come back as text from some drivers and as objects from others."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def gather_status(store: Store, runs: int = 5) -> dict[str, Any]:
    """Everything `linernotes status` shows, as plain data (also printed by `--json`)."""
    from linernotes.nlp.extract import count_pending

    sources = _all(
        store,
        "SELECT s.name AS name, COUNT(d.id) AS documents, MAX(d.fetched_at) AS last_fetched "
        "FROM sources s LEFT JOIN documents d ON d.source_id = s.id "
        "GROUP BY s.name ORDER BY s.name",
    )
    crawl_runs = _all(
        store,
        "SELECT id, status, started_at, finished_at, sources, stats FROM crawl_runs "
        f"ORDER BY started_at DESC, id DESC LIMIT {int(runs)}",
    )
    for run in crawl_runs:
        run["sources"], run["stats"] = _json(run["sources"]), _json(run["stats"])
    by_status = {
        row["status"]: int(row["n"])
        for row in _all(store, "SELECT status, COUNT(*) AS n FROM documents GROUP BY status")
    }
    profiles = {
        row["entity_kind"]: int(row["n"])
        for row in _all(
            store,
            "SELECT entity_kind, COUNT(DISTINCT entity_id) AS n FROM descriptors "
            "WHERE source = 'text' GROUP BY entity_kind",
        )
    }
    vectors = {
        row["entity_kind"]: int(row["n"])
        for row in _all(
            store,
            "SELECT entity_kind, COUNT(DISTINCT entity_id) AS n FROM vectors GROUP BY entity_kind",
        )
    }
    return {
        "sources": sources,
        "crawl_runs": crawl_runs,
        "documents": {
            "by_status": by_status,
            "stored": _scalar(
                store,
                "SELECT COUNT(*) FROM documents WHERE status = 'stored' AND duplicate_of IS NULL",
            ),
            "skipped": by_status.get("skipped", 0),
            "duplicates": _scalar(
                store, "SELECT COUNT(*) FROM documents WHERE duplicate_of IS NOT NULL"
            ),
        },
        "mentions": _scalar(store, "SELECT COUNT(*) FROM mentions"),
        "unlinked_mentions": _scalar(
            store, "SELECT COUNT(*) FROM mentions WHERE entity_id IS NULL"
        ),
        "profiles": profiles,
        "vectors": vectors,
        "stale_profiles": _scalar(
            store,
            "SELECT COUNT(*) FROM entity_state WHERE evidence_hash IS NOT NULL "
            "AND (profiled_hash IS NULL OR profiled_hash <> evidence_hash)",
        ),
        "unextracted_documents": count_pending(store),  # the extract stage's own definition
    }

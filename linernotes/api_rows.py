"""The SQL behind `linernotes.api`: lookups its public methods share, as plain rows.

Why a module of its own: `Linernotes` is the public surface (docs/api.md), and
these are how it answers, not what it offers: the one query primitive, the
names, sentences and months the profile methods look up, the name search
(with SQLite's Unicode lower-casing) and the `mention_evidence` query. Each
takes the open `Store` and returns dicts, so the class turns them into frames.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from linernotes.storage import Store
from linernotes.storage.chunks import chunked


def rows(store: Store, sql: str, **params: Any) -> list[dict[str, Any]]:
    """One statement's rows as dicts (the API's single way of reading)."""
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def sentences(store: Store, ids: list[Any]) -> list[dict[str, Any]]:
    """Evidence sentences by id, whitespace folded: a descriptor's evidence."""
    if not ids:
        return []
    marks = ", ".join(str(int(i)) for i in ids)
    found = rows(store, f"SELECT id, document_id, text FROM evidence WHERE id IN ({marks})")
    return [{**r, "text": " ".join(str(r["text"]).split())} for r in found]


def entity_names(store: Store, kind: str, ids: list[str]) -> dict[str, str]:
    """id -> display name of entities of one kind (chunked: databases cap bound parameters)."""
    out: dict[str, str] = {}
    for chunk in chunked(ids):
        params = {f"i{n}": v for n, v in enumerate(chunk)}
        marks = ", ".join(f":{p}" for p in params)
        found = rows(
            store,
            "SELECT entity_id, name FROM entity_names WHERE entity_kind = :k "
            f"AND entity_id IN ({marks})",
            k=kind,
            **params,
        )
        out.update({str(r["entity_id"]): str(r["name"]) for r in found})
    return out


def evidence_months(store: Store, kind: str, entity_id: str) -> list[str]:
    """The 'YYYY-MM' months of the entity's dated evidence (the trend chart's axis)."""
    found = rows(
        store,
        "SELECT DISTINCT published_at FROM evidence WHERE entity_kind = :k "
        "AND entity_id = :i AND published_at IS NOT NULL",
        k=kind,
        i=entity_id,
    )
    return sorted({str(r["published_at"])[:7] for r in found})


def neighbor_names(
    store: Store, kind: str, entity_id: str, other_artists: bool
) -> list[dict[str, Any]]:
    """The page's neighbour list, or its second list (tracks by other artists)."""
    from linernotes.nlp.profiles import OTHER_ARTISTS

    model = "model = :m" if other_artists else "model <> :m"
    return rows(
        store,
        "SELECT neighbor_id, neighbor_name, neighbor_artist_name, score FROM neighbor_names "
        f"WHERE entity_kind = :k AND entity_id = :i AND {model} ORDER BY rank",
        k=kind,
        i=entity_id,
        m=OTHER_ARTISTS,
    )


def search_rows(store: Store, query: str, limit: int) -> list[dict[str, Any]]:
    """Catalogue entities whose name contains `query` (case-insensitive), profiled first.

    SQLite's LOWER folds ASCII only, so there the connection gets a Unicode
    lower-casing function: "кино" finds "Кино" on both backends.
    """
    cleaned = query.lower().replace("\\", "").replace("%", "").replace("_", "")
    with store.engine.connect() as conn:
        fold = "LOWER"
        if conn.dialect.name == "sqlite":
            raw = conn.connection.driver_connection
            raw.create_function("ln_lower", 1, _lower, deterministic=True)  # type: ignore[union-attr]
            fold = "ln_lower"
        sql = (
            "SELECT n.entity_kind, n.entity_id, n.name, n.artist_name, "
            "(SELECT COUNT(*) FROM descriptors d WHERE d.entity_kind = n.entity_kind "
            "AND d.entity_id = n.entity_id AND d.source = 'text') AS terms FROM entity_names n "
            f"WHERE {fold}(n.name) LIKE :p "
            f"ORDER BY terms DESC, n.name, n.entity_id LIMIT {int(limit)}"
        )
        return [dict(r._mapping) for r in conn.execute(text(sql), {"p": f"%{cleaned}%"})]


def mention_rows(
    store: Store, limit: int, kind: str | None = None, entity_id: str | None = None
) -> list[dict[str, Any]]:
    """Rows of the `mention_evidence` view, newest first: of one entity, or all of them."""
    where, params = "", {}
    if kind is not None and entity_id is not None:
        where, params = "WHERE entity_id = :i AND label = :l", {"i": entity_id, "l": kind.upper()}
    return rows(
        store,
        f"SELECT * FROM mention_evidence {where} ORDER BY (published_at IS NULL), "
        f"published_at DESC, mention_id LIMIT {int(limit)}",
        **params,
    )


def json_list(value: Any) -> list[Any]:
    """A JSON array column as a list, whether the driver decoded it or not; bad JSON: []."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value or [])


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts and lists as (dotted key, leaf value) pairs: the status frame's rows."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in flatten(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in flatten(v, f"{prefix}{n}.")]
    return [(prefix.rstrip("."), value)]


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value

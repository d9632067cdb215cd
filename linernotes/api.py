"""The Python API: `linernotes.open(db)` and queries that return pandas DataFrames.

The CLI commands and the profile pages call this module, so a notebook, a
terminal and a browser see the same answers, resolved by the same names
(`linernotes.resolve`). Opening read-only (the default) never migrates: a
reader does not write, and a database whose schema is behind is refused with
a message saying how to upgrade it.

pandas and numpy are imported inside the methods, so `import linernotes`
and `linernotes --help` stay cheap.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from linernotes import api_rows
from linernotes.errors import UserFacingError
from linernotes.opening import as_url, check_sqlite_path, open_readonly, schema_revisions
from linernotes.resolve import KINDS, Resolution, resolve
from linernotes.storage import Store, open_store, resolve_url

__all__ = ["Linernotes", "open", "schema_revisions"]

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy
    import pandas


def open(db: str | os.PathLike[str] | None = None, readonly: bool = True) -> Linernotes:
    """Open a linernotes database: a URL, a SQLite file path, or None for $LINERNOTES_DB.

    `readonly=True` (the default) never writes: no file is created and no
    migration runs. `readonly=False` creates or upgrades the schema.
    """
    url = resolve_url(as_url(db))
    check_sqlite_path(url, readonly)
    store = open_readonly(url) if readonly else open_store(url)
    return Linernotes(store, readonly=readonly)


class Linernotes:
    """An open database and the questions people ask it; every table comes back a DataFrame."""

    def __init__(self, store: Store, readonly: bool = True) -> None:
        self.store = store
        self.readonly = readonly

    def __enter__(self) -> Linernotes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.readonly else "read-write"
        return f"<linernotes {make_url(self.store.url).render_as_string()} {mode}>"

    # ------------------------------------------------------------ names

    def resolve(self, kind: str, ref: str) -> Resolution:
        """The entity `ref` names (id or name), plus the other candidates for that name."""
        with self.store.session() as session:
            return resolve(session, kind, ref)

    def _pick(self, artist: str | None, track: str | None, album: str | None = None) -> Resolution:
        given = [(k, v) for k, v in (("artist", artist), ("track", track), ("album", album)) if v]
        if len(given) != 1:
            raise UserFacingError("give exactly one of artist=, track= (or album=)")
        return self.resolve(*given[0])

    def _rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        return api_rows.rows(self.store, sql, **params)

    @staticmethod
    def _frame(rows: list[dict[str, Any]], columns: list[str], **attrs: Any) -> pandas.DataFrame:
        import pandas

        frame = pandas.DataFrame(rows, columns=columns)
        frame.attrs.update(attrs)
        return frame

    # ------------------------------------------------------------ profiles

    def descriptor_rows(
        self, kind: str, entity_id: str, n: int = 20, month: str | None = None, evidence: int = 0
    ) -> list[dict[str, Any]]:
        """Top terms of one entity (all time, or one 'YYYY-MM'), with evidence when asked."""
        key = {"k": kind, "i": entity_id}
        if month:
            return self._rows(
                "SELECT term, weight, count FROM descriptor_months WHERE entity_kind = :k AND "
                f"entity_id = :i AND month = :m ORDER BY weight DESC, term LIMIT {int(n)}",
                m=month,
                **key,
            )
        rows = self._rows(
            "SELECT term, weight, count, doc_freq, evidence_ids, source FROM descriptors "
            f"WHERE entity_kind = :k AND entity_id = :i ORDER BY weight DESC, term LIMIT {int(n)}",
            **key,
        )
        for row in rows:
            ids = api_rows.json_list(row.pop("evidence_ids"))
            row["evidence_count"] = len(ids)
            if evidence:
                row["evidence"] = api_rows.sentences(self.store, ids[:evidence])
        return rows

    def descriptors(
        self,
        artist: str | None = None,
        track: str | None = None,
        album: str | None = None,
        *,
        n: int = 20,
        month: str | None = None,
    ) -> pandas.DataFrame:
        """Top descriptor terms: term, weight, count, doc_freq, evidence_count, source.

        `source` is 'text' for a term read in the entity's evidence and
        'neighbours' for one inferred from its nearest neighbours (count 0).
        """
        res = self._pick(artist, track, album)
        rows = self.descriptor_rows(res.kind, res.id, n, month)
        columns = ["term", "weight", "count"]
        if not month:
            columns += ["doc_freq", "evidence_count", "source"]
        return self._frame(rows, columns, resolution=res)

    def neighbor_rows(
        self, kind: str, entity_id: str, k: int = 10, other_artists: bool = False
    ) -> list[dict[str, Any]]:
        """Nearest entities with names: the precomputed table, else a vector search.

        `other_artists`: a track's nearest tracks by other artists (a second list).
        """
        from linernotes.vectors import neighbors_of

        found = neighbors_of(self.store, kind, entity_id, k, other_artists=other_artists)
        names = api_rows.entity_names(self.store, kind, [n for n, _ in found])
        return [
            {"rank": i, "id": n, "name": names.get(n, ""), "score": round(s, 4)}
            for i, (n, s) in enumerate(found, start=1)
        ]

    def similar(
        self, artist: str | None = None, track: str | None = None, *, k: int = 10
    ) -> pandas.DataFrame:
        """Nearest artists or tracks by cultural vector: rank, id, name, score."""
        res = self._pick(artist, track)
        rows = self.neighbor_rows(res.kind, res.id, k)
        return self._frame(rows, ["rank", "id", "name", "score"], resolution=res)

    def evidence_rows(self, kind: str, entity_id: str, limit: int = 20) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT e.text, e.published_at, d.url, d.title, e.document_id FROM evidence e "
            "JOIN documents d ON d.id = e.document_id WHERE e.entity_kind = :k AND "
            "e.entity_id = :i ORDER BY (e.published_at IS NULL), e.published_at DESC, e.id "
            f"LIMIT {int(limit)}",
            k=kind,
            i=entity_id,
        )

    def evidence(
        self,
        artist: str | None = None,
        track: str | None = None,
        album: str | None = None,
        *,
        limit: int = 20,
    ) -> pandas.DataFrame:
        """The sentences a profile is built from, newest first, with their page."""
        res = self._pick(artist, track, album)
        rows = self.evidence_rows(res.kind, res.id, limit)
        return self._frame(
            rows, ["text", "published_at", "url", "title", "document_id"], resolution=res
        )

    def trend_rows(self, kind: str, entity_id: str) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT month, term, weight, count FROM descriptor_months "
            "WHERE entity_kind = :k AND entity_id = :i ORDER BY month, weight DESC, term",
            k=kind,
            i=entity_id,
        )

    def trends(
        self, artist: str | None = None, track: str | None = None, album: str | None = None
    ) -> pandas.DataFrame:
        """Descriptor weights per calendar month: month, term, weight, count."""
        res = self._pick(artist, track, album)
        rows = self.trend_rows(res.kind, res.id)
        return self._frame(rows, ["month", "term", "weight", "count"], resolution=res)

    def profile(self, kind: str, entity_id: str, top: int = 15, evidence: int = 20) -> Any:
        """Everything a profile page shows, as plain data; None when the id does not exist."""
        names = self._rows(
            "SELECT name, artist_id, artist_name FROM entity_names "
            "WHERE entity_kind = :k AND entity_id = :i",
            k=kind,
            i=entity_id,
        )
        if not names:
            return None
        from linernotes.web import trend_series

        months = api_rows.evidence_months(self.store, kind, entity_id)
        return {
            "kind": kind,
            "id": entity_id,
            **names[0],
            "descriptors": self.descriptor_rows(kind, entity_id, top),
            "trend": trend_series(self.trend_rows(kind, entity_id), months=months),
            "neighbors": api_rows.neighbor_names(self.store, kind, entity_id, other_artists=False),
            "other_artists": api_rows.neighbor_names(
                self.store, kind, entity_id, other_artists=True
            ),
            "evidence": self.evidence_rows(kind, entity_id, evidence),
        }

    def profiled_entities(self) -> list[tuple[str, str]]:
        """(kind, id) of every entity with descriptors: the pages a static site holds."""
        rows = self._rows(
            "SELECT DISTINCT entity_kind, entity_id FROM descriptors "
            "ORDER BY entity_kind, entity_id"
        )
        return [(str(r["entity_kind"]), str(r["entity_id"])) for r in rows]

    # ------------------------------------------------------------ corpus

    def search_rows(self, query: str, limit: int = 50) -> list[dict[str, Any]]:
        """Catalogue entities whose name contains `query` (case-insensitive), profiled first.

        SQLite's LOWER folds ASCII only, so there the connection gets a Unicode
        lower-casing function: "кино" finds "Кино" on both backends.
        """
        return api_rows.search_rows(self.store, query, limit)

    def search(self, query: str, limit: int = 50) -> pandas.DataFrame:
        """Artists, tracks and albums by name fragment: entity_kind, entity_id, name, ..."""
        return self._frame(
            self.search_rows(query, limit),
            ["entity_kind", "entity_id", "name", "artist_name", "terms"],
        )

    def mentions(
        self,
        artist: str | None = None,
        track: str | None = None,
        album: str | None = None,
        *,
        limit: int = 100,
    ) -> pandas.DataFrame:
        """Mentions with their sentence and page: of one entity, or all (newest first)."""
        res = self._pick(artist, track, album) if artist or track or album else None
        rows = api_rows.mention_rows(
            self.store, limit, res.kind if res else None, res.id if res else None
        )
        columns = list(rows[0]) if rows else ["mention_id", "document_id", "url", "surface"]
        return self._frame(rows, columns, resolution=res)

    def status_info(self, runs: int = 5) -> dict[str, Any]:
        """Sources, recent runs, corpus size, profiles and pending work, as nested data."""
        from linernotes.status import gather_status

        return gather_status(self.store, runs)

    def status(self, runs: int = 5) -> pandas.DataFrame:
        """The status as a two-column frame: `what` (dotted key) and `value`."""
        flat = api_rows.flatten(
            {k: v for k, v in self.status_info(runs).items() if k != "crawl_runs"}
        )
        return self._frame([{"what": k, "value": v} for k, v in flat], ["what", "value"])

    def sql(self, statement: str) -> pandas.DataFrame:
        """One read-only SQL statement (enforced by the database) as a DataFrame."""
        columns, rows = self.sql_rows(statement)
        return self._frame([dict(zip(columns, r, strict=True)) for r in rows], columns)

    def sql_rows(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The one place the read-only SQL runner is called (CLI and API share it)."""
        from linernotes.storage.readonly import run_readonly

        return run_readonly(self.store, statement)

    def vectors(self, kind: str, model: str | None = None) -> tuple[list[str], numpy.ndarray]:
        """All vectors of one kind as (ids, matrix); the cultural vectors by default."""
        from linernotes.nlp.profiles import CULTURAL, load_matrix

        return load_matrix(self.store, kind, model or CULTURAL)

    def neighbors_table(self, kind: str, k: int = 10) -> dict[str, list[str]]:
        """entity id -> neighbour ids, best first (what `export neighbors` writes)."""
        from linernotes.vectors import export_table

        return export_table(self.store, kind, k)

    def annotate(self, texts: Iterable[str]) -> pandas.DataFrame:
        """Mentions found in free texts: text (index), start, end, label, surface, id, name."""
        from linernotes.nlp.extract import make_extractor

        extractor = make_extractor(self.store)
        rows = [
            {
                "text": n,
                "start": m.start,
                "end": m.end,
                "label": m.label,
                "surface": m.surface,
                "id": m.entity_id,
                "name": m.name,
            }
            for n, found in enumerate(extractor.annotate(texts))
            for m in found
        ]
        return self._frame(rows, ["text", "start", "end", "label", "surface", "id", "name"])

    def trending_rows(
        self,
        kind: str = "artist",
        days: int = 7,
        *,
        until: datetime | None = None,
        limit: int = 20,
        order: str = "top",
    ) -> list[dict[str, Any]]:
        from linernotes.trending import chart

        if kind not in KINDS:
            raise UserFacingError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
        return chart(self.store, kind, days, until=until, limit=limit, order=order)

    def trending(
        self,
        kind: str = "artist",
        days: int = 7,
        *,
        until: datetime | None = None,
        limit: int = 20,
        order: str = "top",
    ) -> pandas.DataFrame:
        """Most-written-about (or, order="rising", fastest-rising) entities of a window.

        Ranked by distinct sources, then distinct posts; `posts_behind` lists
        the newest posts of each.
        """
        rows = self.trending_rows(kind, days, until=until, limit=limit, order=order)
        columns = [
            "rank", "id", "name", "artist_name", "sources", "posts", "mentions",
            "previous_sources", "previous_posts", "rise_sources", "rise_posts", "posts_behind",
        ]  # fmt: skip
        return self._frame(rows, columns)

    def trending_charts(
        self, days: int = 7, *, until: datetime | None = None, limit: int = 10
    ) -> dict[str, Any]:
        """Top and rising artists and tracks of a window, as plain data (the pages' section)."""
        from linernotes.trending import charts

        return charts(self.store, days, until=until, limit=limit)

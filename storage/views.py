"""SQL views that turn the common questions about the corpus into one-line queries.

The views are part of the SQL surface people query directly (docs/queries.md
shows each in use), so their SQL is portable: it runs unchanged on SQLite
(>= 3.25, for window functions) and PostgreSQL. Names are joined in with
LEFT JOINs per entity kind rather than through a UNION view, because SQLite
cannot push a join key into a compound subquery and would scan the whole
catalogue for every lookup.

Alembic migration 0002 holds a frozen copy of these statements (migrations
must not change when this module does); tests/test_views.py fails when the
two drift apart, which is the cue to add a migration that recreates the view.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    """One view: its name, the SELECT that defines it, and what it answers."""

    name: str
    select: str
    doc: str

    @property
    def create_sql(self) -> str:
        """The CREATE VIEW statement; `{week}` stands for the dialect's week-start expression."""
        return f"CREATE VIEW {self.name} AS\n{self.select}"

    def create_sql_for(self, dialect: str) -> str:
        """The statement as the given backend runs it (`week_start` filled in)."""
        return self.create_sql.replace("{week}", WEEK_START[dialect])


# A name for any (entity_kind, entity_id) pair: artist name, track or album title.
_NAME_JOINS = """LEFT JOIN artists na ON {kind} = 'artist' AND na.id = {eid}
LEFT JOIN tracks nt ON {kind} = 'track' AND nt.id = {eid}
LEFT JOIN albums nl ON {kind} = 'album' AND nl.id = {eid}
LEFT JOIN artists nta ON nta.id = COALESCE(nt.artist_id, nl.artist_id)"""
_NAME = "COALESCE(na.name, nt.title, nl.title)"
_ARTIST_NAME = "COALESCE(na.name, nta.name)"


# The Monday (ISO week start) of a post's date as 'YYYY-MM-DD' text: no portable SQL
# exists for it, so the one view that needs it holds a `{week}` placeholder.
WEEK_START = {
    "sqlite": "date(COALESCE(d.published_at, d.fetched_at), 'weekday 0', '-6 days')",
    "postgresql": "to_char(date_trunc('week', COALESCE(d.published_at, d.fetched_at) "
    "AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
}


def _name_joins(kind: str, eid: str) -> str:
    return _NAME_JOINS.format(kind=kind, eid=eid)


VIEWS: tuple[View, ...] = (
    View(
        "entity_names",
        """SELECT 'artist' AS entity_kind, a.id AS entity_id, a.name AS name,
       a.id AS artist_id, a.name AS artist_name
FROM artists a
UNION ALL
SELECT 'track', t.id, t.title, t.artist_id, ta.name
FROM tracks t LEFT JOIN artists ta ON ta.id = t.artist_id
UNION ALL
SELECT 'album', al.id, al.title, al.artist_id, aa.name
FROM albums al LEFT JOIN artists aa ON aa.id = al.artist_id""",
        "Every catalogue entity with its display name and (for tracks/albums) its artist.",
    ),
    View(
        "track_descriptors",
        """SELECT d.entity_id AS track_id, t.title AS track, t.artist_id AS artist_id,
       a.name AS artist, d.term AS term, d.weight AS weight, d.count AS count,
       d.source AS source,
       ROW_NUMBER() OVER (PARTITION BY d.entity_id ORDER BY d.weight DESC, d.term)
         AS term_rank
FROM descriptors d
LEFT JOIN tracks t ON t.id = d.entity_id
LEFT JOIN artists a ON a.id = t.artist_id
WHERE d.entity_kind = 'track'""",
        "Descriptor terms of each track with track title and artist; term_rank 1 = strongest. "
        "Filter on term_rank for the top N, or on term for the tracks a word describes; "
        "source 'text' = read in its evidence, 'neighbours' = inferred from its neighbours.",
    ),
    View(
        "artist_descriptors",
        """SELECT d.entity_id AS artist_id, a.name AS artist, d.term AS term,
       d.weight AS weight, d.count AS count, d.source AS source,
       ROW_NUMBER() OVER (PARTITION BY d.entity_id ORDER BY d.weight DESC, d.term)
         AS term_rank
FROM descriptors d
LEFT JOIN artists a ON a.id = d.entity_id
WHERE d.entity_kind = 'artist'""",
        "Descriptor terms of each artist with the artist's name; term_rank 1 = strongest; "
        "source 'text' or 'neighbours' as in track_descriptors.",
    ),
    View(
        "descriptor_entities",
        f"""SELECT d.term AS term, d.entity_kind AS entity_kind, d.entity_id AS entity_id,
       {_NAME} AS name,
       {_ARTIST_NAME} AS artist_name,
       d.weight AS weight, d.count AS count, d.source AS source
FROM descriptors d
{_name_joins("d.entity_kind", "d.entity_id")}""",
        "Which artists, tracks and albums a term describes, with names: "
        "`WHERE term = 'hazy' ORDER BY weight DESC` (add `AND source = 'text'` for the "
        "ones whose own evidence says it).",
    ),
    View(
        "neighbor_names",
        f"""SELECT n.entity_kind AS entity_kind, n.entity_id AS entity_id,
       {_NAME} AS name,
       {_ARTIST_NAME} AS artist_name, n.rank AS rank, n.neighbor_id AS neighbor_id,
       COALESCE(xa.name, xt.title, xl.title) AS neighbor_name,
       COALESCE(xa.name, xta.name) AS neighbor_artist_name, n.score AS score,
       n.model AS model
FROM neighbors n
{_name_joins("n.entity_kind", "n.entity_id")}
LEFT JOIN artists xa ON n.entity_kind = 'artist' AND xa.id = n.neighbor_id
LEFT JOIN tracks xt ON n.entity_kind = 'track' AND xt.id = n.neighbor_id
LEFT JOIN albums xl ON n.entity_kind = 'album' AND xl.id = n.neighbor_id
LEFT JOIN artists xta ON xta.id = COALESCE(xt.artist_id, xl.artist_id)""",
        "Precomputed nearest neighbours with names on both sides; rank 1 = most similar.",
    ),
    View(
        "descriptor_trends",
        f"""SELECT m.entity_kind AS entity_kind, m.entity_id AS entity_id,
       {_NAME} AS name,
       {_ARTIST_NAME} AS artist_name, m.month AS month, m.term AS term,
       m.weight AS weight, m.count AS count
FROM descriptor_months m
{_name_joins("m.entity_kind", "m.entity_id")}""",
        "Descriptor weights per entity and calendar month ('YYYY-MM'), for trend lines.",
    ),
    View(
        "mention_evidence",
        """SELECT m.id AS mention_id, m.document_id AS document_id, d.url AS url,
       d.title AS title, d.published_at AS published_at, m.label AS label,
       m.entity_id AS entity_id, COALESCE(ma.name, mt.title, ml.title) AS entity_name,
       m.surface AS surface, m.start AS start, m."end" AS "end",
       m.confidence AS confidence, m.method AS method,
       SUBSTR(d.text, m.sent_start + 1, m.sent_end - m.sent_start) AS sentence
FROM mentions m
JOIN documents d ON d.id = m.document_id
LEFT JOIN artists ma ON m.label = 'ARTIST' AND ma.id = m.entity_id
LEFT JOIN tracks mt ON m.label = 'TRACK' AND mt.id = m.entity_id
LEFT JOIN albums ml ON m.label = 'ALBUM' AND ml.id = m.entity_id""",
        "Each mention with the sentence it occurs in (offsets are 0-based, SUBSTR is "
        "1-based), the document URL and the linked entity's name (null when unlinked).",
    ),
    View(
        "discoveries",
        """SELECT m.label AS label, m.norm_surface AS norm_surface,
       MIN(m.surface) AS surface, COUNT(*) AS mentions,
       COUNT(DISTINCT m.document_id) AS documents,
       MIN(d.published_at) AS first_seen, MAX(d.published_at) AS last_seen
FROM mentions m
JOIN documents d ON d.id = m.document_id
WHERE m.entity_id IS NULL
GROUP BY m.label, m.norm_surface""",
        "Unlinked mention candidates counted: names the catalogue lacks, most-mentioned "
        "first with `ORDER BY mentions DESC`.",
    ),
    View(
        "trending",
        f"""SELECT p.entity_kind AS entity_kind, p.entity_id AS entity_id,
       {_NAME} AS name,
       {_ARTIST_NAME} AS artist_name, p.document_id AS document_id,
       s.name AS source, d.url AS url, d.title AS title,
       COALESCE(d.published_at, d.fetched_at) AS posted_at, {{week}} AS week,
       p.mentions AS mentions
FROM (SELECT LOWER(label) AS entity_kind, entity_id, document_id, COUNT(*) AS mentions
      FROM mentions WHERE entity_id IS NOT NULL
      GROUP BY LOWER(label), entity_id, document_id) p
JOIN documents d ON d.id = p.document_id
LEFT JOIN sources s ON s.id = d.source_id
{_name_joins("p.entity_kind", "p.entity_id")}
WHERE d.duplicate_of IS NULL""",
        "One row per linked entity and post that mentions it, with the source, the post's "
        "date and its ISO week (Monday, 'YYYY-MM-DD'): count DISTINCT source and document_id "
        "per week for a chart that one prolific blog cannot carry.",
    ),
)

VIEW_NAMES: tuple[str, ...] = tuple(v.name for v in VIEWS)


def view(name: str) -> View:
    """The view called `name` (KeyError when there is none)."""
    for candidate in VIEWS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)

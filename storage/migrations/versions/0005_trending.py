"""The `trending` view: one row per linked entity and post, with source and ISO week.

Revision ID: 0005_trending
Revises: 0004_mention_candidates
Create Date: 2026-11-30 13:10:00

What `linernotes trending` and the trending page section count: distinct
sources and posts per artist/track and week. The week start has no portable
SQL, so the frozen statement holds a `{week}` placeholder filled per dialect.
A frozen copy, like 0002: change the view with a new revision.
"""

from __future__ import annotations

from alembic import op

revision = "0005_trending"
down_revision = "0004_mention_candidates"
branch_labels = None
depends_on = None

WEEK_START = {
    "sqlite": "date(COALESCE(d.published_at, d.fetched_at), 'weekday 0', '-6 days')",
    "postgresql": "to_char(date_trunc('week', COALESCE(d.published_at, d.fetched_at) "
    "AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
}

VIEWS: tuple[tuple[str, str], ...] = (
    (
        "trending",
        """CREATE VIEW trending AS
SELECT p.entity_kind AS entity_kind, p.entity_id AS entity_id,
       COALESCE(na.name, nt.title, nl.title) AS name,
       COALESCE(na.name, nta.name) AS artist_name, p.document_id AS document_id,
       s.name AS source, d.url AS url, d.title AS title,
       COALESCE(d.published_at, d.fetched_at) AS posted_at, {week} AS week,
       p.mentions AS mentions
FROM (SELECT LOWER(label) AS entity_kind, entity_id, document_id, COUNT(*) AS mentions
      FROM mentions WHERE entity_id IS NOT NULL
      GROUP BY LOWER(label), entity_id, document_id) p
JOIN documents d ON d.id = p.document_id
LEFT JOIN sources s ON s.id = d.source_id
LEFT JOIN artists na ON p.entity_kind = 'artist' AND na.id = p.entity_id
LEFT JOIN tracks nt ON p.entity_kind = 'track' AND nt.id = p.entity_id
LEFT JOIN albums nl ON p.entity_kind = 'album' AND nl.id = p.entity_id
LEFT JOIN artists nta ON nta.id = COALESCE(nt.artist_id, nl.artist_id)
WHERE d.duplicate_of IS NULL""",
    ),
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for _name, create_sql in VIEWS:
        op.execute(create_sql.replace("{week}", WEEK_START[dialect]))


def downgrade() -> None:
    for name, _create_sql in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")

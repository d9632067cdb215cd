"""SQL views for common questions (top descriptors, neighbours, trends, evidence, discoveries).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 05:50:00

The statements are a frozen copy of storage/views.py at the time of writing:
a migration must keep doing what it did when it shipped, so it does not import
the live definitions. Change a view by adding a migration that drops and
recreates it (tests/test_views.py flags any drift).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

VIEWS: tuple[tuple[str, str], ...] = (
    (
        "entity_names",
        """CREATE VIEW entity_names AS
SELECT 'artist' AS entity_kind, a.id AS entity_id, a.name AS name,
       a.id AS artist_id, a.name AS artist_name
FROM artists a
UNION ALL
SELECT 'track', t.id, t.title, t.artist_id, ta.name
FROM tracks t LEFT JOIN artists ta ON ta.id = t.artist_id
UNION ALL
SELECT 'album', al.id, al.title, al.artist_id, aa.name
FROM albums al LEFT JOIN artists aa ON aa.id = al.artist_id""",
    ),
    (
        "track_descriptors",
        """CREATE VIEW track_descriptors AS
SELECT d.entity_id AS track_id, t.title AS track, t.artist_id AS artist_id,
       a.name AS artist, d.term AS term, d.weight AS weight, d.count AS count,
       ROW_NUMBER() OVER (PARTITION BY d.entity_id ORDER BY d.weight DESC, d.term)
         AS term_rank
FROM descriptors d
LEFT JOIN tracks t ON t.id = d.entity_id
LEFT JOIN artists a ON a.id = t.artist_id
WHERE d.entity_kind = 'track'""",
    ),
    (
        "artist_descriptors",
        """CREATE VIEW artist_descriptors AS
SELECT d.entity_id AS artist_id, a.name AS artist, d.term AS term,
       d.weight AS weight, d.count AS count,
       ROW_NUMBER() OVER (PARTITION BY d.entity_id ORDER BY d.weight DESC, d.term)
         AS term_rank
FROM descriptors d
LEFT JOIN artists a ON a.id = d.entity_id
WHERE d.entity_kind = 'artist'""",
    ),
    (
        "descriptor_entities",
        """CREATE VIEW descriptor_entities AS
SELECT d.term AS term, d.entity_kind AS entity_kind, d.entity_id AS entity_id,
       COALESCE(na.name, nt.title, nl.title) AS name,
       COALESCE(na.name, nta.name) AS artist_name,
       d.weight AS weight, d.count AS count
FROM descriptors d
LEFT JOIN artists na ON d.entity_kind = 'artist' AND na.id = d.entity_id
LEFT JOIN tracks nt ON d.entity_kind = 'track' AND nt.id = d.entity_id
LEFT JOIN albums nl ON d.entity_kind = 'album' AND nl.id = d.entity_id
LEFT JOIN artists nta ON nta.id = COALESCE(nt.artist_id, nl.artist_id)""",
    ),
    (
        "neighbor_names",
        """CREATE VIEW neighbor_names AS
SELECT n.entity_kind AS entity_kind, n.entity_id AS entity_id,
       COALESCE(na.name, nt.title, nl.title) AS name,
       COALESCE(na.name, nta.name) AS artist_name, n.rank AS rank, n.neighbor_id AS neighbor_id,
       COALESCE(xa.name, xt.title, xl.title) AS neighbor_name,
       COALESCE(xa.name, xta.name) AS neighbor_artist_name, n.score AS score,
       n.model AS model
FROM neighbors n
LEFT JOIN artists na ON n.entity_kind = 'artist' AND na.id = n.entity_id
LEFT JOIN tracks nt ON n.entity_kind = 'track' AND nt.id = n.entity_id
LEFT JOIN albums nl ON n.entity_kind = 'album' AND nl.id = n.entity_id
LEFT JOIN artists nta ON nta.id = COALESCE(nt.artist_id, nl.artist_id)
LEFT JOIN artists xa ON n.entity_kind = 'artist' AND xa.id = n.neighbor_id
LEFT JOIN tracks xt ON n.entity_kind = 'track' AND xt.id = n.neighbor_id
LEFT JOIN albums xl ON n.entity_kind = 'album' AND xl.id = n.neighbor_id
LEFT JOIN artists xta ON xta.id = COALESCE(xt.artist_id, xl.artist_id)""",
    ),
    (
        "descriptor_trends",
        """CREATE VIEW descriptor_trends AS
SELECT m.entity_kind AS entity_kind, m.entity_id AS entity_id,
       COALESCE(na.name, nt.title, nl.title) AS name,
       COALESCE(na.name, nta.name) AS artist_name, m.month AS month, m.term AS term,
       m.weight AS weight, m.count AS count
FROM descriptor_months m
LEFT JOIN artists na ON m.entity_kind = 'artist' AND na.id = m.entity_id
LEFT JOIN tracks nt ON m.entity_kind = 'track' AND nt.id = m.entity_id
LEFT JOIN albums nl ON m.entity_kind = 'album' AND nl.id = m.entity_id
LEFT JOIN artists nta ON nta.id = COALESCE(nt.artist_id, nl.artist_id)""",
    ),
    (
        "mention_evidence",
        """CREATE VIEW mention_evidence AS
SELECT m.id AS mention_id, m.document_id AS document_id, d.url AS url,
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
    ),
    (
        "discoveries",
        """CREATE VIEW discoveries AS
SELECT m.label AS label, m.norm_surface AS norm_surface,
       MIN(m.surface) AS surface, COUNT(*) AS mentions,
       COUNT(DISTINCT m.document_id) AS documents,
       MIN(d.published_at) AS first_seen, MAX(d.published_at) AS last_seen
FROM mentions m
JOIN documents d ON d.id = m.document_id
WHERE m.entity_id IS NULL
GROUP BY m.label, m.norm_surface""",
    ),
)


def upgrade() -> None:
    for _name, create_sql in VIEWS:
        op.execute(create_sql)


def downgrade() -> None:
    for name, _create_sql in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")

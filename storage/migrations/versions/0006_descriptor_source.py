"""Descriptor terms say where they come from: read in the text, or inferred from neighbours.

Revision ID: 0006_descriptor_source
Revises: 0005_trending
Create Date: 2026-11-30 16:20:00

`descriptors.source` is 'text' for a term read in the entity's own evidence
(every row before this revision) and 'neighbours' for a descriptive
vocabulary term inferred from the entity's nearest neighbours (count 0; its
evidence_ids are the neighbours' sentences that use it). The three views over
`descriptors` gain the column, so they are dropped and recreated here; the
statements are frozen copies of storage/views.py, like 0002's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_descriptor_source"
down_revision = "0005_trending"
branch_labels = None
depends_on = None

VIEWS: tuple[tuple[str, str], ...] = (
    (
        "track_descriptors",
        """CREATE VIEW track_descriptors AS
SELECT d.entity_id AS track_id, t.title AS track, t.artist_id AS artist_id,
       a.name AS artist, d.term AS term, d.weight AS weight, d.count AS count,
       d.source AS source,
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
       d.weight AS weight, d.count AS count, d.source AS source,
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
       d.weight AS weight, d.count AS count, d.source AS source
FROM descriptors d
LEFT JOIN artists na ON d.entity_kind = 'artist' AND na.id = d.entity_id
LEFT JOIN tracks nt ON d.entity_kind = 'track' AND nt.id = d.entity_id
LEFT JOIN albums nl ON d.entity_kind = 'album' AND nl.id = d.entity_id
LEFT JOIN artists nta ON nta.id = COALESCE(nt.artist_id, nl.artist_id)""",
    ),
)

# 0002's statements, restored on downgrade.
PREVIOUS: tuple[tuple[str, str], ...] = (
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
)


def upgrade() -> None:
    for name, _sql in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.add_column(
        "descriptors",
        sa.Column("source", sa.String(12), nullable=False, server_default="text"),
    )
    for _name, sql in VIEWS:
        op.execute(sql)


def downgrade() -> None:
    for name, _sql in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    with op.batch_alter_table("descriptors") as batch:
        batch.drop_column("source")
    for _name, sql in PREVIOUS:
        op.execute(sql)

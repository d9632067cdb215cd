"""Embed caches: per-sentence part-of-speech tags and per-entity term bags.

Revision ID: 0007_embed_caches
Revises: 0006_descriptor_source
Create Date: 2026-11-30 16:00:00

`sentence_tags` keeps the nouns and adjectives spaCy found in each evidence
sentence (keyed by the exact text's hash and the tagger version), and
`entity_bags` each entity's descriptor term counts and 1-2 grams (keyed by
a hash of its evidence and of the names it excludes), so an incremental
`embed` neither re-tags every sentence nor re-extracts every entity's terms.
Both are caches: dropping their rows only costs the next run time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_embed_caches"
down_revision = "0006_descriptor_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sentence_tags",
        sa.Column("text_hash", sa.String(64), primary_key=True),
        sa.Column("tagger", sa.String(100), primary_key=True),
        sa.Column("words", sa.JSON(), nullable=False),
    )
    op.create_table(
        "entity_bags",
        sa.Column("entity_kind", sa.String(10), primary_key=True),
        sa.Column("entity_id", sa.String(300), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("bag", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("entity_bags")
    op.drop_table("sentence_tags")

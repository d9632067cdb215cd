"""Compact term bags: per-entity bag summaries as term ids into a shared vocabulary.

Revision ID: 0008_compact_bags
Revises: 0007_embed_caches
Create Date: 2026-11-30 21:40:00

`entity_bags.bag` was JSON of term strings; read back for every entity on
every `embed`, it took 3.2 GB and 70 s at 10,000 pages. It is now a binary
row of term ids (nlp/profiles/termbags.py: `BagRow.encode`) into the new
`bag_terms` vocabulary. The old rows are a cache and are simply dropped: the
next `embed` re-extracts the bags once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_compact_bags"
down_revision = "0007_embed_caches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("entity_bags")
    op.create_table(
        "entity_bags",
        sa.Column("entity_kind", sa.String(10), primary_key=True),
        sa.Column("entity_id", sa.String(300), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("bag", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "bag_terms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("term", sa.Text(), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("bag_terms")
    op.drop_table("entity_bags")
    op.create_table(
        "entity_bags",
        sa.Column("entity_kind", sa.String(10), primary_key=True),
        sa.Column("entity_id", sa.String(300), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("bag", sa.JSON(), nullable=False),
    )

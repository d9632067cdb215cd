"""Mention candidates: an ambiguous mention keeps every catalogue candidate it was chosen from.

Revision ID: 0004_mention_candidates
Revises: 0003_readonly_role
Create Date: 2026-11-30 13:10:00

`mentions.candidates` is a JSON list of [entity_id, score] pairs, best first, for a mention whose
name matched more than one catalogue entry (e.g. two tracks called "Heaven"); null otherwise.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_mention_candidates"
down_revision = "0003_readonly_role"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mentions", sa.Column("candidates", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("candidates")

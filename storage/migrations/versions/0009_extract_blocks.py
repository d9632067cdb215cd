"""Extract cache: the mention candidates of each block of text, by content.

Revision ID: 0009_extract_blocks
Revises: 0008_compact_bags
Create Date: 2026-12-02 12:40:00

`extract_blocks` keeps what the statistical pipeline and the candidate rules
found in one block (a line) of a document, keyed by a hash of the block's
text and of everything that decides the result (models, rules, catalogue,
code): a changed page re-runs the pipeline on its new lines only. A cache:
dropping its rows only costs the next run time.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_extract_blocks"
down_revision = "0008_compact_bags"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extract_blocks",
        sa.Column("block_hash", sa.String(64), primary_key=True),
        sa.Column("signature", sa.String(64), nullable=False, index=True),
        sa.Column("result", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("extract_blocks")

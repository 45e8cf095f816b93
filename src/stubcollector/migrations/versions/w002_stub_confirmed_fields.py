"""stubs.confirmed_fields: the fields the owner marked as right as read

Revision ID: w002
Revises: w001
Create Date: 2026-12-06 16:10:00

The owner can mark a field read from the photo as right without retyping it ("looks
right", ``PATCH /api/stubs/<id>`` with ``confirmed_fields``): a new reading keeps it, like a
correction, and it is no longer shown as a suggestion. The column is added with a server
default of ``[]``, so existing rows need no backfill and the old code (which does not send
it) keeps inserting stubs; on PostgreSQL a constant default is stored in the catalogue,
without rewriting the table.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "w002"
down_revision = "w001"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE on both databases, both ways (SQLite 3.35+ drops columns): no copy
    # of the whole table, which a batch operation makes on SQLite.
    op.add_column(
        "stubs",
        sa.Column("confirmed_fields", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    )


def downgrade():
    op.drop_column("stubs", "confirmed_fields")

"""outbox retention: delivered rows are erased after OUTBOX_RETENTION_DAYS, found by age

Revision ID: 0012_outbox_retention
Revises: 0011_delivered_emails_redacted
Create Date: 2026-12-08 05:00:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012_outbox_retention"
down_revision = "0011_delivered_emails_redacted"
branch_labels = None
depends_on = None

DELIVERED = sa.text("delivered_at IS NOT NULL")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Built without blocking the outbox's writes (every booking adds a row); CREATE
        # INDEX CONCURRENTLY runs outside a transaction.
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_outbox_delivered",
                "outbox",
                ["delivered_at"],
                unique=False,
                postgresql_where=DELIVERED,
                postgresql_concurrently=True,
            )
        return
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_delivered", ["delivered_at"], unique=False, sqlite_where=DELIVERED
        )


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_delivered")

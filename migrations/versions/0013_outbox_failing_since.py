"""outbox failing since: a row is given up a day after its first failure, not its creation

Revision ID: 0013_outbox_failing_since
Revises: 0012_outbox_retention
Create Date: 2026-12-08 05:30:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0013_outbox_failing_since"
down_revision = "0012_outbox_retention"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: adding it rewrites nothing. Rows failing now start their day
    # at their next failure.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing_since", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("failing_since")

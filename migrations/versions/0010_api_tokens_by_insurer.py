"""api tokens by insurer: the command line lists and revokes an insurer's tokens

Revision ID: 0010_api_tokens_by_insurer
Revises: 0009_trips_by_day
Create Date: 2026-12-07 23:10:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0010_api_tokens_by_insurer"
down_revision = "0009_trips_by_day"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_api_tokens_insurer_id", ["insurer_id"], unique=False)


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_insurer_id")

"""session security: last activity and last password entry of each login session

Revision ID: 0006_session_security
Revises: 0005_embedding
Create Date: 2026-11-30 19:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_session_security"
down_revision = "0005_embedding"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("password_entered_at", sa.DateTime(), nullable=True))
    # Sessions open at the upgrade: their login is their last known activity and password.
    op.execute(
        "UPDATE user_sessions SET last_seen_at = created_at, password_entered_at = created_at"
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.alter_column("last_seen_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("password_entered_at", existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_column("password_entered_at")
        batch_op.drop_column("last_seen_at")

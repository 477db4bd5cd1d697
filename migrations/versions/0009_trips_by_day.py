"""trips by day: the support desk's trips of a day, every family's

Revision ID: 0009_trips_by_day
Revises: 0008_backoffice
Create Date: 2026-12-07 21:05:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0009_trips_by_day"
down_revision = "0008_backoffice"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("trips", schema=None) as batch_op:
        batch_op.create_index("ix_trips_date_time", ["trip_date", "trip_time"], unique=False)


def downgrade():
    with op.batch_alter_table("trips", schema=None) as batch_op:
        batch_op.drop_index("ix_trips_date_time")

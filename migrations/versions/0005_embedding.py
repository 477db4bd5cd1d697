"""insurer branding for embedding: assistance e-mail, primary colour, logo

Revision ID: 0005_embedding
Revises: 0004_reimbursements
Create Date: 2026-11-27 12:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005_embedding"
down_revision = '0004_reimbursements'
branch_labels = None
depends_on = None


def upgrade():
    # Batch mode: SQLite cannot add a CHECK constraint to an existing table in place.
    with op.batch_alter_table("insurers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("primary_color", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("logo_stored_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("logo_media_type", sa.String(length=32), nullable=True))
        batch_op.create_check_constraint(
            "logo_pair", "(logo_stored_name IS NULL) = (logo_media_type IS NULL)"
        )
        batch_op.create_check_constraint(
            "logo_media_type", "logo_media_type IN ('image/png', 'image/svg+xml')"
        )


def downgrade():
    with op.batch_alter_table("insurers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_insurers_logo_media_type"), type_="check")
        batch_op.drop_constraint(op.f("ck_insurers_logo_pair"), type_="check")
        batch_op.drop_column("logo_media_type")
        batch_op.drop_column("logo_stored_name")
        batch_op.drop_column("primary_color")
        batch_op.drop_column("email")

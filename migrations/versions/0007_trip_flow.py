"""the trip flow: outbox, trip statuses, insurer delivery channels and API tokens

Revision ID: 0007_trip_flow
Revises: 0006_session_security
Create Date: 2026-11-30 19:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_trip_flow"
down_revision = "0006_session_security"
branch_labels = None
depends_on = None

TRIP_STATUSES = ("demande", "transmis", "confirme", "realise", "annule", "annule_assistance")


def upgrade():
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("insurer_id", sa.Integer(), nullable=True),
        sa.Column("trip_id", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=32), nullable=True),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("dead_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('email', 'event')", name=op.f("ck_outbox_kind")),
        sa.ForeignKeyConstraint(
            ["insurer_id"],
            ["insurers.id"],
            name=op.f("fk_outbox_insurer_id_insurers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    # What the worker scans: rows still owed, soonest first.
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["due_at", "id"],
        sqlite_where=sa.text("delivered_at IS NULL AND dead_at IS NULL"),
        postgresql_where=sa.text("delivered_at IS NULL AND dead_at IS NULL"),
    )
    # The earlier events of a trip still owed hold its later ones back.
    op.create_index(
        "ix_outbox_trip_pending",
        "outbox",
        ["trip_id", "id"],
        sqlite_where=sa.text("delivered_at IS NULL AND dead_at IS NULL AND trip_id IS NOT NULL"),
        postgresql_where=sa.text(
            "delivered_at IS NULL AND dead_at IS NULL AND trip_id IS NOT NULL"
        ),
    )

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("insurer_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["insurer_id"],
            ["insurers.id"],
            name=op.f("fk_api_tokens_insurer_id_insurers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_tokens_prefix")),
    )

    with op.batch_alter_table("insurers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flow_channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("flow_target", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("flow_secret", sa.String(length=100), nullable=True))
        batch_op.create_check_constraint("flow_channel", "flow_channel IN ('webhook', 'folder')")
        batch_op.create_check_constraint(
            "flow_pair", "(flow_channel IS NULL) = (flow_target IS NULL)"
        )

    with op.batch_alter_table("trips", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    *TRIP_STATUSES,
                    name="trip_status",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="demande",
            )
        )
        batch_op.add_column(sa.Column("transporter_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("transporter_phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("status_changed_at", sa.DateTime(), nullable=True))
    # Trips the parents cancelled before statuses existed.
    op.execute("UPDATE trips SET status = 'annule' WHERE cancelled_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table("trips", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_trips_trip_status"), type_="check")
        batch_op.drop_column("status_changed_at")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("transporter_phone")
        batch_op.drop_column("transporter_name")
        batch_op.drop_column("status")
    with op.batch_alter_table("insurers", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_insurers_flow_pair"), type_="check")
        batch_op.drop_constraint(op.f("ck_insurers_flow_channel"), type_="check")
        batch_op.drop_column("flow_secret")
        batch_op.drop_column("flow_target")
        batch_op.drop_column("flow_channel")
    op.drop_table("api_tokens")
    op.drop_index("ix_outbox_trip_pending", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")

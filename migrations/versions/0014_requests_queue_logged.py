"""requests queue logged: the access log records who read the reimbursement requests' queue

Revision ID: 0014_requests_queue_logged
Revises: 0013_outbox_failing_since
Create Date: 2026-12-08 06:00:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014_requests_queue_logged"
down_revision = "0013_outbox_failing_since"
branch_labels = None
depends_on = None

BEFORE = (
    "connexion",
    "connexion_refusee",
    "deconnexion",
    "recherche",
    "dossier_consulte",
    "justificatif_ouvert",
    "demande_consultee",
    "statut_modifie",
    "confirmation_renvoyee",
    "sessions_fermees",
    "trajets_consultes",
    "trajets_exportes",
    "journal_exporte",
)
AFTER = (*BEFORE, "demandes_consultees")


def _allow(actions) -> None:
    """The access_action check constraint, with these actions."""
    allowed = ", ".join(f"'{action}'" for action in actions)
    if op.get_bind().dialect.name == "postgresql":
        # Every staff page writes to the log: the constraint is swapped in one short
        # statement, NOT VALID (no scan of the log under its lock: going forward, the rows
        # were checked against a list this one contains), and the migration gives up
        # rather than queue behind a long transaction.
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.execute(
            "ALTER TABLE access_log DROP CONSTRAINT ck_access_log_access_action, "
            "ADD CONSTRAINT ck_access_log_access_action "
            f"CHECK (action IN ({allowed})) NOT VALID"
        )
        return
    # SQLite: the table is copied (it has no insert-only trigger there).
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_access_log_access_action"), type_="check")
        batch_op.create_check_constraint("access_action", sa.text(f"action IN ({allowed})"))


def upgrade():
    _allow(AFTER)


def downgrade():
    # The log is insert-only: rows of the queue already logged stay. On PostgreSQL the
    # narrower constraint, NOT VALID, then holds for new rows only; on SQLite the copy of
    # the table refuses them, and going back fails.
    _allow(BEFORE)

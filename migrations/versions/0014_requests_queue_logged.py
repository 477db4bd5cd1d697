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
        # Every staff page writes to the log. Outside the migration's transaction, the
        # constraint is swapped NOT VALID in one short ALTER (no scan under its exclusive
        # lock), then validated under a lock that lets the log's inserts go on; the
        # migration gives up rather than queue behind a long transaction.
        with op.get_context().autocommit_block():
            op.execute("SET lock_timeout = '5s'")
            op.execute(
                "ALTER TABLE access_log DROP CONSTRAINT ck_access_log_access_action, "
                "ADD CONSTRAINT ck_access_log_access_action "
                f"CHECK (action IN ({allowed})) NOT VALID"
            )
            op.execute("ALTER TABLE access_log VALIDATE CONSTRAINT ck_access_log_access_action")
            op.execute("RESET lock_timeout")
        return
    # SQLite: the table is copied (it has no insert-only trigger there).
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_access_log_access_action"), type_="check")
        batch_op.create_check_constraint("access_action", sa.text(f"action IN ({allowed})"))


def upgrade():
    _allow(AFTER)


def downgrade():
    # The log is insert-only: once the queue was logged, those rows stay, and going back
    # fails on them (the validation on PostgreSQL, the table's copy on SQLite).
    _allow(BEFORE)

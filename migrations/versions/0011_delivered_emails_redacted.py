"""delivered emails redacted: a delivered e-mail's row keeps its recipient and subject only

Revision ID: 0011_delivered_emails_redacted
Revises: 0010_api_tokens_by_insurer
Create Date: 2026-12-08 02:20:00

The worker now drops an e-mail's text once it is delivered (its links work for a while: a
password reset, a staff invitation). This does the same for the rows delivered before.
Data only; the downgrade cannot bring the texts back and changes nothing.
"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_delivered_emails_redacted"
down_revision = "0010_api_tokens_by_insurer"
branch_labels = None
depends_on = None

BATCH = 1000
outbox = sa.table(
    "outbox",
    sa.column("id", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("payload", sa.Text),
    sa.column("delivered_at", sa.DateTime),
)


def _recipient_and_subject(payload: str | None) -> dict:
    """What the row keeps; a payload no worker wrote (not a JSON object) keeps nothing."""
    try:
        email = json.loads(payload or "")
    except ValueError:
        email = None
    if not isinstance(email, dict):
        return {"to": None, "subject": None}
    return {"to": email.get("to"), "subject": email.get("subject")}


def upgrade():
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(outbox.c.id, outbox.c.payload)
            .where(
                outbox.c.kind == "email",
                outbox.c.delivered_at.is_not(None),
                outbox.c.id > last_id,
            )
            .order_by(outbox.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        changes = []
        for row in rows:
            kept = json.dumps(_recipient_and_subject(row.payload))
            if kept != row.payload:
                changes.append({"row_id": row.id, "kept": kept})
        if changes:
            connection.execute(
                outbox.update()
                .where(outbox.c.id == sa.bindparam("row_id"))
                .values(payload=sa.bindparam("kept")),
                changes,
            )
        last_id = rows[-1].id


def downgrade():
    pass

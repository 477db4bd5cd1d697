"""The committed migrations build exactly the schema the models describe."""

import json
from datetime import datetime

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from app.extensions import db
from app.models import OutboxMessage


def test_migrations_form_a_single_line(app):
    with app.app_context():
        config = current_app.extensions["migrate"].migrate.get_config()
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        assert compare_metadata(context, db.metadata) == []


# What the pages, the API and the worker look rows up by: each needs an index (or a unique
# constraint) whose first columns are these, so that a page costs the same whatever the
# number of rows (README, « Benchmark »). A partial index (WHERE) counts: the lookups
# marked so only ever ask for the rows it holds.
LOOKUPS = {
    "user_sessions": [("token_hash",), ("account_id",)],
    "accounts": [("email",), ("member_id",)],
    "members": [("insurer_id", "member_number")],
    "assistance_files": [("insurer_id", "member_number"), ("insurer_id", "number")],
    "guarantees": [("assistance_file_id",)],
    "offers": [("member_id",)],
    "insurers": [("slug",)],
    "insurer_origins": [("insurer_id",)],
    "addresses": [("account_id",)],
    "trips": [
        ("account_id", "trip_date"),
        ("child_id", "trip_date"),  # live trips only: a partial index, as the check is
        ("trip_date",),  # the support desk's trips of a day
        ("from_address_id",),
        ("to_address_id",),
    ],
    "outbox": [("due_at",), ("trip_id", "id"), ("message_id",)],  # pending ones: partial
    "reimbursement_requests": [("account_id", "created_at"), ("assistance_file_id",), ("number",)],
    "reimbursement_documents": [("request_id",), ("stored_name",)],
    "reimbursement_status_changes": [("request_id",)],
    "reimbursement_document_accesses": [("document_id",), ("account_id",)],
    "faq_entries": [("theme_id", "position"), ("slug",)],
    "faq_themes": [("slug",)],
    "auth_events": [("account_id",)],
    "api_tokens": [("token_hash",), ("prefix",), ("insurer_id",)],  # the command line's
    "staff_members": [("email",)],
    "staff_sessions": [("token_hash",), ("staff_id",)],
    "staff_recovery_codes": [("staff_id",)],
    "access_log": [("member_id", "created_at"), ("staff_id", "created_at"), ("created_at",)],
}


def test_every_lookup_has_an_index_in_the_migrated_database(app):
    with app.app_context():
        inspector = sa.inspect(db.engine)
        for table, lookups in LOOKUPS.items():
            keys = [index["column_names"] for index in inspector.get_indexes(table)]
            keys += [unique["column_names"] for unique in inspector.get_unique_constraints(table)]
            for columns in lookups:
                assert any(key[: len(columns)] == list(columns) for key in keys), (table, columns)


def test_delivered_emails_written_before_0011_keep_their_recipient_and_subject_only(app):
    """Migration 0011 drops the text of the e-mails delivered before the worker did so
    itself; an e-mail still owed keeps everything it needs."""
    email = {"to": "sophie.martin@example.fr", "subject": "Réinitialisation", "text": "lien"}
    with app.app_context():
        flask_migrate.downgrade(revision="0010_api_tokens_by_insurer")
        try:
            # The columns of 0010's table only: later revisions add others.
            for message_id, delivered in (("livre", datetime(2026, 5, 1)), ("du", None)):
                db.session.execute(
                    sa.insert(OutboxMessage.__table__).values(
                        message_id=message_id,
                        kind="email",
                        summary="e-mail",
                        payload=json.dumps({**email, "html": "<p>lien</p>"}),
                        created_at=datetime(2026, 5, 1),
                        due_at=datetime(2026, 5, 1),
                        attempts=0,
                        delivered_at=delivered,
                    )
                )
            db.session.commit()
        finally:
            db.session.rollback()
            flask_migrate.upgrade()
        payloads = dict(
            db.session.execute(sa.select(OutboxMessage.message_id, OutboxMessage.payload)).all()
        )
    assert json.loads(payloads["livre"]) == {"to": email["to"], "subject": email["subject"]}
    assert json.loads(payloads["du"])["text"] == "lien"

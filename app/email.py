"""E-mail: one helper, a `.txt` and an `.html` template per message, sent by the worker."""

from flask import current_app, render_template

from app import outbox


def public_url(path: str) -> str:
    """An absolute link for an e-mail, built from PUBLIC_URL, never from the request's Host."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def send_email(to: str, subject: str, template: str, **context) -> None:
    """Render `email/<template>.txt` and `.html` and queue them in the outbox.

    Nothing leaves here: the row joins the current transaction, the caller's commit writes
    it with the change it announces, and the worker sends it (or, without MAIL_SERVER,
    prints it to its console).
    """
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    outbox.add_email(to, subject, text, html)

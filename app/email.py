"""Sending e-mail: one helper, a `.txt` and an `.html` template per message."""

import logging

from flask import current_app, render_template
from flask_mail import Message

from app.extensions import mail

log = logging.getLogger("cartable.email")


def public_url(path: str) -> str:
    """An absolute link for an e-mail, built from PUBLIC_URL, never from the request's Host."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def send_email(to: str, subject: str, template: str, **context) -> None:
    """Send `email/<template>.txt` and `.html`; without MAIL_SERVER, print it to the console."""
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    if not current_app.config.get("MAIL_SERVER"):
        # Without a mail server, the console is the development mailbox.
        print(f"\n===== E-mail à {to} =====\nSujet : {subject}\n\n{text}", flush=True)
        print("===== Fin de l'e-mail =====\n", flush=True)
        return
    message = Message(subject=subject, recipients=[to], body=text, html=html)
    mail.send(message)

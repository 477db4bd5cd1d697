"""« Mon Espace »: account data, family, password, data export and account deletion."""

import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import login_required, logout_user
from flask_wtf import FlaskForm

from app.account import bp
from app.account import services as account_services
from app.account.export import export_account
from app.account.forms import (
    ChangePasswordForm,
    ConfirmPasswordForm,
    DeleteAccountForm,
    EditAccountForm,
)
from app.account.overview import overview
from app.auth import services
from app.auth.passwords import hash_password, verify_password
from app.auth.routes import safe_next
from app.auth.tokens import Purpose, TokenError, read_token
from app.auth_session import (
    current_account,
    end_all_sessions,
    end_other_sessions,
    lock_account,
    recent_password_required,
    record_event,
    record_password_entry,
    signed_in,
)
from app.clock import now, today, utcnow
from app.extensions import db, limiter
from app.former_addresses import redirect_slash_to_index
from app.forms import EMAIL_TAKEN
from app.models import AuthEventKind
from app.read_only import read_only
from app.trips import services as trip_services
from app.trips.rules import is_locked

WRONG_PASSWORD = "Le mot de passe saisi n'est pas le bon."
PASSWORD_NEEDED_FOR_EMAIL = (
    "Pour changer d'adresse e-mail, saisissez votre mot de passe actuel (le bon)."
)
CONTACT_SAVED = "Vos modifications sont enregistrées."
CONTACT_SAVED_TO_CONFIRM = (
    "Vos modifications sont enregistrées. Un e-mail de confirmation a été envoyé à {email} : "
    "la nouvelle adresse remplacera l'actuelle une fois confirmée."
)


def account_limit_key() -> str:
    """Rate-limit key for « Mon Espace » forms that check the password: the account."""
    return f"account:{signed_in().id}"


redirect_slash_to_index(bp)


@bp.get("")
@read_only
@login_required
def index():
    """« Mon Espace »: my account, my family, and what I can do from here."""
    return render_template("account/index.html", account=overview(signed_in()), today=today())


def contact_sent_message(count: int) -> str:
    """What the parent must know when the trips still changeable carry the new details."""
    if count == 1:
        return (
            "1 trajet prévu dans plus de 48 heures est envoyé de nouveau à l'assistance avec "
            "vos nouvelles coordonnées."
        )
    return (
        f"Les {count} trajets prévus dans plus de 48 heures sont envoyés de nouveau à "
        "l'assistance avec vos nouvelles coordonnées."
    )


def contact_kept_message(count: int, phone: str | None) -> str:
    """What the parent must know when locked trips keep the former details."""
    if count == 1:
        text = "1 trajet déjà transmis au transporteur garde vos anciennes coordonnées"
    else:
        text = f"{count} trajets déjà transmis au transporteur gardent vos anciennes coordonnées"
    return f"{text} : si besoin, contactez l'assistance" + (f" au {phone}." if phone else ".")


def _tell_trips_followed(sent: account_services.ContactSent, member) -> None:
    """What the new phone or e-mail did to the trips to come."""
    if sent.sent_again:
        flash(contact_sent_message(sent.sent_again), "info")
    if sent.kept:
        flash(contact_kept_message(sent.kept, trip_services.assistance_phone(member)), "info")


@bp.route("/modifier", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per 10 minutes", key_func=account_limit_key, methods=["POST"])
def edit():
    """« Modifier »: e-mail (confirmed again before it replaces the current one) and phone."""
    account = current_account()
    # The stored values on GET only: a POST holds what was posted, a missing field included.
    form = EditAccountForm(obj=account if request.method == "GET" else None)
    if form.validate_on_submit():
        new_email = form.email.data if form.email.data != account.email else None
        phone = form.phone.data
        if new_email and not verify_password(
            account.password_hash, form.current_password.data or ""
        ):
            # Whoever holds the mailbox can reset the password: only the owner may move it.
            form.current_password.errors.append(PASSWORD_NEEDED_FOR_EMAIL)
        elif (sent := account_services.change_contact(account, phone, new_email)) is None:
            form.email.errors.append(EMAIL_TAKEN)
        else:
            saved = CONTACT_SAVED_TO_CONFIRM.format(email=new_email) if new_email else CONTACT_SAVED
            flash(saved, "success")
            _tell_trips_followed(sent, signed_in().member)
            return redirect(url_for("account.index"))
    return render_template("account/edit.html", form=form)


@bp.route("/confirmer-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """The link sent to a new address shows a button; its POST makes it the account's e-mail."""
    try:
        account = read_token(token, Purpose.EMAIL_CHANGE)
    except TokenError as error:
        return render_template("auth/link_error.html", message=error.message), 400
    if not account.pending_email:
        return render_template(
            "auth/link_error.html", message="Aucun changement d'adresse n'est en attente."
        ), 400
    form = FlaskForm()
    if not form.validate_on_submit():  # mail scanners open links: only the button confirms
        return render_template("auth/confirm.html", form=form, email=account.pending_email)
    if (sent := account_services.confirm_email_change(account)) is None:
        return render_template("auth/link_error.html", message=EMAIL_TAKEN), 400
    flash("Votre nouvelle adresse e-mail est confirmée.", "success")
    _tell_trips_followed(sent, account.member)
    return redirect(url_for("account.index"))


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@login_required
@limiter.limit("5 per 10 minutes", key_func=account_limit_key, methods=["POST"])
def change_password():
    """« Mot de Passe »: the current one first, then the new one; other sessions end."""
    account = current_account()
    member = account.member
    form = ChangePasswordForm(personal=[member.first_name, member.last_name, member.member_number])
    if form.validate_on_submit():
        if not verify_password(account.password_hash, form.current_password.data):
            form.current_password.errors.append(WRONG_PASSWORD)
        else:
            account.password_hash = hash_password(form.password.data)
            account.password_changed_at = utcnow()
            end_other_sessions(account)
            record_event(AuthEventKind.PASSWORD_CHANGED, account)
            services.notify_password_changed(account)
            db.session.commit()
            flash(
                "Votre mot de passe a été modifié. Il sera demandé à votre prochaine connexion ; "
                "vos autres sessions ont été déconnectées.",
                "success",
            )
            return redirect(url_for("account.index"))
    return render_template("account/change_password.html", form=form)


@bp.route("/confirmer-mot-de-passe", methods=["GET", "POST"])
@login_required
@limiter.limit("5 per 10 minutes", key_func=account_limit_key, methods=["POST"])
def confirm_password():
    """The password typed again before an action that needs a recent one."""
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        if verify_password(current_account().password_hash, form.password.data):
            record_password_entry()
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("account.index"))
        form.password.errors.append(WRONG_PASSWORD)
    return render_template("account/confirm_password.html", form=form)


@bp.get("/mes-donnees")
@login_required
@recent_password_required
def export():
    """« Télécharger mes données »: a JSON file of everything held about the account."""
    data = export_account(current_account())
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="mes-donnees-cartable.json"'},
    )


@bp.route("/supprimer", methods=["GET", "POST"])
@login_required
@limiter.limit("5 per 10 minutes", key_func=account_limit_key, methods=["POST"])
def delete():
    """« Supprimer mon compte », after the password is typed again. The trips to come are
    cancelled with the assistance first; trips already sent to the transporter (less than
    48 h ahead) must be cancelled through the assistance before the account can go."""
    account = current_account()
    if request.method == "POST":
        # A trip booked in another tab either is saved before this reads the trips (and is
        # cancelled with them) or waits, and then finds no account.
        lock_account(account.id)
    moment = now()
    to_come = trip_services.trips_to_come(account.id, moment)
    locked = [trip for trip in to_come if is_locked(moment, trip.trip_date, trip.trip_time)]
    form = DeleteAccountForm()
    if not locked and form.validate_on_submit():
        if not verify_password(account.password_hash, form.password.data):
            form.password.errors.append(WRONG_PASSWORD)
        else:
            trip_services.cancel_trips(to_come)
            record_event(AuthEventKind.ACCOUNT_DELETED, account)
            end_all_sessions(account)
            account.member.account_deleted_at = utcnow()
            db.session.delete(account)
            db.session.commit()
            logout_user()
            flash("Votre compte a été supprimé.", "success")
            return redirect(url_for("main.index"))
    phone = trip_services.assistance_phone(signed_in().member) if locked else None
    return render_template(
        "account/delete.html", form=form, locked=len(locked), to_come=len(to_come), phone=phone
    )

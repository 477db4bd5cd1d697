"""Registration, e-mail confirmation, login, logout and forgotten password."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from app.auth import bp, rules, services
from app.auth.forms import EmailRequestForm, LoginForm, RegistrationForm, ResetPasswordForm
from app.auth.passwords import hash_password, verify_password
from app.auth.tokens import Purpose, TokenError, read_token
from app.auth_session import end_all_sessions, end_session, record_event, start_session
from app.clock import utcnow
from app.embedding import context as embedding
from app.extensions import db, limiter
from app.models import Account, AuthEventKind

ALREADY_CONFIRMED = "Votre adresse e-mail est déjà confirmée. Vous pouvez vous connecter."
LOGIN_FAILED = "Adresse e-mail ou mot de passe incorrect, ou inscription pas encore confirmée."
# The FAQ answer that helps with login problems.
LOGIN_HELP_SLUG = "probleme-de-connexion"


def _account_limit_key() -> str:
    """Rate-limit key of a login attempt: the account it targets (the e-mail typed)."""
    return "login:" + (request.form.get("email") or "").strip().lower()[:254]


def _failed_attempt(response) -> bool:
    """Only failed attempts count: a successful login answers with a redirection."""
    return response.status_code != 302


def safe_next(target: str | None) -> str | None:
    """Follow `next` only to a path of this site (no scheme, no host, no backslash)."""
    if not target or "\\" in target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _registration_form() -> tuple[RegistrationForm, bool]:
    """The form, its insurers offered (the embedding insurer's only, in its context), and
    whether to show their list."""
    insurers = embedding.registration_insurers(services.insurers_for_registration)
    form = RegistrationForm()
    form.insurer.choices = [(insurer.id, insurer.name) for insurer in insurers]
    show_insurer = len(insurers) > 1
    if not show_insurer and insurers:
        form.insurer.data = insurers[0].id
    return form, show_insurer


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit("10 per 10 minutes", methods=["POST"])
def register():
    """Create an account from the insurance card, then e-mail the confirmation link."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    form, show_insurer = _registration_form()
    if form.validate_on_submit():
        result = services.register_account(
            form.insurer.data,
            form.member_number.data,
            form.first_name.data,
            form.last_name.data,
            email=form.email.data,
            phone=form.phone.data,
            password=form.password.data,
        )
        if isinstance(result, Account):
            services.send_confirmation(result)
            return render_template("auth/check_email.html", email=result.email)
        errors = form[result.field].errors if result.field else form.form_errors
        errors.append(result.message)
    return render_template("auth/register.html", form=form, show_insurer=show_insurer)


@bp.route("/inscription/confirmer/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """The e-mailed link shows a button; only its POST confirms (mail scanners open links)."""
    try:
        account = read_token(token, Purpose.CONFIRM)
    except TokenError as error:
        if services.already_confirmed(error):
            flash(ALREADY_CONFIRMED, "info")
            return redirect(url_for("auth.login"))
        return render_template("auth/link_error.html", message=error.message), 400
    form = FlaskForm()
    if not form.validate_on_submit():
        return render_template("auth/confirm.html", form=form, email=account.email)
    services.confirm_account(account)
    flash("Votre adresse e-mail est confirmée. Vous pouvez maintenant vous connecter.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/inscription/renvoyer-confirmation", methods=["GET", "POST"])
@limiter.limit("5 per 10 minutes", methods=["POST"])
def resend_confirmation():
    """Send the confirmation link again; the answer never tells whether the account exists."""
    form = EmailRequestForm()
    if form.validate_on_submit():
        account = db.session.scalar(db.select(Account).filter_by(email=form.email.data))
        if account is not None and not account.is_confirmed:
            services.send_confirmation(account)
        return render_template("auth/resend_sent.html", email=form.email.data)
    return render_template("auth/resend_confirmation.html", form=form)


def _login_refusal(account: Account | None, password: str) -> str | None:
    """Why this login is refused, recorded as a failed attempt; None lets the member in.
    The password is checked even without an account, with the same work (timing)."""
    password_ok = verify_password(account.password_hash if account else None, password)
    if account is None or not password_ok or not account.is_confirmed:
        kind, message = AuthEventKind.LOGIN_FAILED, LOGIN_FAILED
    elif not embedding.may_log_in(account):
        kind, message = AuthEventKind.LOGIN_FAILED, embedding.other_insurer_message()
    elif not services.has_valid_offer(account.member):
        kind, message = AuthEventKind.LOGIN_REFUSED_OFFER, rules.OFFER_MESSAGE
    else:
        return None
    record_event(kind, account)
    db.session.commit()
    return message


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    methods=["POST"],
    deduct_when=_failed_attempt,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_limit_key,
    methods=["POST"],
    deduct_when=_failed_attempt,
)
def login():
    """Log in with e-mail and password; one message for every kind of failure."""
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.lower()
        account = db.session.scalar(db.select(Account).filter_by(email=email))
        refusal = _login_refusal(account, form.password.data)
        if refusal is None:
            start_session(account)
            return redirect(safe_next(request.args.get("next")) or url_for("account.index"))
        form.form_errors.append(refusal)
    return render_template("auth/login.html", form=form, help_slug=LOGIN_HELP_SLUG)


@bp.post("/deconnexion")
@login_required
def logout():
    """Log out this browser; the session cookie it held is useless afterwards."""
    end_session()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("main.index"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("5 per 10 minutes", methods=["POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = EmailRequestForm()
    if form.validate_on_submit():
        account = db.session.scalar(db.select(Account).filter_by(email=form.email.data))
        if account is not None:
            record_event(AuthEventKind.RESET_REQUESTED, account)
            services.send_reset(account)
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/mot-de-passe-oublie/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password from the e-mailed link (single use, one hour)."""
    try:
        account = read_token(token, Purpose.RESET)
    except TokenError as error:
        return render_template("auth/link_error.html", message=error.message), 400
    member = account.member
    form = ResetPasswordForm(personal=[member.first_name, member.last_name, member.member_number])
    if form.validate_on_submit():
        account.password_hash = hash_password(form.password.data)
        account.password_changed_at = utcnow()
        # The link came to this mailbox: the address is proven.
        account.confirmed_at = account.confirmed_at or utcnow()
        end_all_sessions(account)
        record_event(AuthEventKind.RESET, account)
        services.notify_password_changed(account)
        db.session.commit()
        flash("Votre mot de passe a été modifié. Vous pouvez vous connecter.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)

"""The pages of /gestion: login and enrolment, members, requests, trips, access log."""

import csv
import io
from collections.abc import Callable, Iterable
from datetime import UTC, date
from functools import wraps

import segno
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup

from app.auth.tokens import TokenError
from app.backoffice import bp, queries, rules, services
from app.backoffice.forms import (
    JournalFilterForm,
    SecondFactorForm,
    StaffLoginForm,
    StaffPasswordForm,
    StatusForm,
)
from app.clock import PARIS, today
from app.embedding.context import SESSION_KEY
from app.extensions import db, limiter
from app.models import AccessAction, ReimbursementStatus, StaffMember
from app.reimbursements import rules as reimbursement_rules
from app.reimbursements import services as reimbursement_services
from app.reimbursements import storage

# Reachable without a staff session: the login and the invitation's steps.
OPEN_ENDPOINTS = frozenset(
    {
        "backoffice.login",
        "backoffice.invitation",
        "backoffice.second_factor",
    }
)
SESSION_ENDED = "Votre session a expiré ou vous n'êtes pas connecté. Connectez-vous pour continuer."
UNKNOWN_STATUS = "Statut inconnu : la liste montre toutes les demandes."
BAD_DAY = "Date invalide : utilisez le format AAAA-MM-JJ, par exemple 2026-05-21."
CSV_SEPARATOR = ";"


@bp.before_request
def require_staff_session():
    """Every /gestion page but the login's needs a live staff session; no insurer context."""
    g.embedding_slug = g.embedding_session_slug = g.embedding_insurer = None
    session.pop(SESSION_KEY, None)
    g.staff_session = services.load_session()
    if g.staff_session is None and request.endpoint not in OPEN_ENDPOINTS:
        flash(SESSION_ENDED, "info")
        return redirect(url_for("backoffice.login"))
    return None


@bp.context_processor
def helpers():
    row = g.get("staff_session")
    return {
        "staff": row.staff if row is not None else None,
        "local_time": _local,
        "format_amount": reimbursement_rules.format_amount,
        "format_size": reimbursement_rules.format_size,
        "mask_iban": reimbursement_rules.mask_iban,
    }


def _local(stored):
    return stored.replace(tzinfo=UTC).astimezone(PARIS) if stored else None


def requires(permission: Callable[[StaffMember], bool]):
    """Refuse (403) a staff member whose role lacks `permission`."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not permission(services.current_staff()):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def _scope():
    return services.current_staff().insurer_ids


# --- Login, invitation, second factor -----------------------------------------------------


@bp.get("/")
def index():
    """The back-office's home: the member search."""
    return redirect(url_for(".members"))


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit("30 per 10 minutes", methods=["POST"])
def login():
    """E-mail, password and the second factor's code, in one form."""
    if g.staff_session is not None:
        return redirect(url_for(".members"))
    form = StaffLoginForm()
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data, form.code.data)
        if result.staff is not None:
            services.start_session(result.staff)
            return redirect(url_for(".members"))
        form.form_errors.append(result.error)
    return render_template("backoffice/login.html", form=form)


@bp.post("/deconnexion")
def logout():
    services.end_session()
    flash("Vous êtes déconnecté de la gestion.", "success")
    return redirect(url_for(".login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """The invitation's first step: choose a password (the members' rules)."""
    try:
        staff = services.read_invitation(token)
    except TokenError as error:
        return render_template("backoffice/link_error.html", message=error.message), 400
    form = StaffPasswordForm(personal=[staff.name, staff.email.split("@")[0]])
    if form.validate_on_submit():
        services.choose_password(staff, form.password.data)
        return redirect(url_for(".second_factor"))
    return render_template("backoffice/invitation.html", form=form, staff=staff)


@bp.route("/double-authentification", methods=["GET", "POST"])
def second_factor():
    """The invitation's second step: scan the QR code, type a code, keep the recovery codes."""
    staff = services.enrolling_staff()
    if staff is None:
        return render_template("backoffice/link_error.html", message=NO_ENROLMENT), 400
    form = SecondFactorForm()
    if form.validate_on_submit():
        codes = services.confirm_second_factor(staff, form.code.data)
        if codes is not None:
            return render_template("backoffice/recovery_codes.html", codes=codes)
        form.code.errors.append("Ce code n'est pas le bon. Saisissez le code affiché maintenant.")
    uri = rules.provisioning_uri(staff.totp_secret, staff.email)
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=4, title="QR code à scanner", dark="#000", light="#fff")
    svg = svg.replace("<svg ", '<svg role="img" aria-label="QR code à scanner" ', 1)
    return render_template(
        "backoffice/second_factor.html",
        form=form,
        staff=staff,
        secret=staff.totp_secret,
        qr_svg=Markup(svg),  # noqa: S704 - segno's own SVG, built from our secret
    )


NO_ENROLMENT = (
    "Aucune activation en cours sur ce navigateur. Ouvrez le lien de votre invitation, ou "
    "demandez-en une nouvelle à un administrateur."
)


# --- Members ------------------------------------------------------------------------------


@bp.get("/adherents")
def members():
    """Search by member number, name or e-mail."""
    query = request.args.get("q", "").strip()
    error, results = None, None
    if len(query) > rules.SEARCH_MAX_LENGTH:
        error, query = rules.SEARCH_TOO_LONG, query[: rules.SEARCH_MAX_LENGTH]
    elif query:
        # Logged first: a commit after the search would expire every result it loaded.
        services.log(AccessAction.SEARCH, detail=query)
        db.session.commit()
        results = queries.search_members(query, _scope())
    return render_template(
        "backoffice/members.html",
        query=query,
        error=error,
        results=results,
        account_state=queries.account_state,
    )


def _member_or_404(member_id: int):
    return queries.holder_in_scope(member_id, _scope()) or abort(404)


@bp.get("/adherents/<int:member_id>")
def member(member_id: int):
    """A member's file: identity, family, guarantees, account, addresses, trips, requests."""
    holder = _member_or_404(member_id)
    services.log(AccessAction.MEMBER_VIEWED, member=holder)
    db.session.commit()
    file = queries.member_file(holder)
    return render_template(
        "backoffice/member.html",
        file=file,
        state=queries.account_state(file.account, holder),
        today=today(),
        trip_status=trip_status,
    )


@bp.post("/adherents/<int:member_id>/renvoyer-confirmation")
def resend_confirmation(member_id: int):
    """« Renvoyer l'e-mail de confirmation » for an account not confirmed yet."""
    holder = _member_or_404(member_id)
    account = holder.account
    if account is None or account.confirmed_at is not None:
        flash("Ce compte n'attend pas de confirmation : aucun e-mail envoyé.", "error")
        return redirect(url_for(".member", member_id=member_id))
    from app.auth.services import send_confirmation

    services.log(AccessAction.CONFIRMATION_RESENT, member=holder, detail=account.email)
    send_confirmation(account)  # queues the e-mail and commits it with the log row
    flash(f"L'e-mail de confirmation a été renvoyé à {account.email}.", "success")
    return redirect(url_for(".member", member_id=member_id))


@bp.post("/adherents/<int:member_id>/fermer-sessions")
def close_sessions(member_id: int):
    """« Fermer toutes les sessions »: every browser of the member is logged out."""
    holder = _member_or_404(member_id)
    if holder.account is None:
        flash("Cet adhérent n'a pas de compte : aucune session à fermer.", "error")
        return redirect(url_for(".member", member_id=member_id))
    from app.auth_session import end_all_sessions

    end_all_sessions(holder.account)
    services.log(AccessAction.SESSIONS_CLOSED, member=holder)
    db.session.commit()
    flash("Toutes les sessions de l'adhérent ont été fermées.", "success")
    return redirect(url_for(".member", member_id=member_id))


def _serve(document, holder, download: bool):
    try:
        data = storage.path_of(document).read_bytes()
    except FileNotFoundError:
        current_app.logger.error("stored document %s is missing", document.stored_name)
        abort(404)
    detail = f"{document.request.number} : {document.original_name}"
    services.log(AccessAction.DOCUMENT_OPENED, member=holder, detail=detail)
    db.session.commit()
    return storage.document_response(document, data, view=not download, frame_ancestors="'none'")


@bp.get("/adherents/<int:member_id>/justificatifs/<int:document_id>")
def member_document(member_id: int, document_id: int):
    """Open one of the member's documents; the access is logged."""
    holder = _member_or_404(member_id)
    document = queries.document_of_member(holder, document_id) or abort(404)
    return _serve(document, holder, download=request.args.get("telecharger") == "1")


# --- Reimbursement requests ---------------------------------------------------------------


@bp.get("/remboursements")
def requests():
    """The queue of requests, oldest first, optionally of one status."""
    raw = request.args.get("statut", "").strip()
    status, error = None, None
    if raw:
        try:
            status = ReimbursementStatus(raw)
        except ValueError:
            error = UNKNOWN_STATUS
    # It names members and their requests: a look at many files at once.
    services.log(AccessAction.REQUESTS_VIEWED, detail=status.label if status else "Tous")
    db.session.commit()
    return render_template(
        "backoffice/requests.html",
        requests=queries.request_queue(status, _scope()),
        status=status,
        error=error,
        statuses=list(ReimbursementStatus),
    )


def _request_or_404(number: str, *, lock: bool = False):
    normalized = reimbursement_rules.normalize_request_number(number) or abort(404)
    return queries.request_in_scope(normalized, _scope(), lock=lock) or abort(404)


@bp.route("/remboursements/<number>", methods=["GET", "POST"])
def request_page(number: str):
    """A request with its documents and history; the status form for gestionnaire and admin."""
    staff = services.current_staff()
    if request.method == "POST" and not staff.role.processes_requests:
        abort(403)
    reimbursement = _request_or_404(number, lock=request.method == "POST")
    holder = reimbursement.account.member
    form = StatusForm(current=reimbursement.status) if staff.role.processes_requests else None
    if form is not None and form.validate_on_submit():
        new_status = ReimbursementStatus(form.status.data)
        services.log(
            AccessAction.STATUS_CHANGED,
            member=holder,
            detail=f"{reimbursement.number} : {new_status.label}",
        )
        # Queues the member's e-mail with the change (the outbox), as the CLI does.
        reimbursement_services.set_status(reimbursement, new_status, form.comment.data)
        flash(
            f"Statut « {new_status.label} » enregistré ; l'adhérent sera prévenu par e-mail.",
            "success",
        )
        return redirect(url_for(".request_page", number=reimbursement.number))
    # Shown whole, IBAN included: logged whether it is opened or shown again with the form's
    # errors.
    services.log(AccessAction.REQUEST_VIEWED, member=holder, detail=reimbursement.number)
    db.session.commit()
    if request.method == "GET" and form is not None:
        form.status.data = reimbursement.status.value
    return render_template(
        "backoffice/request.html", reimbursement=reimbursement, holder=holder, form=form
    )


@bp.get("/remboursements/<number>/justificatifs/<int:document_id>")
def request_document(number: str, document_id: int):
    """Open one of the request's documents; the access is logged."""
    reimbursement = _request_or_404(number)
    document = next((d for d in reimbursement.documents if d.id == document_id), None)
    if document is None:
        abort(404)
    return _serve(
        document,
        reimbursement.account.member,
        download=request.args.get("telecharger") == "1",
    )


# --- Trips of a day -----------------------------------------------------------------------


def _day() -> tuple[date, str | None]:
    raw = request.args.get("jour", "").strip()
    if not raw:
        return today(), None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw), None
    except ValueError:
        return today(), BAD_DAY


def trip_status(trip) -> str:
    """The status as parents see it, with the transporter or the assistance's reason."""
    if trip.transporter_name:
        return f"{trip.status.label} ({trip.transporter_name}, {trip.transporter_phone})"
    if trip.status_reason:
        return f"{trip.status.label} : {trip.status_reason}"
    return trip.status.label


def trip_rows(day_trips) -> Iterable[list[str]]:
    for item in day_trips:
        trip = item.trip
        yield [
            trip.trip_date.strftime("%d/%m/%Y"),
            trip.trip_time.strftime("%H:%M"),
            item.holder.insurer.name,
            item.holder.member_number,
            f"{trip.child.first_name} {trip.child.last_name}",
            trip.from_address.one_line,
            trip.to_address.one_line,
            trip_status(trip),
        ]


TRIP_HEADER = [
    "Date",
    "Heure",
    "Mutuelle",
    "Numéro adhérent",
    "Enfant",
    "Départ",
    "Arrivée",
    "Statut",
]


@bp.get("/trajets")
def trips():
    """Every trip of a day within the staff member's insurers."""
    day, error = _day()
    services.log(AccessAction.TRIPS_VIEWED, detail=day.isoformat())
    db.session.commit()
    day_trips = queries.trips_of_day(day, _scope())
    return render_template(
        "backoffice/trips.html",
        day=day,
        error=error,
        rows=list(trip_rows(day_trips)),
        header=TRIP_HEADER,
    )


def csv_response(header: list[str], rows: Iterable[list], filename: str) -> Response:
    """`;`-separated UTF-8 with a BOM (spreadsheets read the accents), formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_SEPARATOR, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([rules.spreadsheet_safe(cell) for cell in row])
    body = "\ufeff" + buffer.getvalue()
    return Response(
        body.encode(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/trajets.csv")
def trips_csv():
    """The same rows as the day's page, as a CSV file."""
    day, error = _day()
    if error:
        flash(error, "error")
        return redirect(url_for(".trips"))
    services.log(AccessAction.TRIPS_EXPORTED, detail=day.isoformat())
    db.session.commit()
    day_trips = queries.trips_of_day(day, _scope())
    return csv_response(TRIP_HEADER, trip_rows(day_trips), f"trajets-{day.isoformat()}.csv")


# --- Access log ---------------------------------------------------------------------------


def _journal_filters() -> tuple[JournalFilterForm, dict]:
    form = JournalFilterForm(request.args)
    form.staff.choices = [(0, "Tous"), *queries.staff_choices(_scope())]
    filters = {}
    if form.validate():
        filters = {
            "staff_id": form.staff.data or None,
            "member_number": form.member.data or None,
            "start": form.start.data,
            "end": form.end.data,
        }
    return form, filters


def log_rows(entries) -> Iterable[list[str]]:
    for entry in entries:
        yield [
            _local(entry.created_at).strftime("%d/%m/%Y %H:%M:%S"),
            f"{entry.staff.name} ({entry.staff.email})",
            entry.action.label,
            entry.member_ref or "",
            entry.detail or "",
            entry.ip or "",
        ]


LOG_HEADER = ["Date", "Membre du personnel", "Action", "Adhérent", "Détail", "Adresse IP"]


@bp.get("/journal")
@requires(lambda staff: staff.role.reads_access_log)
def journal():
    """The access log, newest first, filtered by staff member, member and dates."""
    form, filters = _journal_filters()
    rows = list(log_rows(queries.access_log(_scope(), **filters))) if not form.errors else []
    return render_template("backoffice/journal.html", form=form, rows=rows, header=LOG_HEADER)


@bp.get("/journal.csv")
@requires(lambda staff: staff.role.reads_access_log)
def journal_csv():
    form, filters = _journal_filters()
    if form.errors:
        flash("Filtres invalides : corrigez-les avant de télécharger le journal.", "error")
        return redirect(url_for(".journal"))
    services.log(AccessAction.LOG_EXPORTED)
    db.session.commit()
    entries = queries.access_log(_scope(), limit=None, **filters)
    return csv_response(LOG_HEADER, log_rows(entries), "journal-des-acces.csv")

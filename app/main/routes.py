from flask import current_app, flash, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from app.auth_session import unauthorized
from app.embedding.session import send_cookie_alone
from app.main import bp
from app.main.errors import FORM_EXPIRED, FORM_REFUSED, left_open_too_long
from app.security import UPLOAD_CHECK_PATH, csrf_field_name, upload_sender_refusal


@bp.get("/")
def index():
    """Home page: what the service is, and how to get in."""
    return render_template("main/index.html")


@bp.get(f"{UPLOAD_CHECK_PATH}/<path:target>")
def upload_check(target: str):
    """nginx asks here, before it reads the body of a POST to an upload form, whether the
    application would take it (deploy/nginx/cartable-proxy.conf): with the visitor's
    cookies, the upload's path and query after UPLOAD_CHECK_PATH, and no body. waitress
    receives a whole body before the application sees its request: only nginx can refuse
    an anonymous 60 MB upload before it arrives.

    204: nginx sends the request on. 401 or 403: nginx answers with a redirect to this
    answer's Location and its session cookie (the message to show), without the body."""
    page = f"{request.script_root}/{target}"
    try:
        endpoint, _ = current_app.url_map.bind_to_environ(request.environ).match(
            f"/{target}", method="POST"
        )
    except HTTPException:  # no such form: the application answers the request itself
        return "", 204
    if not getattr(current_app.view_functions[endpoint], "accepts_uploads", False):
        return "", 204
    refusal = upload_sender_refusal(request.args.get(csrf_field_name()))
    if refusal is None:
        return "", 204
    status, reason = refusal
    send_cookie_alone()  # nginx passes one Set-Cookie on, inside an insurer's frame too
    if status == 401:
        response = unauthorized(next_url=page)
    else:  # what the application says of a refused form, on the form's page
        flash(FORM_EXPIRED if left_open_too_long(reason) else FORM_REFUSED, "error")
        response = redirect(page)
    response.status_code = status
    return response


# Footer links.
FOOTER_LINKS = [
    ("faq.index", "Questions fréquentes"),
    ("faq.health_data", "Données de santé"),
    ("faq.browsers", "Navigateurs recommandés"),
    ("faq.cookies", "Cookies"),
    ("faq.scope", "Ce que couvre la plateforme"),
]


# « Mon Espace » shortcuts and header links.
ACCOUNT_SHORTCUTS = [
    ("addresses.index", "Mes adresses", "Domiciles, écoles, collèges et lycées de la famille."),
    ("trips.calendar", "Mes trajets", "Réserver, modifier ou annuler les trajets des enfants."),
    (
        "reimbursements.index",
        "Mes remboursements",
        "Demander le remboursement de frais liés à votre dossier d'assistance.",
    ),
]


@bp.app_context_processor
def inject_navigation():
    return {"footer_links": FOOTER_LINKS, "account_shortcuts": ACCOUNT_SHORTCUTS}

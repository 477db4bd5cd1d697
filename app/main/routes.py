from flask import render_template

from app.main import bp


@bp.get("/")
def index():
    """Home page: what the service is, and how to get in."""
    return render_template("main/index.html")


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

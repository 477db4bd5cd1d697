from flask import current_app, render_template

from app.main import bp


@bp.get("/")
def index():
    """Home page: what the service is, and how to get in."""
    return render_template("main/index.html")


# Footer links, shown only once the page they lead to exists.
FOOTER_LINKS = [
    ("faq.index", "Questions fréquentes"),
    ("faq.health_data", "Données de santé"),
    ("faq.browsers", "Navigateurs recommandés"),
    ("faq.cookies", "Cookies"),
    ("faq.scope", "Ce que couvre la plateforme"),
]


# « Mon Espace » shortcuts and header links, shown once the feature exists.
ACCOUNT_SHORTCUTS = [
    ("addresses.index", "Mes adresses", "Domiciles, écoles, collèges et lycées de la famille."),
    ("trips.calendar", "Mes trajets", "Réserver, modifier ou annuler les trajets des enfants."),
    (
        "reimbursements.index",
        "Mes remboursements",
        "Demander le remboursement de frais liés à votre dossier d'assistance.",
    ),
]


def _existing(links):
    return [link for link in links if link[0] in current_app.view_functions]


@bp.app_context_processor
def inject_navigation():
    return {
        "has_endpoint": lambda endpoint: endpoint in current_app.view_functions,
        "footer_links": lambda: _existing(FOOTER_LINKS),
        "account_shortcuts": lambda: _existing(ACCOUNT_SHORTCUTS),
    }

"""French error pages."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError

from app.extensions import db

ERRORS = {
    400: ("Requête invalide", "La requête envoyée n'a pas pu être comprise."),
    403: ("Accès refusé", "Vous n'avez pas accès à cette page."),
    404: ("Page introuvable", "La page demandée n'existe pas ou n'est plus disponible."),
    405: ("Action non permise", "Cette action n'est pas permise sur cette page."),
    413: (
        "Envoi trop volumineux",
        "Les données envoyées dépassent la taille autorisée. Réduisez la taille des fichiers "
        "et réessayez.",
    ),
    429: (
        "Trop de tentatives",
        "Trop de tentatives en peu de temps. Pour votre sécurité, veuillez patienter "
        "quelques minutes avant de réessayer.",
    ),
    500: (
        "Erreur du service",
        "Une erreur est survenue de notre côté. Veuillez réessayer dans quelques instants.",
    ),
}


def render_error(code: int, message: str | None = None, form_url: str | None = None):
    title, default_message = ERRORS[code]
    return (
        render_template(
            "errors/error.html",
            title=title,
            message=message or default_message,
            form_url=form_url,
        ),
        code,
    )


def register(app: Flask) -> None:
    for code in ERRORS:
        if code == 500:
            continue
        app.register_error_handler(code, lambda error, code=code: render_error(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            "Le formulaire a expiré ou n'a pas pu être vérifié. Rechargez la page et réessayez.",
            # The form's own page (same URL, read with GET): nothing was written.
            form_url=request.full_path.rstrip("?"),
        )

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()
        return render_error(500)

"""POST /api/v1/trajets/<trip>/statut: the assistance says where a trip stands."""

import hashlib

from flask import current_app, jsonify, request

from app.api import bp, tokens
from app.extensions import limiter
from app.trips import assistance
from app.trips.statuses import read_status_update

UNAUTHORIZED = "Jeton d'accès absent ou invalide : envoyez « Authorization: Bearer <jeton> »."
NOT_FOUND = "Aucun trajet de votre mutuelle ne porte ce numéro."
NOT_JSON = "Le corps de la requête doit être un objet JSON."


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _limit_key() -> str:
    """Each token has its own budget; requests without one share their address's."""
    token = _bearer_token()
    if token:
        return "api-token:" + hashlib.sha256(token.encode()).hexdigest()
    return "api-anonymous:" + (request.remote_addr or "")


def _error(status: int, message: str, fields: dict | None = None):
    body = {"error": message}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cartable"'
    return response


@bp.post("/trajets/<number>/statut")
@limiter.limit(
    lambda: current_app.config["API_LIMIT_PER_TOKEN"], key_func=_limit_key, methods=["POST"]
)
def trip_status(number: str):
    """Confirm (with the transporter), mark done, or cancel (with a reason) a trip."""
    insurer_id = tokens.insurer_of_token(_bearer_token() or "")
    if insurer_id is None:
        return _error(401, UNAUTHORIZED)
    trip = assistance.find_trip(number, insurer_id)
    if trip is None:
        return _error(404, NOT_FOUND)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(422, NOT_JSON, {"body": NOT_JSON})
    transporter = body.get("transporter")
    if transporter is None:
        transporter = {}
    if not isinstance(transporter, dict):
        return _error(422, "Requête invalide.", {"transporter": "Ce champ doit être un objet."})
    update, problems = read_status_update(
        body.get("status"), transporter.get("name"), transporter.get("phone"), body.get("reason")
    )
    if update is None:
        return _error(422, "Requête invalide.", problems)
    applied = assistance.apply_status(trip, update)
    if applied.refused:
        return _error(409, applied.refused)
    return jsonify(assistance.trip_state(trip))

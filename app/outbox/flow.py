"""Where an insurer's trip events go: rules for its webhook URL and its folder."""

from pathlib import Path
from urllib.parse import urlsplit

URL_MAX = 500
WEBHOOK_URL_MESSAGE = (
    "L'adresse du webhook « {url} » est invalide : elle doit commencer par https:// (http:// "
    "seulement sur cette machine : 127.0.0.1, ::1 ou localhost) et nommer un serveur, par "
    "exemple https://assistance.mutuelle.fr/cartable."
)
# Plain http only where the events never cross a network: they name a child, its
# addresses and the parent's phone.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
FOLDER_MESSAGE = "« {path} » n'est pas un dossier utilisable : {reason}."
BOTH_MESSAGE = "Choisissez entre --flow-webhook et --flow-folder."
ROTATE_MESSAGE = (
    "--rotate-flow-secret ne sert qu'à une mutuelle livrée par webhook "
    "(réglez d'abord --flow-webhook)."
)


def normalize_webhook_url(raw: str) -> str | None:
    """The URL when it is https with a host (or http on this machine) and no credentials in
    it, else None."""
    url = raw.strip()
    if not url or len(url) > URL_MAX or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return None
    if parts.username or parts.password:
        return None
    return url


def folder_problem(raw: str) -> str | None:
    """Why a path cannot receive event files, or None (it may not exist yet)."""
    path = Path(raw).expanduser()
    if not raw.strip() or len(str(path.resolve())) > URL_MAX:
        return FOLDER_MESSAGE.format(path=raw, reason="chemin vide ou trop long")
    if path.exists() and not path.is_dir():
        return FOLDER_MESSAGE.format(path=raw, reason="c'est un fichier")
    return None

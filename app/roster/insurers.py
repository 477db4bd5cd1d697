"""Insurers (the tenants): slug, name, assistance phone and the origins allowed to embed them.

`normalize_origin` is the one definition of an embedding origin, shared by the CLI and
the embedding checks: exactly `scheme://host[:port]`, http or https, as a browser sends it
in the `Origin` header (lower case, default port dropped, international names in punycode).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Insurer, InsurerOrigin

SLUG_LENGTH = 64
NAME_LENGTH = 200
ORIGIN_LENGTH = 255

SLUG_MESSAGE = (
    "L'identifiant « {slug} » est invalide : lettres minuscules sans accents, chiffres et "
    "tirets uniquement, sans tiret au début ni à la fin (par exemple « mutuelle-du-nord »)."
)
SLUG_TAKEN_MESSAGE = "La mutuelle « {slug} » existe déjà."
NAME_MESSAGE = "Le nom de la mutuelle est obligatoire (200 caractères au plus)."
PHONE_MESSAGE = (
    "Le numéro d'assistance « {phone} » est invalide : 10 chiffres, par exemple 01 23 45 67 89."
)
ORIGIN_MESSAGE = (
    "L'origine « {origin} » est invalide : attendu exactement http(s)://hôte ou "
    "http(s)://hôte:port, sans chemin, sans paramètres et sans joker (*)."
)

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ORIGIN = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s/?#@:\[\]\\]+)"
    r"(?::(?P<port>\d{1,5}))?"
    r"/?"
)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InsurerError(Exception):
    """The insurer was refused; `messages` says why, in French."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


def is_valid_slug(slug: str) -> bool:
    """Lower-case ASCII letters, digits and single inner hyphens: the `/e/<slug>` of the URL."""
    return len(slug) <= SLUG_LENGTH and _SLUG.fullmatch(slug) is not None


def normalize_origin(raw: str) -> str | None:
    """The web origin `scheme://host[:port]` as browsers serialise it, or None if malformed.

    Only http and https; no path (a lone trailing `/` is tolerated), query, fragment,
    credentials or wildcard. Host in lower case, IDN in punycode, default port dropped.
    """
    match = _ORIGIN.fullmatch((raw or "").strip())
    if match is None:
        return None
    scheme = match["scheme"].lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    host = _normalize_host(match["host"])
    if host is None:
        return None
    origin = f"{scheme}://{host}"
    if match["port"] is not None:
        port = int(match["port"])
        if not 1 <= port <= 65535:
            return None
        if port != _DEFAULT_PORTS[scheme]:
            origin += f":{port}"
    return origin if len(origin) <= ORIGIN_LENGTH else None


def _normalize_host(host: str) -> str | None:
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            return None
    try:
        ascii_host = host.lower().encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if all(label.isdigit() for label in labels):
        try:
            return str(ipaddress.IPv4Address(ascii_host))
        except ValueError:
            return None
    return ascii_host


def normalize_phone(raw: str) -> str | None:
    """A French phone number (landline, mobile or 08) as `01 23 45 67 89`, or None."""
    compact = re.sub(r"[\s.\-]", "", raw or "")
    if compact.startswith("+33"):
        compact = "0" + compact[3:]
    elif compact.startswith("0033"):
        compact = "0" + compact[4:]
    if not re.fullmatch(r"0[1-9]\d{8}", compact):
        return None
    return " ".join(compact[i : i + 2] for i in range(0, 10, 2))


def create_insurer(
    session: Session,
    slug: str,
    name: str,
    *,
    phone: str | None = None,
    origins: Iterable[str] = (),
) -> Insurer:
    """Create an insurer with its embedding origins and commit; InsurerError when refused."""
    messages = []
    if not is_valid_slug(slug):
        messages.append(SLUG_MESSAGE.format(slug=slug))
    clean_name = " ".join(name.split())
    if not clean_name or len(clean_name) > NAME_LENGTH:
        messages.append(NAME_MESSAGE)
    clean_phone = None
    if phone is not None:
        clean_phone = normalize_phone(phone)
        if clean_phone is None:
            messages.append(PHONE_MESSAGE.format(phone=phone))
    clean_origins: list[str] = []
    for raw in origins:
        origin = normalize_origin(raw)
        if origin is None:
            messages.append(ORIGIN_MESSAGE.format(origin=raw))
        elif origin not in clean_origins:
            clean_origins.append(origin)
    if not messages and session.scalar(sa.select(Insurer.id).where(Insurer.slug == slug)):
        messages.append(SLUG_TAKEN_MESSAGE.format(slug=slug))
    if messages:
        raise InsurerError(messages)

    insurer = Insurer(
        slug=slug,
        name=clean_name,
        phone=clean_phone,
        origins=[InsurerOrigin(origin=origin) for origin in clean_origins],
    )
    session.add(insurer)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise InsurerError([SLUG_TAKEN_MESSAGE.format(slug=slug)]) from None
    return insurer

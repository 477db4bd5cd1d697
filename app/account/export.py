"""« Télécharger mes données »: everything held about an account, as one JSON document.

Each feature that stores personal data adds a section with `register_section`.
"""

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from app.auth.services import family_of
from app.extensions import db
from app.models import Account, AssistanceFile, AuthEvent, UserSession

Section = Callable[[Account], Any]
_SECTIONS: dict[str, Section] = {}


def register_section(name: str) -> Callable[[Section], Section]:
    def decorator(function: Section) -> Section:
        _SECTIONS[name] = function
        return function

    return decorator


def _iso(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


@register_section("compte")
def _account(account: Account):
    member = account.member
    return {
        "adresse_email": account.email,
        "adresse_email_en_attente": account.pending_email,
        "telephone_portable": account.phone,
        "cree_le": _iso(account.created_at),
        "confirme_le": _iso(account.confirmed_at),
        "mot_de_passe_modifie_le": _iso(account.password_changed_at),
        "mutuelle": member.insurer.name,
        "numero_adherent": member.member_number,
        "qualite": member.quality.label,
        "nom": member.last_name,
        "prenom": member.first_name,
        "date_de_naissance": _iso(member.birth_date),
        "offres": [
            {"debut": _iso(offer.starts_on), "fin": _iso(offer.ends_on)} for offer in member.offers
        ],
    }


@register_section("famille")
def _family(account: Account):
    return [
        {
            "nom": person.last_name,
            "prenom": person.first_name,
            "qualite": person.quality.label,
            "date_de_naissance": _iso(person.birth_date),
        }
        for person in family_of(account.member)
    ]


@register_section("dossiers_assistance")
def _files(account: Account):
    files = db.session.scalars(
        sa.select(AssistanceFile)
        .where(
            AssistanceFile.insurer_id == account.member.insurer_id,
            AssistanceFile.member_number == account.member.member_number,
        )
        .options(sa.orm.selectinload(AssistanceFile.guarantees))
    )
    return [
        {
            "numero": file.number,
            "garanties": [
                {"garantie": g.kind.label, "debut": _iso(g.starts_on), "fin": _iso(g.ends_on)}
                for g in file.guarantees
            ],
        }
        for file in files
    ]


@register_section("sessions")
def _sessions(account: Account):
    rows = db.session.scalars(sa.select(UserSession).where(UserSession.account_id == account.id))
    return [
        {"ouverte_le": _iso(s.created_at), "adresse_ip": s.ip, "navigateur": s.user_agent}
        for s in rows
    ]


@register_section("journal_de_connexion")
def _events(account: Account):
    rows = db.session.scalars(
        sa.select(AuthEvent).where(AuthEvent.account_id == account.id).order_by(AuthEvent.id)
    )
    return [{"evenement": e.kind.value, "le": _iso(e.created_at), "adresse_ip": e.ip} for e in rows]


def export_account(account: Account) -> dict[str, Any]:
    return {name: section(account) for name, section in _SECTIONS.items()}

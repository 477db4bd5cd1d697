"""Account operations that touch the database: roster matching, offers, e-mails sent."""

from typing import NamedTuple

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.exc import IntegrityError

from app.auth import rules
from app.auth.passwords import hash_password
from app.auth.tokens import Purpose, TokenError, make_token
from app.auth_session import record_event
from app.clock import today, utcnow
from app.email import public_url, send_email
from app.extensions import db
from app.forms import EMAIL_TAKEN
from app.models import Account, AuthEventKind, Insurer, Member, Offer, Quality
from app.text import fold_name

REGISTRABLE = (Quality.ADHERENT, Quality.SOUSCRIPTEUR)
MATCH_FAILED = (
    "Nous ne trouvons pas d'adhérent ou de souscripteur correspondant à ces informations. "
    "Vérifiez le numéro adhérent, le prénom et le nom tels qu'ils figurent sur votre carte "
    "de tiers payant."
)
MEMBER_HAS_ACCOUNT = (
    "Un compte existe déjà pour cet adhérent. Connectez-vous, ou utilisez « J'ai oublié mon "
    "mot de passe » si vous ne vous en souvenez plus."
)


class Refusal(NamedTuple):
    """Why a registration was refused; `field` names the field it belongs to, if any."""

    message: str
    field: str | None = None


def insurers_for_registration() -> list[Insurer]:
    return list(db.session.scalars(sa.select(Insurer).order_by(Insurer.name)))


def find_registrable_member(
    insurer_id: int, member_number: str, first_name: str, last_name: str
) -> Member | None:
    """The roster's Adhérent or Souscripteur matching the card, names folded."""
    number = rules.normalize_member_number(member_number)
    if number is None:
        return None
    return db.session.scalars(
        sa.select(Member)
        .where(
            Member.insurer_id == insurer_id,
            Member.member_number == number,
            Member.first_name_key == fold_name(first_name),
            Member.last_name_key == fold_name(last_name),
            Member.quality.in_(REGISTRABLE),
        )
        .order_by(Member.id)
    ).first()


def register_account(
    insurer_id: int,
    member_number: str,
    first_name: str,
    last_name: str,
    *,
    email: str,
    phone: str,
    password: str,
) -> Account | Refusal:
    """Create the account of the card's member (not yet confirmed), or say why not.

    A failed match never tells which of the number and the names was wrong.
    """
    member = find_registrable_member(insurer_id, member_number, first_name, last_name)
    if member is None:
        return Refusal(MATCH_FAILED)
    if member.account is not None:
        return Refusal(MEMBER_HAS_ACCOUNT)
    if not has_valid_offer(member):
        return Refusal(rules.OFFER_MESSAGE)
    if email_taken(email):
        return Refusal(EMAIL_TAKEN, "email")
    account = Account(
        member=member,
        email=email,
        phone=rules.normalize_phone(phone),
        password_hash=hash_password(password),
    )
    db.session.add(account)
    try:
        db.session.flush()
    except IntegrityError:
        # Another registration for this member or e-mail won the race.
        db.session.rollback()
        return Refusal(MEMBER_HAS_ACCOUNT)
    record_event(AuthEventKind.REGISTER, account)
    return account


def has_valid_offer(member: Member) -> bool:
    """Whether the member holds, today in Paris, an offer that gives access to the service."""
    periods = db.session.execute(
        sa.select(Offer.starts_on, Offer.ends_on).where(Offer.member_id == member.id)
    ).all()
    return rules.has_valid_offer(periods, today())


def family_of(member: Member) -> list[Member]:
    """The other people of the member's contract (same insurer and member number)."""
    return list(
        db.session.scalars(
            sa.select(Member)
            .where(
                Member.insurer_id == member.insurer_id,
                Member.member_number == member.member_number,
                Member.id != member.id,
            )
            .order_by(Member.birth_date, Member.first_name)
        )
    )


def email_taken(email: str, except_account: Account | None = None) -> bool:
    """Whether an account uses this address; an unconfirmed new address blocks nobody."""
    query = sa.select(Account.id).where(Account.email == email)
    if except_account is not None:
        query = query.where(Account.id != except_account.id)
    return db.session.scalar(query.limit(1)) is not None


def send_confirmation(account: Account) -> None:
    """E-mail the link that confirms the account (older links stop working). Commits."""
    token = make_token(account, Purpose.CONFIRM)
    link = public_url(url_for("auth.confirm", token=token))
    send_email(
        account.email,
        "Confirmez votre inscription à Cartable",
        "confirm",
        account=account,
        link=link,
    )
    db.session.commit()


def send_reset(account: Account) -> None:
    """E-mail the link to set a new password (older links stop working). Commits."""
    token = make_token(account, Purpose.RESET)
    link = public_url(url_for("auth.reset_password", token=token))
    send_email(
        account.email,
        "Choisissez un nouveau mot de passe",
        "reset_password",
        account=account,
        link=link,
    )
    db.session.commit()


def send_email_change(account: Account) -> None:
    """E-mail the new address the link that confirms it. Commits."""
    token = make_token(account, Purpose.EMAIL_CHANGE)
    link = public_url(url_for("account.confirm_email", token=token))
    send_email(
        account.pending_email,
        "Confirmez votre nouvelle adresse e-mail",
        "confirm_email_change",
        account=account,
        link=link,
    )
    db.session.commit()


def notify_email_changed(account: Account, old_email: str) -> None:
    """Tell the previous address that the account now uses another one (the caller commits)."""
    send_email(
        old_email,
        "L'adresse e-mail de votre compte a été modifiée",
        "email_changed",
        account=account,
    )


def notify_password_changed(account: Account) -> None:
    """Tell the account its password changed (the caller commits)."""
    send_email(
        account.email,
        "Votre mot de passe a été modifié",
        "password_changed",
        account=account,
        reset_link=public_url(url_for("auth.forgot_password")),
    )


def confirm_account(account: Account) -> None:
    """The owner pressed the e-mailed link's button: the account may log in. Commits."""
    account.confirmed_at = utcnow()
    record_event(AuthEventKind.CONFIRM, account)
    db.session.commit()


def already_confirmed(error: TokenError) -> bool:
    """Whether a refused confirmation link is one that already did its work (opened twice)."""
    return error.used_by is not None and error.used_by.is_confirmed

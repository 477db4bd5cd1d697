"""Account operations that touch the database: roster matching, offers, e-mails sent."""

import sqlalchemy as sa
from flask import url_for

from app.auth import rules
from app.auth.tokens import Purpose, make_token
from app.clock import today
from app.email import public_url, send_email
from app.extensions import db
from app.models import Account, Insurer, Member, Offer, Quality

REGISTRABLE = (Quality.ADHERENT, Quality.SOUSCRIPTEUR)


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
            Member.first_name_key == rules.fold_name(first_name),
            Member.last_name_key == rules.fold_name(last_name),
            Member.quality.in_(REGISTRABLE),
        )
        .order_by(Member.id)
    ).first()


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
    db.session.commit()
    link = public_url(url_for("auth.confirm", token=token))
    send_email(
        account.email,
        "Confirmez votre inscription à Cartable",
        "confirm",
        account=account,
        link=link,
    )


def send_reset(account: Account) -> None:
    """E-mail the link to set a new password (older links stop working). Commits."""
    token = make_token(account, Purpose.RESET)
    db.session.commit()
    link = public_url(url_for("auth.reset_password", token=token))
    send_email(
        account.email,
        "Choisissez un nouveau mot de passe",
        "reset_password",
        account=account,
        link=link,
    )


def send_email_change(account: Account) -> None:
    """E-mail the new address the link that confirms it. Commits."""
    token = make_token(account, Purpose.EMAIL_CHANGE)
    db.session.commit()
    link = public_url(url_for("account.confirm_email", token=token))
    send_email(
        account.pending_email,
        "Confirmez votre nouvelle adresse e-mail",
        "confirm_email_change",
        account=account,
        link=link,
    )


def notify_email_changed(account: Account, old_email: str) -> None:
    """Tell the previous address that the account now uses another one."""
    send_email(
        old_email,
        "L'adresse e-mail de votre compte a été modifiée",
        "email_changed",
        account=account,
    )


def notify_password_changed(account: Account) -> None:
    send_email(
        account.email,
        "Votre mot de passe a été modifié",
        "password_changed",
        account=account,
        reset_link=public_url(url_for("auth.forgot_password")),
    )

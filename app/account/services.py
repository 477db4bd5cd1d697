"""« Mon Espace »'s changes that reach beyond the account: a new phone or e-mail is how the
assistance and the transporter reach the parent, so the trips still changeable carry it."""

from sqlalchemy.exc import IntegrityError

from app.auth import services as auth_services
from app.auth.rules import normalize_phone
from app.auth_session import end_other_sessions, record_event
from app.clock import now
from app.extensions import db
from app.models import Account, AuthEventKind
from app.trips import services as trip_services
from app.trips.services import ContactSent


def change_contact(account: Account, phone: str, new_email: str | None) -> ContactSent | None:
    """Save the phone, and e-mail the new address its confirmation link (it replaces the
    current one once confirmed); None when another account uses that address. A new phone
    reaches the assistance with the trips still changeable: what was sent again, and what
    keeps the former phone."""
    if new_email and auth_services.email_taken(new_email, except_account=account):
        return None
    phone = normalize_phone(phone)
    sent = ContactSent(0, 0)
    if phone != account.phone:
        account.phone = phone
        db.session.flush()
        sent = trip_services.send_new_contact(account.id, now())
    if new_email:
        account.pending_email = new_email
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    if new_email:
        auth_services.send_email_change(account)
    return sent


def confirm_email_change(account: Account) -> ContactSent | None:
    """The new address's link was confirmed: it becomes the account's e-mail, the other
    browsers are logged out (this one stays in if it is the account's own), the former
    address is told and the trips still changeable reach the assistance with it. None, and
    the change dropped, when another account uses the address now (the unique index
    decides, so a registration racing this one cannot slip in between a check and the
    commit). Commits."""
    old_email = account.email
    account.email, account.pending_email = account.pending_email, None
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        account.pending_email = None
        db.session.commit()
        return None
    end_other_sessions(account)
    record_event(AuthEventKind.EMAIL_CHANGED, account)
    auth_services.notify_email_changed(account, old_email)
    sent = trip_services.send_new_contact(account.id, now())
    db.session.commit()
    return sent

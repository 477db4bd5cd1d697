"""What « Mon Espace » shows, read as plain columns in one round trip.

The page only reads: the account, its member and insurer, the member's offers and the
other people of the contract come back as rows, with no ORM object to build, track and
throw away (profiled: the ORM's loading was two fifths of the page's work).
"""

from datetime import date
from typing import NamedTuple

import sqlalchemy as sa
from flask import abort

from app.auth_session import SignedIn
from app.extensions import db
from app.models import Account, Insurer, Member, Offer, Quality
from app.models.roster import age_on
from app.models.types import typed_null

# `part` tells the rows apart: 0 the account with its member and insurer, 1 the member's
# offers (by start), 2 the family (by birth date, then first name). Built once, with bound
# parameters: each request skips the statement's construction and cache-key work.
_OVERVIEW = sa.union_all(
    sa.select(
        sa.literal_column("0", sa.Integer).label("part"),
        Member.first_name.label("first_name"),
        Member.last_name.label("last_name"),
        Member.quality.label("quality"),
        Member.birth_date.label("day"),
        typed_null(sa.Date()).label("until"),
        Member.member_number.label("member_number"),
        Insurer.name.label("insurer"),
        Account.email.label("email"),
        Account.pending_email.label("pending_email"),
        Account.phone.label("phone"),
    )
    .join(Member, Account.member_id == Member.id)
    .join(Insurer, Member.insurer_id == Insurer.id)
    .where(Account.id == sa.bindparam("account_id")),
    sa.select(
        sa.literal_column("1", sa.Integer),
        *[typed_null()] * 2,
        typed_null(Member.quality.type),
        Offer.starts_on,
        Offer.ends_on,
        *[typed_null()] * 5,
    ).where(Offer.member_id == sa.bindparam("member_id")),
    sa.select(
        sa.literal_column("2", sa.Integer),
        Member.first_name,
        Member.last_name,
        Member.quality,
        Member.birth_date,
        typed_null(sa.Date()),
        *[typed_null()] * 5,
    ).where(
        Member.insurer_id == sa.bindparam("insurer_id"),
        Member.member_number == sa.bindparam("number"),
        Member.id != sa.bindparam("member_id"),
    ),
).order_by("part", "day", "first_name")


class OfferPeriod(NamedTuple):
    starts_on: date
    ends_on: date


class Person(NamedTuple):
    """The member or one of the family, as the page names them."""

    first_name: str
    last_name: str
    quality: Quality
    birth_date: date

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


class Overview(NamedTuple):
    member: Person
    member_number: str
    insurer: str
    email: str
    pending_email: str | None
    phone: str
    offers: list[OfferPeriod]
    family: list[Person]


def overview(identity: SignedIn) -> Overview:
    """The account of this request as « Mon Espace » shows it; 404 when it was deleted by
    another request since the identity was read."""
    member = identity.member
    rows = db.session.connection().execute(
        _OVERVIEW,
        {
            "account_id": identity.id,
            "member_id": member.id,
            "insurer_id": member.insurer_id,
            "number": member.member_number,
        },
    )
    account, offers, family = None, [], []
    for part, first_name, last_name, quality, day, until, *account_columns in rows:
        if part == 0:
            account = (Person(first_name, last_name, quality, day), *account_columns)
        elif part == 1:
            offers.append(OfferPeriod(day, until))
        else:
            family.append(Person(first_name, last_name, quality, day))
    if account is None:
        abort(404)
    return Overview(*account, offers, family)

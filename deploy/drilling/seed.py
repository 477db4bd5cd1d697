"""The drill's families: an insurer, parents with two children each, their guarantees,
accounts and addresses (families), and parents still without an account (newcomers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

INSURER_SLUG = "exercice"
PASSWORD = "Exercice2026!"  # noqa: S105 - the drill's own accounts, on a throw-away database
CHILDREN = ("Alice", "Bruno")
GUARANTEE_DAYS = (-2, 60)
# Not a special-use name (.test, .invalid): the sign-up form refuses those.
DOMAIN = "exercice.example.fr"


@dataclass(frozen=True)
class Family:
    number: int
    email: str
    account_id: int
    children: tuple[int, ...]  # member ids
    addresses: tuple[int, int]  # home, school


@dataclass(frozen=True)
class Newcomer:
    number: int
    member_number: str
    first_name: str
    last_name: str
    email: str


def family_email(number: int) -> str:
    return f"famille{number:03d}@{DOMAIN}"


def seed(app, families: int, newcomers: int, today: date) -> tuple[list[Family], list[Newcomer]]:
    """Write the roster and the accounts in one transaction; return what the load needs."""
    from app.auth.passwords import hash_password
    from app.auth.rules import fold_name
    from app.clock import utcnow
    from app.extensions import db
    from app.models import (
        Account,
        Address,
        AddressKind,
        AssistanceFile,
        Guarantee,
        GuaranteeKind,
        Insurer,
        Member,
        Offer,
        Quality,
    )

    def person(insurer, number, quality, first, last, age):
        member = Member(
            insurer_id=insurer.id,
            member_number=number,
            quality=quality,
            first_name=first,
            last_name=last,
            first_name_key=fold_name(first),
            last_name_key=fold_name(last),
            birth_date=today.replace(year=today.year - age, day=1),
        )
        member.offers.append(
            Offer(starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=335))
        )
        db.session.add(member)
        return member

    with app.app_context():
        insurer = Insurer(slug=INSURER_SLUG, name="Mutuelle Exercice", phone="01 00 00 00 00")
        db.session.add(insurer)
        db.session.flush()
        password_hash = hash_password(PASSWORD)  # one hash for all: the same password
        made = []
        for n in range(families):
            number = f"EX{n:06d}"
            parent = person(insurer, number, Quality.ADHERENT, "Parent", f"FAMILLE{n}", 40)
            children = [
                person(insurer, number, Quality.ENFANT, name, f"FAMILLE{n}", 10)
                for name in CHILDREN
            ]
            file = AssistanceFile(insurer_id=insurer.id, member_number=number, number=f"DA-{n}")
            for kind in (GuaranteeKind.SCHOOL, GuaranteeKind.EXAM):
                file.guarantees.append(
                    Guarantee(
                        kind=kind,
                        starts_on=today + timedelta(days=GUARANTEE_DAYS[0]),
                        ends_on=today + timedelta(days=GUARANTEE_DAYS[1]),
                    )
                )
            db.session.add(file)
            account = Account(
                member=parent,
                email=family_email(n),
                phone="06 12 34 56 78",
                password_hash=password_hash,
                confirmed_at=utcnow(),
            )
            db.session.add(account)
            db.session.flush()
            addresses = [
                Address(
                    account_id=account.id,
                    label=label,
                    label_key=label.lower(),
                    kind=kind,
                    street=f"{n + 1} rue de l'Exercice",
                    postal_code="75011",
                    city="Paris",
                )
                for label, kind in (
                    ("Maison", AddressKind.HOME),
                    ("École", AddressKind.PRIMARY_SCHOOL),
                )
            ]
            db.session.add_all(addresses)
            db.session.flush()
            made.append(
                Family(
                    number=n,
                    email=account.email,
                    account_id=account.id,
                    children=tuple(child.id for child in children),
                    addresses=(addresses[0].id, addresses[1].id),
                )
            )
        waiting = []
        for n in range(newcomers):
            number = f"NV{n:06d}"
            person(insurer, number, Quality.ADHERENT, "Nouveau", f"ARRIVANT{n}", 35)
            waiting.append(
                Newcomer(n, number, "Nouveau", f"ARRIVANT{n}", f"nouveau{n:03d}@{DOMAIN}")
            )
        db.session.commit()
    return made, waiting

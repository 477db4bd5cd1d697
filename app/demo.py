"""The demo data of PRODUCT.md, with dates relative to a given day (idempotent)."""

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AssistanceFile,
    Guarantee,
    GuaranteeKind,
    Insurer,
    Member,
    Offer,
    Quality,
)
from app.text import fold_name

DEMO_SLUG = "demo"
DEMO_NAME = "Mutuelle Démo"
DEMO_PHONE = "01 23 45 67 89"
DEMO_EMAIL = "assistance@mutuelle-demo.example"
DEMO_COLOR = "#0b6e4f"
DEMO_LOGO = Path(__file__).parent / "demo_assets" / "logo-mutuelle-demo.svg"
# The demo insurer's page served locally (see README: « Essayer l'intégration »).
DEMO_ORIGINS = ("http://localhost:8001", "http://127.0.0.1:8001")


@dataclass(frozen=True)
class DemoPerson:
    number: str
    quality: Quality
    last_name: str
    first_name: str
    age: int


@dataclass(frozen=True)
class DemoFamily:
    people: tuple[DemoPerson, ...]
    offer: tuple[int, int]  # days from today
    guarantees: tuple[GuaranteeKind, ...]
    file_number: str | None


FAMILIES = (
    DemoFamily(
        people=(
            DemoPerson("AB123456", Quality.ADHERENT, "MARTIN", "Sophie", 41),
            DemoPerson("AB123456", Quality.ENFANT, "MARTIN", "Maxime", 12),
            DemoPerson("AB123456", Quality.ENFANT, "MARTIN", "Franck", 9),
        ),
        offer=(-30, 335),
        guarantees=(GuaranteeKind.SCHOOL, GuaranteeKind.EXAM),
        file_number="DA-2026-0001",
    ),
    DemoFamily(
        people=(
            DemoPerson("CD789012", Quality.SOUSCRIPTEUR, "DUPONT", "Karim", 44),
            DemoPerson("CD789012", Quality.ENFANT, "DUPONT", "Lina", 14),
        ),
        offer=(-30, 335),
        guarantees=(GuaranteeKind.SCHOOL,),
        file_number="DA-2026-0002",
    ),
    DemoFamily(
        people=(
            DemoPerson("EF345678", Quality.ADHERENT, "LEROY", "Hélène", 38),
            DemoPerson("EF345678", Quality.ENFANT, "LEROY", "Jules", 7),
        ),
        offer=(-400, -1),
        guarantees=(),
        file_number=None,
    ),
)
GUARANTEE_DAYS = (-2, 28)


def birthday_years_ago(age: int, today: date) -> date:
    """A birthday `age` years ago, a little over a month past, so ages are stable in demos."""
    anchor = today - timedelta(days=40)
    try:
        return anchor.replace(year=anchor.year - age)
    except ValueError:  # 29 February
        return anchor.replace(year=anchor.year - age, day=28)


def load_demo(
    today: date, upload_folder: Path | None = None, flow_folder: Path | None = None
) -> Insurer:
    """Create or refresh the demo insurer, its roster, offers and assistance files.

    With an upload folder, the insurer also gets its branding (colour, logo, origins); with
    a flow folder, its trip events are dropped there as files (unless it has a channel).
    """
    insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == DEMO_SLUG))
    if insurer is None:
        insurer = Insurer(slug=DEMO_SLUG, name=DEMO_NAME, phone=DEMO_PHONE)
        db.session.add(insurer)
        db.session.flush()
    insurer.name, insurer.phone = DEMO_NAME, DEMO_PHONE

    for family in FAMILIES:
        for person in family.people:
            member = db.session.scalar(
                sa.select(Member).where(
                    Member.insurer_id == insurer.id,
                    Member.member_number == person.number,
                    Member.first_name_key == fold_name(person.first_name),
                    Member.last_name_key == fold_name(person.last_name),
                )
            )
            if member is None:
                member = Member(
                    insurer_id=insurer.id,
                    member_number=person.number,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    first_name_key=fold_name(person.first_name),
                    last_name_key=fold_name(person.last_name),
                    quality=person.quality,
                )
                db.session.add(member)
            member.quality = person.quality
            member.birth_date = birthday_years_ago(person.age, today)
            starts_on = today + timedelta(days=family.offer[0])
            ends_on = today + timedelta(days=family.offer[1])
            # One offer per demo person, moved with the demo's dates.
            member.offers[:] = member.offers[:1] or [Offer(starts_on=starts_on, ends_on=ends_on)]
            member.offers[0].starts_on, member.offers[0].ends_on = starts_on, ends_on

        if family.file_number:
            number = family.people[0].number
            file = db.session.scalar(
                sa.select(AssistanceFile).where(
                    AssistanceFile.insurer_id == insurer.id,
                    AssistanceFile.number == family.file_number,
                )
            )
            if file is None:
                file = AssistanceFile(
                    insurer_id=insurer.id, member_number=number, number=family.file_number
                )
                db.session.add(file)
            starts_on = today + timedelta(days=GUARANTEE_DAYS[0])
            ends_on = today + timedelta(days=GUARANTEE_DAYS[1])
            kept = {g.kind: g for g in file.guarantees}
            file.guarantees[:] = [
                kept.get(kind) or Guarantee(kind=kind, starts_on=starts_on, ends_on=ends_on)
                for kind in family.guarantees
            ]
            for guarantee in file.guarantees:
                guarantee.starts_on, guarantee.ends_on = starts_on, ends_on
    db.session.commit()
    if upload_folder is not None:
        _brand(insurer, upload_folder)
    if flow_folder is not None and insurer.flow_channel is None:
        insurer.flow_channel, insurer.flow_target = "folder", str(flow_folder.resolve())
        db.session.commit()
    return insurer


def _brand(insurer: Insurer, upload_folder: Path) -> None:
    """Colour, logo and embedding origins of the demo insurer (the logo is written once)."""
    from app.embedding.settings import Changes, update_insurer

    changes = Changes(color=DEMO_COLOR, email=DEMO_EMAIL, add_origins=DEMO_ORIGINS)
    if insurer.logo_stored_name is None:
        changes.logo = DEMO_LOGO.read_bytes()
    update_insurer(db.session, insurer, changes, upload_folder)

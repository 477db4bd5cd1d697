"""Roster feeds at a mutuelle's size: full files, identity corrections, summaries, errors.

The imports run on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL): the
staging tables, the checks on the whole file and the writes are SQL on both.
"""

import csv
import io
from datetime import date, datetime, time

import pytest
import sqlalchemy as sa

from app.auth import rules
from app.auth.passwords import hash_password
from app.clock import PARIS, today, utcnow
from app.extensions import db
from app.models import (
    Account,
    Address,
    AddressKind,
    Member,
    Offer,
    StaffRole,
    Trip,
    TripPurpose,
)
from app.roster import RosterImportError, import_people
from app.roster.insurers import create_insurer
from app.roster.people import is_spelling_correction
from tests.conftest import DEFAULT_PASSWORD, submit
from tests.test_backoffice import add_staff, current_code, staff_login

TODAY = date(2026, 3, 15)
PEOPLE_HEADER = "numero_adherent;qualite;nom;prenom;date_naissance;offre_debut;offre_fin"
FILES_HEADER = "numero_adherent;numero_dossier;garantie;debut;fin"

SOPHIE = "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026"
MAXIME = "AB123456;Enfant;MARTIN;Maxime;03/09/2013;01/01/2026;31/12/2026"
FRANCK = "AB123456;Enfant;MARTIN;Franck;20/11/2016;01/01/2026;31/12/2026"
KARIM = "CD789012;Souscripteur;DUPONT;Karim;05/06/1981;01/02/2026;31/01/2027"
LINA = "CD789012;Enfant;DUPONT;Lina;14/02/2011;01/02/2026;31/01/2027"
HELENE = "EF345678;Adhérent;LEROY;Hélène;30/07/1987;01/01/2025;31/12/2025"  # offer over
PEOPLE = (SOPHIE, MAXIME, FRANCK, KARIM, LINA, HELENE)


def feed(header: str, *lines: str, encoding: str = "utf-8") -> bytes:
    return "\r\n".join((header, *lines, "")).encode(encoding)


def people(*lines: str, **options) -> bytes:
    return feed(PEOPLE_HEADER, *lines, **options)


def family(count: int, start: int = 0) -> list[str]:
    """`count` people with a running offer, one family each."""
    return [
        f"N{index:07d};Adhérent;NOM;Prénom;01/01/1980;01/01/2026;31/12/2026"
        for index in range(start, start + count)
    ]


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def insurer(session):
    return create_insurer(session, "mutuelle-du-nord", "Mutuelle du Nord")


def refusal(action) -> RosterImportError:
    with pytest.raises(RosterImportError) as caught:
        action()
    return caught.value


def messages(error: RosterImportError) -> list[str]:
    return [str(e) for e in error.errors]


def roster(session) -> list[tuple]:
    """Every member with their offers, to compare before and after an import."""
    session.expire_all()
    return sorted(
        session.execute(
            sa.select(
                Member.id,
                Member.member_number,
                Member.quality,
                Member.first_name,
                Member.last_name,
                Member.birth_date,
                Offer.starts_on,
                Offer.ends_on,
            ).outerjoin(Offer, Offer.member_id == Member.id)
        ).all()
    )


def offers_of(session, first_name: str) -> list[tuple[date, date]]:
    return session.execute(
        sa.select(Offer.starts_on, Offer.ends_on)
        .join(Offer.member)
        .where(Member.first_name == first_name)
        .order_by(Offer.starts_on)
    ).all()


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


# --- All or nothing, at size ----------------------------------------------------------------


def test_a_100000_line_file_with_its_only_bad_line_last_imports_nothing(session, insurer):
    lines = family(99_999)
    lines.append("N9999999;Adhérent;NOM;Prénom;31/02/1980;01/01/2026;31/12/2026")

    error = refusal(lambda: import_people(session, insurer, people(*lines), today=TODAY))

    assert messages(error) == [
        "Ligne 100001 : date de naissance invalide « 31/02/1980 » (date inexistante)."
    ]
    assert error.bad_lines == 1
    assert count(session, Member) == 0
    assert count(session, Offer) == 0


def test_the_same_file_twice_changes_nothing_and_the_summary_says_so(session, insurer):
    data = people(*PEOPLE)
    import_people(session, insurer, data, today=TODAY)
    before = roster(session)

    summary = import_people(session, insurer, data, today=TODAY)

    assert (summary.lines, summary.families) == (6, 3)
    assert (summary.people.created, summary.people.updated, summary.people.unchanged) == (0, 0, 6)
    assert (summary.offers.created, summary.offers.updated, summary.offers.unchanged) == (0, 0, 6)
    assert (summary.ended, summary.corrected) == (0, 0)
    assert roster(session) == before


def test_the_summary_counts_what_changed(session, insurer):
    import_people(session, insurer, people(*family(30), SOPHIE, MAXIME, KARIM), today=TODAY)
    newer = people(
        *family(29),  # N0000029 left
        "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;30/06/2027",  # offer extended
        "AB123456;Enfant;MARTIN;Maxime;03/09/2013;01/01/2027;31/12/2027",  # second offer
        "CD789012;Adhérent;DUPONT;Karim;05/06/1981;01/02/2026;31/01/2027",  # quality
        "AB123456;Enfant;MARTIN;Franck;20/11/2016;01/01/2026;31/12/2026",  # new
        MAXIME,  # unchanged offer of Maxime
    )

    summary = import_people(session, insurer, newer, today=TODAY)

    assert (summary.lines, summary.families) == (34, 31)
    assert (summary.people.created, summary.people.updated, summary.people.unchanged) == (
        1,
        1,
        31,
    )
    assert (summary.offers.created, summary.offers.updated, summary.offers.unchanged) == (
        2,
        1,
        31,
    )
    assert (summary.ended, summary.ended_on, summary.partial) == (1, TODAY, False)
    assert offers_of(session, "Sophie") == [(date(2026, 1, 1), date(2027, 6, 30))]
    assert session.scalar(sa.select(Member.quality).where(Member.first_name == "Karim")) == (
        "adherent"
    )


def test_a_dry_run_gives_the_summary_and_writes_nothing(session, insurer):
    import_people(session, insurer, people(*family(30)), today=TODAY)
    before = roster(session)

    summary = import_people(
        session, insurer, people(*family(29), SOPHIE), today=TODAY, dry_run=True
    )

    assert summary.dry_run
    assert (summary.people.created, summary.people.unchanged, summary.ended) == (1, 29, 1)
    assert roster(session) == before


# --- Full files, partial files, the 10 % stop -------------------------------------------------


def test_people_missing_from_a_full_file_have_their_offer_ended_on_the_import_date(
    session, insurer
):
    import_people(session, insurer, people(*family(19), SOPHIE, HELENE), today=TODAY)
    sophie_id = session.scalar(sa.select(Member.id).where(Member.first_name == "Sophie"))
    # Sophie's renewal, starting next year, was already sent.
    renewal = "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2027;31/12/2027"
    import_people(session, insurer, people(renewal), today=TODAY, partial=True)

    summary = import_people(session, insurer, people(*family(19)), today=TODAY)

    # Sophie has left: her offer ends today, the one not started yet is gone; Hélène's offer
    # was over already, so she is not counted again.
    assert summary.ended == 1
    assert offers_of(session, "Sophie") == [(date(2026, 1, 1), TODAY)]
    assert offers_of(session, "Hélène") == [(date(2025, 1, 1), date(2025, 12, 31))]
    assert session.get(Member, sophie_id).first_name == "Sophie"  # never deleted
    assert count(session, Member) == 21
    again = import_people(session, insurer, people(*family(19)), today=TODAY)
    assert again.ended == 0


def test_a_full_file_ending_more_than_10_percent_is_refused(session, insurer):
    import_people(session, insurer, people(*family(20)), today=TODAY)
    before = roster(session)

    error = refusal(lambda: import_people(session, insurer, people(*family(17)), today=TODAY))

    assert messages(error) == [
        "Le fichier mettrait fin à l'offre de 3 personnes sur 20 (15 %), absentes du "
        "fichier : c'est plus de 10 % des personnes de la mutuelle. Si le fichier est bien "
        "complet, relancez avec --allow-mass-end ; s'il ne contient que des changements, "
        "relancez avec --partial."
    ]
    assert roster(session) == before
    # Two people out of twenty is 10 %: accepted.
    assert import_people(session, insurer, people(*family(18)), today=TODAY).ended == 2


def test_allow_mass_end_accepts_a_file_ending_many(session, insurer):
    import_people(session, insurer, people(*family(20)), today=TODAY)

    summary = import_people(session, insurer, people(*family(5)), today=TODAY, allow_mass_end=True)

    assert summary.ended == 15
    ended = session.scalar(sa.select(sa.func.count()).where(Offer.ends_on == TODAY))
    assert ended == 15


def test_a_partial_file_ends_nobody(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    before = offers_of(session, "Karim")

    summary = import_people(session, insurer, people(SOPHIE, FRANCK), today=TODAY, partial=True)

    assert (summary.partial, summary.ended, summary.ended_on) == (True, 0, None)
    assert summary.people.unchanged == 2
    assert offers_of(session, "Karim") == before


def test_a_full_file_leaves_other_insurers_alone(session, insurer):
    other = create_insurer(session, "autre", "Autre Mutuelle")
    import_people(session, other, people(SOPHIE), today=TODAY)
    import_people(session, insurer, people(*family(20)), today=TODAY)

    summary = import_people(session, insurer, people(*family(20)), today=TODAY)

    assert summary.ended == 0
    assert offers_of(session, "Sophie") == [(date(2026, 1, 1), date(2026, 12, 31))]


# --- Identity corrections ---------------------------------------------------------------------


def test_a_corrected_birth_date_updates_the_person(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    maxime_id = session.scalar(sa.select(Member.id).where(Member.first_name == "Maxime"))
    corrected = MAXIME.replace("03/09/2013", "09/03/2013")

    summary = import_people(
        session, insurer, people(SOPHIE, corrected, FRANCK, KARIM, LINA, HELENE), today=TODAY
    )

    assert (summary.people.created, summary.people.updated, summary.corrected) == (0, 1, 1)
    assert summary.ended == 0
    maxime = session.get(Member, maxime_id)
    assert maxime.birth_date == date(2013, 3, 9)
    assert count(session, Member) == 6


def test_a_corrected_first_name_spelling_updates_the_person(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    franck_id = session.scalar(sa.select(Member.id).where(Member.first_name == "Franck"))
    corrected = FRANCK.replace("Franck", "Frank")

    summary = import_people(
        session, insurer, people(SOPHIE, MAXIME, corrected, KARIM, LINA, HELENE), today=TODAY
    )

    assert (summary.people.updated, summary.corrected, summary.ended) == (1, 1, 0)
    frank = session.get(Member, franck_id)
    assert (frank.first_name, frank.first_name_key) == ("Frank", "frank")
    assert offers_of(session, "Frank") == [(date(2026, 1, 1), date(2026, 12, 31))]


def test_another_first_name_is_another_person(session, insurer):
    import_people(session, insurer, people(*family(20), SOPHIE, MAXIME), today=TODAY)
    twin = MAXIME.replace("Maxime", "Louise")

    summary = import_people(session, insurer, people(*family(20), SOPHIE, twin), today=TODAY)

    assert (summary.people.created, summary.corrected, summary.ended) == (1, 0, 1)
    assert offers_of(session, "Maxime") == [(date(2026, 1, 1), TODAY)]


@pytest.mark.parametrize(
    ("old", "new", "correction"),
    [
        ("maxime", "maxine", True),
        ("franck", "frank", True),
        ("jon", "john", True),
        ("leo", "lea", True),
        ("lea", "louis", False),
        ("ana", "eva", False),
        ("maxime", "maxence", False),
    ],
)
def test_spelling_corrections_are_small_changes(old, new, correction):
    assert is_spelling_correction(old, new) is correction


def test_a_correction_several_people_could_match_is_refused(session, insurer):
    father = "AB123456;Adhérent;MARTIN;Paul;01/01/1960;01/01/2026;31/12/2026"
    son = "AB123456;Enfant;MARTIN;Paul;01/01/2012;01/01/2026;31/12/2026"
    import_people(session, insurer, people(father, son), today=TODAY)
    before = roster(session)
    corrected = "AB123456;Enfant;MARTIN;Paul;01/01/2013;01/01/2026;31/12/2026"

    error = refusal(
        lambda: import_people(session, insurer, people(corrected), today=TODAY, partial=True)
    )

    assert messages(error) == [
        "Ligne 2 : identité ambiguë : cette ligne peut corriger Paul MARTIN (né(e) le "
        "01/01/1960) ou Paul MARTIN (né(e) le 01/01/2012), de la famille AB123456 ; précisez "
        "le prénom et la date de naissance."
    ]
    assert roster(session) == before


def test_two_lines_correcting_the_same_person_are_refused(session, insurer):
    import_people(session, insurer, people(SOPHIE, MAXIME), today=TODAY)
    before = roster(session)
    maxine = MAXIME.replace("Maxime", "Maxine")
    maxima = MAXIME.replace("Maxime", "Maxima")

    error = refusal(
        lambda: import_people(session, insurer, people(SOPHIE, maxine, maxima), today=TODAY)
    )

    assert messages(error) == [
        f"Ligne {line} : identité ambiguë : les lignes 3 et 4 peuvent toutes corriger Maxime "
        "MARTIN (né(e) le 03/09/2013) ; une seule personne peut l'être."
        for line in (3, 4)
    ]
    assert roster(session) == before


# --- People who left: no login, their history kept ------------------------------------------


def _login(app, email: str) -> str:
    """A new browser logging in: the page it gets (empty when sent on to Mon Espace)."""
    client = app.test_client()
    response = submit(client, "/connexion", {"email": email, "password": DEFAULT_PASSWORD})
    return "" if response.status_code == 302 else response.get_data(as_text=True)


def test_a_person_ended_by_the_feed_cannot_log_in_and_keeps_their_trips(app, time_machine):
    import_day = date(2026, 3, 16)
    time_machine.move_to(datetime(2026, 3, 16, 9, 0, tzinfo=PARIS), tick=False)
    sophie_line = SOPHIE.replace("31/12/2026", "31/12/2027")
    with app.app_context():
        insurer = create_insurer(db.session, "mutuelle-du-nord", "Mutuelle du Nord")
        import_people(db.session, insurer, people(*family(20), sophie_line, MAXIME), today=TODAY)
        sophie = db.session.scalar(sa.select(Member).where(Member.first_name == "Sophie"))
        maxime = db.session.scalar(sa.select(Member).where(Member.first_name == "Maxime"))
        sophie_id = sophie.id
        account = Account(
            member_id=sophie.id,
            email="sophie.martin@example.fr",
            phone="06 12 34 56 78",
            password_hash=hash_password(DEFAULT_PASSWORD),
            confirmed_at=utcnow(),
        )
        db.session.add(account)
        db.session.flush()
        home, school = (
            Address(
                account_id=account.id,
                label=label,
                label_key=label,
                kind=kind,
                street="1 rue de la Paix",
                postal_code="75011",
                city="Paris",
            )
            for label, kind in (("maison", AddressKind.HOME), ("ecole", AddressKind.PRIMARY_SCHOOL))
        )
        db.session.add_all([home, school])
        db.session.flush()
        db.session.add(
            Trip(
                account_id=account.id,
                child_id=maxime.id,
                trip_date=date(2026, 3, 20),
                trip_time=time(8, 30),
                purpose=TripPurpose.SCHOOL,
                from_address_id=home.id,
                to_address_id=school.id,
            )
        )
        db.session.commit()
        assert _login(app, "sophie.martin@example.fr") == ""

        # The nightly full file no longer has the MARTIN family.
        summary = import_people(db.session, insurer, people(*family(20)), today=import_day)
        assert summary.ended == 2

    # Their offer ends on the import date: refused from the next morning.
    assert _login(app, "sophie.martin@example.fr") == ""
    time_machine.move_to(datetime(2026, 3, 17, 7, 0, tzinfo=PARIS), tick=False)
    page = _login(app, "sophie.martin@example.fr")
    assert rules.OFFER_MESSAGE.replace("'", "&#39;") in page
    with app.app_context():
        kept = db.session.execute(
            sa.select(Trip.trip_date, Member.first_name, Account.email)
            .join(Member, Member.id == Trip.child_id)
            .join(Account, Account.id == Trip.account_id)
        ).all()
    assert kept == [(date(2026, 3, 20), "Maxime", "sophie.martin@example.fr")]

    # The desk still reads the ended member's file, with the trip booked before the feed.
    secret, _ = add_staff(app, "admin@assistance.fr", StaffRole.ADMIN, insurers=())
    desk = app.test_client()
    assert staff_login(desk, "admin@assistance.fr", current_code(secret)).status_code == 302
    page = desk.get(f"/gestion/adherents/{sophie_id}").get_data(as_text=True)
    assert "MARTIN" in page and "Sophie" in page
    assert "20/03/2026" in page and "Maxime" in page


# --- The command line: bad input, errors, options ------------------------------------------


@pytest.fixture
def mutuelle(runner):
    result = runner.invoke(args=["insurer", "add", "mutuelle-du-nord", "Mutuelle du Nord"])
    assert result.exit_code == 0, result.output


def members(app) -> int:
    with app.app_context():
        return count(db.session, Member)


LONG = "A" * 10_000
COUSIN = "N{:07d};Cousin;NOM;Prénom;01/01/1980;01/01/2026;31/12/2026"
TWO_ERRORS = "AB123456;Enfant;MARTIN;;99/99/2016;01/01/2026;31/12/2026"


def error_rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", ["Import refusé : rien n'a été importé.", "Le fichier est vide."]),
        (
            PEOPLE_HEADER.encode() + b"\r\n",
            [
                "Import refusé : rien n'a été importé.",
                "Le fichier ne contient aucune ligne après l'en-tête.",
            ],
        ),
        (
            feed(PEOPLE_HEADER.replace(";", ","), SOPHIE.replace(";", ",")),
            [
                "Import refusé : 1 ligne en erreur, rien n'a été importé. Corrigez le fichier "
                "puis relancez la commande.",
                "Ligne 1 : en-tête attendu « numero_adherent;qualite;nom;prenom;date_naissance;"
                "offre_debut;offre_fin » (colonnes manquantes : numero_adherent, qualite, nom, "
                "prenom, date_naissance, offre_debut, offre_fin ; colonnes inconnues : "
                "« numero_adherent,qualite,nom,prenom,date_naissance,offre_debut,offre_fin »). "
                "Le séparateur doit être le point-virgule « ; ».",
            ],
        ),
        (
            people(SOPHIE, MAXIME.replace(";", ",")),
            [
                "Import refusé : 1 ligne en erreur, rien n'a été importé. Corrigez le fichier "
                "puis relancez la commande.",
                "Ligne 3 : 1 colonne au lieu de 7 (séparateur attendu : « ; »).",
            ],
        ),
        (
            feed(PEOPLE_HEADER.replace(";prenom", ""), SOPHIE.replace(";Sophie", "")),
            [
                "Import refusé : 1 ligne en erreur, rien n'a été importé. Corrigez le fichier "
                "puis relancez la commande.",
                "Ligne 1 : en-tête attendu « numero_adherent;qualite;nom;prenom;date_naissance;"
                "offre_debut;offre_fin » (colonnes manquantes : prenom).",
            ],
        ),
        (
            people(SOPHIE, MAXIME.replace("Maxime", LONG)),
            [
                "Import refusé : 1 ligne en erreur, rien n'a été importé. Corrigez le fichier "
                "puis relancez la commande.",
                "Ligne 3 : le champ « prénom » dépasse 100 caractères.",
            ],
        ),
        (
            people(SOPHIE.replace("01/01/2026", "31/02/2026")),
            [
                "Import refusé : 1 ligne en erreur, rien n'a été importé. Corrigez le fichier "
                "puis relancez la commande.",
                "Ligne 2 : début d'offre invalide « 31/02/2026 » (date inexistante).",
            ],
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 50,
            [
                "Import refusé : rien n'a été importé.",
                "Le fichier n'est pas un fichier CSV en texte (octets nuls) : enregistrez-le "
                "en UTF-8 ou en Windows-1252.",
            ],
        ),
        (
            people(SOPHIE, MAXIME, SOPHIE.replace("Sophie", "SOPHIE")),
            [
                "Import refusé : 1 ligne en erreur, rien n'a été importé. Corrigez le fichier "
                "puis relancez la commande.",
                "Ligne 4 : ligne en double : même personne et même début d'offre qu'à la ligne 2.",
            ],
        ),
    ],
    ids=[
        "empty",
        "header-only",
        "comma-separated",
        "wrong-separator-on-a-line",
        "missing-column",
        "10000-character-field",
        "31-february",
        "binary-renamed-csv",
        "same-person-twice",
    ],
)
def test_bad_input_is_refused_in_french_and_writes_nothing(
    app, runner, mutuelle, tmp_path, data, expected
):
    path = tmp_path / "personnes.csv"
    path.write_bytes(data)

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(path)])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == expected
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert members(app) == 0


def test_the_first_100_bad_lines_are_printed_then_the_count(app, runner, mutuelle, tmp_path):
    bad = [
        f"N{index:07d};Cousin;NOM;Prénom;01/01/1980;01/01/2026;31/12/2026" for index in range(150)
    ]
    path = tmp_path / "personnes.csv"
    path.write_bytes(people(SOPHIE, *bad))

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(path)])

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "Import refusé : 150 lignes en erreur, rien n'a été importé. Corrigez le fichier puis "
        "relancez la commande."
    )
    assert lines[1] == (
        "Ligne 3 : qualité inconnue « Cousin » (attendu : Adhérent, Souscripteur, Conjoint ou "
        "Enfant)."
    )
    assert len(lines) == 102
    assert lines[100].startswith("Ligne 102 : ")
    assert lines[101] == (
        "… et 50 autres lignes en erreur, non affichées : l'option --errors FICHIER les écrit "
        "toutes."
    )
    assert members(app) == 0


def test_errors_option_writes_every_bad_line_as_csv(app, runner, mutuelle, tmp_path):
    bad = [
        f"N{index:07d};Cousin;NOM;Prénom;01/01/1980;01/01/2026;31/12/2026" for index in range(120)
    ]
    path = tmp_path / "personnes.csv"
    # Windows-1252, a repeated line found on the whole file, a line with two errors.
    path.write_bytes(
        people(
            SOPHIE,
            *bad,
            TWO_ERRORS,
            SOPHIE,
            encoding="cp1252",
        )
    )
    errors = tmp_path / "erreurs.csv"

    result = runner.invoke(
        args=["roster", "import", "mutuelle-du-nord", str(path), "--errors", str(errors)]
    )

    assert result.exit_code == 1
    assert "122 lignes en erreur" in result.stderr
    rows = error_rows(errors)
    assert rows[0] == ["ligne", "erreur", "contenu"]
    assert len(rows) == 1 + 120 + 2 + 1
    assert rows[1] == [
        "3",
        "qualité inconnue « Cousin » (attendu : Adhérent, Souscripteur, Conjoint ou Enfant).",
        bad[0],
    ]
    assert rows[-3:] == [
        [
            "123",
            "le champ « prénom » est vide.",
            "AB123456;Enfant;MARTIN;;99/99/2016;01/01/2026;31/12/2026",
        ],
        [
            "123",
            "date de naissance invalide « 99/99/2016 » (date inexistante).",
            "AB123456;Enfant;MARTIN;;99/99/2016;01/01/2026;31/12/2026",
        ],
        ["124", "ligne en double : même personne et même début d'offre qu'à la ligne 2.", SOPHIE],
    ]
    assert members(app) == 0


def test_errors_option_of_an_accepted_file_writes_the_header_only(app, runner, mutuelle, tmp_path):
    path, errors = tmp_path / "personnes.csv", tmp_path / "erreurs.csv"
    path.write_bytes(people(*PEOPLE))

    result = runner.invoke(
        args=["roster", "import", "mutuelle-du-nord", str(path), "--errors", str(errors)]
    )

    assert result.exit_code == 0, result.output
    assert error_rows(errors) == [["ligne", "erreur", "contenu"]]
    assert members(app) == 6


def test_errors_option_writes_a_file_level_refusal(app, runner, mutuelle, tmp_path):
    path = tmp_path / "personnes.csv"
    path.write_bytes(b"")
    errors = tmp_path / "erreurs.csv"

    result = runner.invoke(
        args=["roster", "import", "mutuelle-du-nord", str(path), "--errors", str(errors)]
    )

    assert result.exit_code == 1
    rows = error_rows(errors)
    assert rows == [["ligne", "erreur", "contenu"], ["", "Le fichier est vide.", ""]]


def test_dry_run_prints_the_summary_and_writes_nothing(app, runner, mutuelle, tmp_path):
    path = tmp_path / "personnes.csv"
    path.write_bytes(people(*PEOPLE))

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(path), "--dry-run"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:4] == [
        "Simulation de l'import des personnes de Mutuelle du Nord (mutuelle-du-nord) : rien "
        "n'a été enregistré.",
        "Lignes lues : 6 ; familles : 3.",
        "Personnes : 6 créées, 0 mise à jour, 0 inchangée, 0 sortie.",
        "Offres : 6 créées, 0 mise à jour, 0 inchangée.",
    ]
    assert members(app) == 0


def test_command_line_full_file_stop_then_allow_mass_end(app, runner, mutuelle, tmp_path):
    first, second = tmp_path / "janvier.csv", tmp_path / "fevrier.csv"
    first.write_bytes(people(*PEOPLE))
    second.write_bytes(people(SOPHIE, MAXIME, FRANCK))
    assert runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(first)]).exit_code == 0

    refused = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(second)])
    accepted = runner.invoke(
        args=["roster", "import", "mutuelle-du-nord", str(second), "--allow-mass-end"]
    )

    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[0] == "Import refusé : rien n'a été importé."
    assert "Le fichier mettrait fin à l'offre de 2 personnes sur 5 (40 %)" in refused.stderr
    assert accepted.exit_code == 0, accepted.output
    day = f"{today():%d/%m/%Y}"
    assert (
        f"Personnes : 0 créée, 0 mise à jour, 3 inchangées, 2 sorties (absentes du fichier : "
        f"offre arrêtée au {day})." in accepted.output
    )


def test_command_line_reports_identity_corrections(app, runner, mutuelle, tmp_path):
    first, second = tmp_path / "janvier.csv", tmp_path / "fevrier.csv"
    first.write_bytes(people(*PEOPLE))
    second.write_bytes(
        people(SOPHIE, MAXIME, FRANCK.replace("Franck", "Frank"), KARIM, LINA, HELENE)
    )
    runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(first)])

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(second)])

    assert result.exit_code == 0, result.output
    assert (
        "Personnes : 0 créée, 1 mise à jour (dont 1 identité corrigée), 5 inchangées, "
        "0 sortie." in result.output
    )


def test_import_files_dry_run_and_errors(app, runner, mutuelle, tmp_path):
    roster_path, files_path = tmp_path / "personnes.csv", tmp_path / "dossiers.csv"
    roster_path.write_bytes(people(*PEOPLE))
    runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(roster_path)])
    school = "AB123456;DA-1;Conduite à l'école;01/03/2026;31/03/2026"
    unknown = "ZZ1;DA-2;Conduite à l'école;01/03/2026;31/03/2026"
    files_path.write_bytes(feed(FILES_HEADER, school))

    dry = runner.invoke(
        args=["roster", "import-files", "mutuelle-du-nord", str(files_path), "--dry-run"]
    )
    files_path.write_bytes(feed(FILES_HEADER, school, unknown))
    errors = tmp_path / "erreurs.csv"
    refused = runner.invoke(
        args=[
            "roster",
            "import-files",
            "mutuelle-du-nord",
            str(files_path),
            "--errors",
            str(errors),
        ]
    )

    assert dry.exit_code == 0, dry.output
    assert "Dossiers : 1 créé, 0 mis à jour, 0 inchangé." in dry.output
    assert refused.exit_code == 1
    rows = error_rows(errors)
    assert rows[1:] == [
        [
            "3",
            "numéro adhérent « ZZ1 » absent du fichier des personnes de cette mutuelle "
            "(importez-le d'abord).",
            unknown,
        ]
    ]
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("guarantees"))) == 0
        )

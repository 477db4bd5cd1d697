"""The roster feed: parsing as plain functions, then all-or-nothing imports in the database."""

from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AssistanceFile, Guarantee, GuaranteeKind, Insurer, Member, Offer, Quality
from app.roster import (
    RosterImportError,
    import_assistance_files,
    import_people,
    parse_assistance_files,
    parse_people,
)
from app.roster.csvfile import decode, parse_date
from app.roster.insurers import (
    InsurerError,
    create_insurer,
    is_valid_slug,
    normalize_origin,
    normalize_phone,
)

TODAY = date(2026, 3, 15)
PEOPLE_HEADER = "numero_adherent;qualite;nom;prenom;date_naissance;offre_debut;offre_fin"
FILES_HEADER = "numero_adherent;numero_dossier;garantie;debut;fin"

SOPHIE = "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026"
MAXIME = "AB123456;Enfant;MARTIN;Maxime;03/09/2013;01/01/2026;31/12/2026"
FRANCK = "AB123456;Enfant;MARTIN;Franck;20/11/2016;01/01/2026;31/12/2026"
KARIM = "CD789012;Souscripteur;DUPONT;Karim;05/06/1981;01/02/2026;31/01/2027"
LINA = "CD789012;Enfant;DUPONT;Lina;14/02/2011;01/02/2026;31/01/2027"
HELENE = "EF345678;Adhérent;LEROY;Hélène;30/07/1987;01/01/2025;31/12/2025"
PEOPLE = (SOPHIE, MAXIME, FRANCK, KARIM, LINA, HELENE)

SCHOOL = "AB123456;DA-2026-0001;Conduite à l'école;01/03/2026;31/03/2026"
EXAM = "AB123456;DA-2026-0001;Transport aux examens scolaires;01/06/2026;30/06/2026"
KARIM_SCHOOL = "CD789012;DA-2026-0002;Conduite à l'école;01/03/2026;15/04/2026"
FILES = (SCHOOL, EXAM, KARIM_SCHOOL)


def csv_bytes(header: str, *lines: str, encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    """A feed as an insurer sends it: header, lines, CRLF, in the given encoding."""
    return newline.join((header, *lines, "")).encode(encoding)


def people(*lines: str, **options) -> bytes:
    return csv_bytes(PEOPLE_HEADER, *lines, **options)


def files(*lines: str, **options) -> bytes:
    return csv_bytes(FILES_HEADER, *lines, **options)


def refusal(action) -> list[str]:
    """The French lines of the refusal raised by `action`."""
    with pytest.raises(RosterImportError) as caught:
        action()
    return [str(error) for error in caught.value.errors]


# --- Parsing the people file --------------------------------------------------------------


def test_good_people_file_gives_every_person_with_offer():
    lines = parse_people(people(*PEOPLE), today=TODAY)

    assert [(p.line, p.first_name) for p in lines] == [
        (2, "Sophie"),
        (3, "Maxime"),
        (4, "Franck"),
        (5, "Karim"),
        (6, "Lina"),
        (7, "Hélène"),
    ]
    sophie = lines[0]
    assert sophie.member_number == "AB123456"
    assert sophie.quality is Quality.ADHERENT
    assert sophie.last_name == "MARTIN"
    assert sophie.birth_date == date(1984, 4, 12)
    assert (sophie.offer_starts_on, sophie.offer_ends_on) == (date(2026, 1, 1), date(2026, 12, 31))
    assert lines[3].quality is Quality.SOUSCRIPTEUR
    assert lines[4].quality is Quality.ENFANT


def test_utf8_with_bom_is_read_like_without():
    with_bom = b"\xef\xbb\xbf" + people(*PEOPLE)

    assert parse_people(with_bom, today=TODAY) == parse_people(people(*PEOPLE), today=TODAY)


def test_windows_1252_accents_are_decoded():
    data = people(
        HELENE, "EF345678;Conjoint;LEROY;Gérard;02/02/1985;01/01/2025;31/12/2025", encoding="cp1252"
    )
    assert "Hélène".encode("cp1252") in data  # really not UTF-8

    helene, gerard = parse_people(data, today=TODAY)

    assert helene.first_name == "Hélène"
    assert helene.quality is Quality.ADHERENT
    assert gerard.first_name == "Gérard"
    assert gerard.quality is Quality.CONJOINT


def test_utf8_is_tried_strictly_before_windows_1252():
    assert decode("Adhérent;Hélène".encode()) == "Adhérent;Hélène"
    assert decode("Adhérent;Hélène".encode("cp1252")) == "Adhérent;Hélène"
    assert decode("Œuvre – «x»".encode("cp1252")) == "Œuvre – «x»"


def test_unix_line_endings_and_quoted_fields_are_read():
    data = people(
        'AB123456;"Adhérent";"MARTIN";"Sophie";12/04/1984;01/01/2026;31/12/2026', newline="\n"
    )

    [sophie] = parse_people(data, today=TODAY)

    assert (sophie.last_name, sophie.first_name) == ("MARTIN", "Sophie")


def test_header_may_use_accents_capitals_and_another_order():
    header = "Numéro adhérent;Nom;Prénom;Qualité;Date naissance;Offre début;Offre fin"
    data = csv_bytes(header, "AB123456;MARTIN;Sophie;Adhérent;12/04/1984;01/01/2026;31/12/2026")

    [sophie] = parse_people(data, today=TODAY)

    assert (sophie.first_name, sophie.quality) == ("Sophie", Quality.ADHERENT)


@pytest.mark.parametrize(
    ("written", "quality"),
    [
        ("Adhérent", Quality.ADHERENT),
        ("ADHERENT", Quality.ADHERENT),
        ("adhérent", Quality.ADHERENT),
        (" ADHÉRENT ", Quality.ADHERENT),
        ("Souscripteur", Quality.SOUSCRIPTEUR),
        ("SOUSCRIPTEUR", Quality.SOUSCRIPTEUR),
        ("conjoint", Quality.CONJOINT),
        ("Enfant", Quality.ENFANT),
        ("ENFANT", Quality.ENFANT),
    ],
)
def test_quality_is_read_whatever_its_case_and_accents(written, quality):
    line = f"AB123456;{written};MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026"

    [person] = parse_people(people(line), today=TODAY)

    assert person.quality is quality


def test_member_number_and_names_are_cleaned_like_registration_reads_them():
    line = " ab 123 456 ;Adhérent; MARTIN-DUPRÉ ;Marie  Claire;1/2/1984;01/01/2026;31/12/2026"

    [person] = parse_people(people(line), today=TODAY)

    assert person.member_number == "AB123456"
    assert person.last_name == "MARTIN-DUPRÉ"
    assert person.first_name == "Marie Claire"
    assert person.birth_date == date(1984, 2, 1)
    assert person.key == ("AB123456", "martin dupre", "marie claire", date(1984, 2, 1))


def test_empty_cells_after_the_last_column_are_ignored():
    data = csv_bytes(PEOPLE_HEADER + ";;", SOPHIE + ";", MAXIME + ";;;")

    assert [p.first_name for p in parse_people(data, today=TODAY)] == ["Sophie", "Maxime"]


def test_blank_lines_are_skipped_and_line_numbers_kept():
    data = people(SOPHIE, "", ";;;;;;", MAXIME)

    assert [p.line for p in parse_people(data, today=TODAY)] == [2, 5]


def test_bad_date_on_line_7_is_named_and_refuses_the_file():
    bad = "EF345678;Adhérent;LEROY;Hélène;31/13/1987;01/01/2025;31/12/2025"
    data = people(SOPHIE, MAXIME, FRANCK, KARIM, LINA, bad)

    assert refusal(lambda: parse_people(data, today=TODAY)) == [
        "Ligne 7 : date de naissance invalide « 31/13/1987 » (date inexistante)."
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "AB123456;Adhérent;MARTIN;Sophie;1984-04-12;01/01/2026;31/12/2026",
            "Ligne 2 : date de naissance invalide « 1984-04-12 » (format attendu JJ/MM/AAAA).",
        ),
        (
            "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;30/02/2026;31/12/2026",
            "Ligne 2 : début d'offre invalide « 30/02/2026 » (date inexistante).",
        ),
        (
            "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/26",
            "Ligne 2 : fin d'offre invalide « 31/12/26 » (format attendu JJ/MM/AAAA).",
        ),
        (
            "AB123456;Adhérent;MARTIN;Sophie;12/04/1884;01/01/2026;31/12/2026",
            "Ligne 2 : date de naissance invalide « 12/04/1884 » "
            "(année hors de la période 1900 à 2200).",
        ),
        (
            "AB123456;Adhérent;MARTIN;Sophie;12/04/2027;01/01/2026;31/12/2026",
            "Ligne 2 : date de naissance dans le futur « 12/04/2027 ».",
        ),
        (
            "AB123456;Cousin;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026",
            "Ligne 2 : qualité inconnue « Cousin » "
            "(attendu : Adhérent, Souscripteur, Conjoint ou Enfant).",
        ),
        (
            "AB123456;Adhérent;;Sophie;12/04/1984;01/01/2026;31/12/2026",
            "Ligne 2 : le champ « nom » est vide.",
        ),
        (
            "AB123456;Adhérent;MARTIN;  ;12/04/1984;01/01/2026;31/12/2026",
            "Ligne 2 : le champ « prénom » est vide.",
        ),
        (
            ";Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026",
            "Ligne 2 : le champ « numéro adhérent » est vide.",
        ),
        (
            "AB123456;Adhérent;MARTIN;Sophie;;01/01/2026;31/12/2026",
            "Ligne 2 : le champ « date de naissance » est vide.",
        ),
        (
            "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026",
            "Ligne 2 : 6 colonnes au lieu de 7 (séparateur attendu : « ; »).",
        ),
        (
            "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026;x",
            "Ligne 2 : 8 colonnes au lieu de 7 (séparateur attendu : « ; »).",
        ),
        (
            "AB123456,Adhérent,MARTIN,Sophie,12/04/1984,01/01/2026,31/12/2026",
            "Ligne 2 : 1 colonne au lieu de 7 (séparateur attendu : « ; »).",
        ),
        (
            "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2025",
            "Ligne 2 : la fin de l'offre (31/12/2025) précède son début (01/01/2026).",
        ),
        (
            "AB-123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026",
            "Ligne 2 : numéro adhérent invalide « AB-123456 » "
            "(lettres et chiffres uniquement, 32 au plus).",
        ),
        (
            "AB123456;Adhérent;M4RTIN;Sophie;12/04/1984;01/01/2026;31/12/2026",
            "Ligne 2 : nom invalide « M4RTIN » "
            "(lettres, espaces, tirets et apostrophes uniquement).",
        ),
        (
            "AB123456;Adhérent;<script>;Sophie;12/04/1984;01/01/2026;31/12/2026",
            "Ligne 2 : nom invalide « <script> » "
            "(lettres, espaces, tirets et apostrophes uniquement).",
        ),
        (
            f"AB123456;Adhérent;{'A' * 101};Sophie;12/04/1984;01/01/2026;31/12/2026",
            "Ligne 2 : le champ « nom » dépasse 100 caractères.",
        ),
    ],
)
def test_each_bad_people_line_is_refused_with_its_reason(line, message):
    assert refusal(lambda: parse_people(people(line), today=TODAY)) == [message]


def test_every_bad_line_is_reported_not_only_the_first():
    data = people(
        "AB123456;Cousin;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026",
        MAXIME,
        "AB123456;Enfant;MARTIN;;99/99/2016;01/01/2026;31/12/2026",
    )

    assert refusal(lambda: parse_people(data, today=TODAY)) == [
        "Ligne 2 : qualité inconnue « Cousin » "
        "(attendu : Adhérent, Souscripteur, Conjoint ou Enfant).",
        "Ligne 4 : le champ « prénom » est vide.",
        "Ligne 4 : date de naissance invalide « 99/99/2016 » (date inexistante).",
    ]


def test_duplicate_line_in_the_file_is_refused(session, insurer):
    data = people(SOPHIE, MAXIME, SOPHIE)

    assert refusal(lambda: import_people(session, insurer, data, today=TODAY)) == [
        "Ligne 4 : ligne en double : même personne et même début d'offre qu'à la ligne 2."
    ]


def test_same_person_and_offer_start_written_differently_is_a_duplicate(session, insurer):
    other_end = "ab123456;ADHERENT;Martin;SOPHIE;12/04/1984;01/01/2026;30/06/2026"
    data = people(SOPHIE, other_end)

    assert refusal(lambda: import_people(session, insurer, data, today=TODAY)) == [
        "Ligne 3 : ligne en double : même personne et même début d'offre qu'à la ligne 2."
    ]


def test_same_person_with_two_qualities_is_refused(session, insurer):
    renewal = "AB123456;Conjoint;MARTIN;Sophie;12/04/1984;01/01/2027;31/12/2027"
    data = people(SOPHIE, renewal)

    assert refusal(lambda: import_people(session, insurer, data, today=TODAY)) == [
        "Ligne 3 : qualité « Conjoint » différente de celle de la ligne 2 (« Adhérent ») "
        "pour la même personne."
    ]


def test_same_person_may_have_several_offers_in_one_file():
    renewal = "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2027;31/12/2027"

    lines = parse_people(people(SOPHIE, renewal), today=TODAY)

    assert [p.offer_starts_on for p in lines] == [date(2026, 1, 1), date(2027, 1, 1)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Le fichier est vide."),
        (b"\r\n\r\n", "Le fichier est vide."),
        (
            PEOPLE_HEADER.encode() + b"\r\n",
            "Le fichier ne contient aucune ligne après l'en-tête.",
        ),
        (
            files(SCHOOL),
            "Ligne 1 : en-tête attendu « numero_adherent;qualite;nom;prenom;date_naissance;"
            "offre_debut;offre_fin » (colonnes manquantes : qualite, nom, prenom, "
            "date_naissance, offre_debut, offre_fin ; colonnes inconnues : « numero_dossier », "
            "« garantie », « debut », « fin »).",
        ),
        (
            csv_bytes(PEOPLE_HEADER.replace(";offre_fin", ""), SOPHIE),
            "Ligne 1 : en-tête attendu « numero_adherent;qualite;nom;prenom;date_naissance;"
            "offre_debut;offre_fin » (colonnes manquantes : offre_fin).",
        ),
        (
            csv_bytes(PEOPLE_HEADER.replace(";", ","), SOPHIE),
            "Ligne 1 : en-tête attendu « numero_adherent;qualite;nom;prenom;date_naissance;"
            "offre_debut;offre_fin » (colonnes manquantes : numero_adherent, qualite, nom, "
            "prenom, date_naissance, offre_debut, offre_fin ; colonnes inconnues : "
            "« numero_adherent,qualite,nom,prenom,date_naissance,offre_debut,offre_fin »). "
            "Le séparateur doit être le point-virgule « ; ».",
        ),
        (
            csv_bytes(PEOPLE_HEADER + ";nom", SOPHIE),
            "Ligne 1 : en-tête attendu « numero_adherent;qualite;nom;prenom;date_naissance;"
            "offre_debut;offre_fin » (colonnes en double : nom).",
        ),
        (
            people(SOPHIE).replace(b"Sophie", b"\xff\xfeS\x00"),
            "Le fichier n'est pas un fichier CSV en texte (octets nuls) : "
            "enregistrez-le en UTF-8 ou en Windows-1252.",
        ),
        (
            people(SOPHIE).replace(b"Sophie", b"Soph\x81e"),
            "Le fichier n'est ni en UTF-8 ni en Windows-1252 (octet illisible en position "
            f"{len(PEOPLE_HEADER) + 2 + len('AB123456;Adhérent;MARTIN;Soph'.encode())}) : "
            "enregistrez-le en UTF-8.",
        ),
        (
            people(SOPHIE, 'AB123456;"Enfant;MARTIN;Maxime;03/09/2013;01/01/2026;31/12/2026'),
            "Ligne 3 : ligne illisible (guillemet non refermé ou champ trop long).",
        ),
    ],
)
def test_unreadable_file_is_refused_as_a_whole(data, message):
    assert refusal(lambda: parse_people(data, today=TODAY)) == [message]


def test_file_over_the_size_limit_is_refused_before_reading():
    data = people(*PEOPLE)

    assert refusal(lambda: parse_people(data, today=TODAY, max_bytes=len(data) - 1)) == [
        f"Le fichier est trop volumineux ({len(data) - 1} octets au plus) : "
        "découpez-le en plusieurs fichiers."
    ]
    assert parse_people(data, today=TODAY, max_bytes=len(data))


def test_file_over_the_line_limit_is_refused():
    assert refusal(lambda: parse_people(people(*PEOPLE), today=TODAY, max_lines=5)) == [
        "Le fichier dépasse 5 lignes de données : découpez-le en plusieurs fichiers."
    ]
    assert len(parse_people(people(*PEOPLE), today=TODAY, max_lines=6)) == 6


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("01/01/2026", date(2026, 1, 1)),
        ("1/1/2026", date(2026, 1, 1)),
        ("29/02/2028", date(2028, 2, 29)),
        ("29/02/2026", None),
        ("2026-01-01", None),
        ("01/01/26", None),
        ("01.01.2026", None),
        ("", None),
    ],
)
def test_dates_are_jj_mm_aaaa(written, expected):
    assert parse_date(written) == expected


# --- Parsing the assistance files feed ----------------------------------------------------


def test_good_files_feed_gives_every_guarantee():
    lines = parse_assistance_files(files(*FILES))

    assert [(g.line, g.file_number, g.kind) for g in lines] == [
        (2, "DA-2026-0001", GuaranteeKind.SCHOOL),
        (3, "DA-2026-0001", GuaranteeKind.EXAM),
        (4, "DA-2026-0002", GuaranteeKind.SCHOOL),
    ]
    assert (lines[0].starts_on, lines[0].ends_on) == (date(2026, 3, 1), date(2026, 3, 31))
    assert lines[2].member_number == "CD789012"


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("Conduite à l'école", GuaranteeKind.SCHOOL),
        ("CONDUITE A L'ECOLE", GuaranteeKind.SCHOOL),
        ("conduite à l’école", GuaranteeKind.SCHOOL),
        ("Conduite a l ecole", GuaranteeKind.SCHOOL),
        ("Transport aux examens scolaires", GuaranteeKind.EXAM),
        ("TRANSPORT AUX EXAMENS SCOLAIRES", GuaranteeKind.EXAM),
        (" transport  aux examens scolaires ", GuaranteeKind.EXAM),
    ],
)
def test_guarantee_is_read_whatever_its_case_and_accents(written, kind):
    data = files(f"AB123456;DA-1;{written};01/03/2026;31/03/2026", encoding="cp1252")

    [line] = parse_assistance_files(data)

    assert line.kind is kind


def test_file_numbers_are_read_in_capitals():
    [line] = parse_assistance_files(
        files("ab123456; da-2026-0001 ;Conduite à l'école;1/3/2026;31/3/2026")
    )

    assert (line.member_number, line.file_number) == ("AB123456", "DA-2026-0001")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "AB123456;DA-1;Taxi;01/03/2026;31/03/2026",
            "Ligne 2 : garantie inconnue « Taxi » (attendu : « Conduite à l'école » ou "
            "« Transport aux examens scolaires »).",
        ),
        (
            "AB123456;DA-1;Conduite à l'école;31/03/2026;01/03/2026",
            "Ligne 2 : la fin de la garantie (01/03/2026) précède son début (31/03/2026).",
        ),
        (
            "AB123456;DA-1;Conduite à l'école;31/04/2026;01/05/2026",
            "Ligne 2 : début de garantie invalide « 31/04/2026 » (date inexistante).",
        ),
        (
            "AB123456;;Conduite à l'école;01/03/2026;31/03/2026",
            "Ligne 2 : le champ « numéro de dossier » est vide.",
        ),
        (
            "AB123456;DA<1>;Conduite à l'école;01/03/2026;31/03/2026",
            "Ligne 2 : numéro de dossier invalide « DA<1> » "
            "(lettres sans accents, chiffres et séparateurs - / . _).",
        ),
        (
            "AB123456;DA-1;Conduite à l'école;01/03/2026",
            "Ligne 2 : 4 colonnes au lieu de 5 (séparateur attendu : « ; »).",
        ),
        (
            "AB1234#6;DA-1;Conduite à l'école;01/03/2026;31/03/2026",
            "Ligne 2 : numéro adhérent invalide « AB1234#6 » "
            "(lettres et chiffres uniquement, 32 au plus).",
        ),
    ],
)
def test_each_bad_files_line_is_refused_with_its_reason(line, message):
    assert refusal(lambda: parse_assistance_files(files(line))) == [message]


def test_duplicate_guarantee_line_in_the_file_is_refused(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    again = "AB123456;da-2026-0001;CONDUITE A L'ECOLE;02/03/2026;30/03/2026"
    data = files(SCHOOL, EXAM, again)

    assert refusal(lambda: import_assistance_files(session, insurer, data)) == [
        "Ligne 4 : ligne en double : même dossier et même garantie qu'à la ligne 2."
    ]


def test_one_file_number_for_two_families_in_the_file_is_refused(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    other = "CD789012;DA-2026-0001;Transport aux examens scolaires;01/06/2026;30/06/2026"
    data = files(SCHOOL, other)

    assert refusal(lambda: import_assistance_files(session, insurer, data)) == [
        "Ligne 3 : le dossier « DA-2026-0001 » est rattaché au numéro adhérent AB123456 "
        "à la ligne 2."
    ]


def test_people_file_given_as_files_feed_is_refused_by_its_header():
    [message] = refusal(lambda: parse_assistance_files(people(SOPHIE)))

    assert message.startswith(
        "Ligne 1 : en-tête attendu « numero_adherent;numero_dossier;garantie;debut;fin »"
    )


# --- Importing into the database ----------------------------------------------------------


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


@pytest.fixture
def insurer(session) -> Insurer:
    return create_insurer(session, "mutuelle-du-nord", "Mutuelle du Nord")


def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of the roster tables, to compare before and after an import."""
    tables = {
        "members": sa.select(
            Member.insurer_id,
            Member.member_number,
            Member.quality,
            Member.last_name,
            Member.first_name,
            Member.last_name_key,
            Member.first_name_key,
            Member.birth_date,
        ),
        "offers": sa.select(Member.first_name, Offer.id, Offer.starts_on, Offer.ends_on).join(
            Offer.member
        ),
        "files": sa.select(
            AssistanceFile.id,
            AssistanceFile.insurer_id,
            AssistanceFile.member_number,
            AssistanceFile.number,
        ),
        "guarantees": sa.select(
            Guarantee.id,
            Guarantee.assistance_file_id,
            Guarantee.kind,
            Guarantee.starts_on,
            Guarantee.ends_on,
        ),
    }
    session.expire_all()
    return {name: sorted(session.execute(query).all()) for name, query in tables.items()}


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def offers_of(session, first_name: str) -> list[tuple[date, date]]:
    return session.execute(
        sa.select(Offer.starts_on, Offer.ends_on)
        .join(Offer.member)
        .where(Member.first_name == first_name)
        .order_by(Offer.starts_on)
    ).all()


def test_import_creates_people_with_folded_keys_and_offers(session, insurer):
    summary = import_people(session, insurer, people(*PEOPLE), today=TODAY)

    assert (summary.people.created, summary.people.updated, summary.people.unchanged) == (6, 0, 0)
    assert (summary.offers.created, summary.offers.updated, summary.offers.unchanged) == (6, 0, 0)
    session.expire_all()
    helene = session.scalar(sa.select(Member).where(Member.first_name == "Hélène"))
    assert helene.insurer_id == insurer.id
    assert helene.member_number == "EF345678"
    assert helene.quality is Quality.ADHERENT
    assert (helene.last_name_key, helene.first_name_key) == ("leroy", "helene")
    assert helene.birth_date == date(1987, 7, 30)
    assert offers_of(session, "Hélène") == [(date(2025, 1, 1), date(2025, 12, 31))]
    family = session.scalars(
        sa.select(Member.first_name).where(Member.member_number == "AB123456")
    ).all()
    assert sorted(family) == ["Franck", "Maxime", "Sophie"]


def test_windows_1252_file_is_stored_with_its_accents(session, insurer):
    import_people(session, insurer, people(HELENE, encoding="cp1252"), today=TODAY)

    stored = session.execute(sa.select(Member.first_name, Member.quality)).one()
    assert stored == ("Hélène", Quality.ADHERENT)


def test_bad_date_on_line_7_imports_nothing(session, insurer):
    bad = "EF345678;Adhérent;LEROY;Hélène;1987-07-30;01/01/2025;31/12/2025"

    errors = refusal(lambda: import_people(session, insurer, people(*PEOPLE[:5], bad), today=TODAY))

    assert errors == [
        "Ligne 7 : date de naissance invalide « 1987-07-30 » (format attendu JJ/MM/AAAA)."
    ]
    assert count(session, Member) == 0
    assert count(session, Offer) == 0


def test_a_bad_line_leaves_earlier_imports_untouched(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    before = snapshot(session)
    newer = "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;30/06/2027"
    bad = "ZZ999999;Cousin;NOUVEAU;Paul;01/01/1990;01/01/2026;31/12/2026"

    refusal(lambda: import_people(session, insurer, people(newer, bad), today=TODAY))

    assert snapshot(session) == before


def test_second_import_of_the_same_file_changes_nothing(session, insurer):
    data = people(*PEOPLE)
    import_people(session, insurer, data, today=TODAY)
    before = snapshot(session)

    summary = import_people(session, insurer, data, today=TODAY)

    assert (summary.people.created, summary.people.updated, summary.people.unchanged) == (0, 0, 6)
    assert (summary.offers.created, summary.offers.updated, summary.offers.unchanged) == (0, 0, 6)
    assert snapshot(session) == before
    assert len(before["members"]) == 6
    assert len(before["offers"]) == 6


def test_same_file_in_windows_1252_then_utf8_with_bom_changes_nothing(session, insurer):
    import_people(session, insurer, people(*PEOPLE, encoding="cp1252"), today=TODAY)
    before = snapshot(session)

    summary = import_people(session, insurer, b"\xef\xbb\xbf" + people(*PEOPLE), today=TODAY)

    assert summary.people.unchanged == 6
    assert snapshot(session) == before


def test_newer_file_updates_offer_end_and_adds_new_offers(session, insurer):
    import_people(session, insurer, people(SOPHIE, MAXIME, HELENE), today=TODAY)
    offer_id = session.scalar(
        sa.select(Offer.id).join(Offer.member).where(Member.first_name == "Sophie")
    )
    newer = people(
        "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;30/06/2027",  # extended
        MAXIME,  # unchanged
        "EF345678;Adhérent;LEROY;Hélène;30/07/1987;01/03/2026;28/02/2027",  # renewed
    )

    summary = import_people(session, insurer, newer, today=TODAY)

    assert (summary.offers.created, summary.offers.updated, summary.offers.unchanged) == (1, 1, 1)
    assert (summary.people.created, summary.people.updated, summary.people.unchanged) == (0, 0, 3)
    assert offers_of(session, "Sophie") == [(date(2026, 1, 1), date(2027, 6, 30))]
    assert (
        session.scalar(sa.select(Offer.id).join(Offer.member).where(Member.first_name == "Sophie"))
        == offer_id
    )
    assert offers_of(session, "Hélène") == [
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2026, 3, 1), date(2027, 2, 28)),
    ]
    assert count(session, Member) == 3


def test_newer_file_updates_quality_and_spelling_of_the_same_person(session, insurer):
    import_people(session, insurer, people(KARIM), today=TODAY)
    respelled = "CD789012;Adhérent;Dupont;KARIM;05/06/1981;01/02/2026;31/01/2027"

    summary = import_people(session, insurer, people(respelled), today=TODAY)

    assert (summary.people.created, summary.people.updated) == (0, 1)
    karim = session.execute(sa.select(Member.quality, Member.last_name, Member.first_name)).one()
    assert karim == (Quality.ADHERENT, "Dupont", "KARIM")
    assert count(session, Member) == 1


def test_people_are_told_apart_by_birth_date(session, insurer):
    father = "AB123456;Adhérent;MARTIN;Paul;01/01/1960;01/01/2026;31/12/2026"
    son = "AB123456;Enfant;MARTIN;Paul;01/01/2012;01/01/2026;31/12/2026"

    summary = import_people(session, insurer, people(father, son), today=TODAY)

    assert summary.people.created == 2
    assert count(session, Member) == 2


def test_same_member_number_at_another_insurer_is_another_family(session, insurer):
    other = create_insurer(session, "autre", "Autre Mutuelle")
    import_people(session, insurer, people(SOPHIE), today=TODAY)

    summary = import_people(session, other, people(SOPHIE), today=TODAY)

    assert summary.people.created == 1
    rows = session.execute(sa.select(Member.insurer_id, Member.first_name)).all()
    assert sorted(rows) == sorted([(insurer.id, "Sophie"), (other.id, "Sophie")])


def test_import_files_creates_files_and_guarantees(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)

    summary = import_assistance_files(session, insurer, files(*FILES))

    assert (summary.files.created, summary.files.updated, summary.files.unchanged) == (2, 0, 0)
    assert (summary.guarantees.created, summary.guarantees.unchanged) == (3, 0)
    session.expire_all()
    sophie_file = session.scalar(
        sa.select(AssistanceFile).where(AssistanceFile.number == "DA-2026-0001")
    )
    assert (sophie_file.insurer_id, sophie_file.member_number) == (insurer.id, "AB123456")
    assert [(g.kind, g.starts_on, g.ends_on) for g in sophie_file.guarantees] == [
        (GuaranteeKind.SCHOOL, date(2026, 3, 1), date(2026, 3, 31)),
        (GuaranteeKind.EXAM, date(2026, 6, 1), date(2026, 6, 30)),
    ]


def test_second_import_of_the_same_files_feed_changes_nothing(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    import_assistance_files(session, insurer, files(*FILES, encoding="cp1252"))
    before = snapshot(session)

    summary = import_assistance_files(session, insurer, files(*FILES))

    assert (summary.files.created, summary.files.updated, summary.files.unchanged) == (0, 0, 2)
    assert (summary.guarantees.created, summary.guarantees.updated) == (0, 0)
    assert summary.guarantees.unchanged == 3
    assert snapshot(session) == before


def test_newer_files_feed_updates_guarantee_dates_and_adds_kinds(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    import_assistance_files(session, insurer, files(SCHOOL, KARIM_SCHOOL))
    newer = files(
        "AB123456;DA-2026-0001;Conduite à l'école;01/03/2026;30/04/2026",  # extended
        EXAM,  # added to the same file
        KARIM_SCHOOL,  # unchanged
        "EF345678;DA-2026-0003;Conduite à l'école;16/03/2026;15/05/2026",  # new file
    )

    summary = import_assistance_files(session, insurer, newer)

    assert (summary.files.created, summary.files.updated, summary.files.unchanged) == (1, 1, 1)
    assert (
        summary.guarantees.created,
        summary.guarantees.updated,
        summary.guarantees.unchanged,
    ) == (2, 1, 1)
    rows = session.execute(
        sa.select(AssistanceFile.number, Guarantee.kind, Guarantee.starts_on, Guarantee.ends_on)
        .join(Guarantee.assistance_file)
        .order_by(AssistanceFile.number, Guarantee.starts_on)
    ).all()
    assert rows == [
        ("DA-2026-0001", GuaranteeKind.SCHOOL, date(2026, 3, 1), date(2026, 4, 30)),
        ("DA-2026-0001", GuaranteeKind.EXAM, date(2026, 6, 1), date(2026, 6, 30)),
        ("DA-2026-0002", GuaranteeKind.SCHOOL, date(2026, 3, 1), date(2026, 4, 15)),
        ("DA-2026-0003", GuaranteeKind.SCHOOL, date(2026, 3, 16), date(2026, 5, 15)),
    ]


def test_file_number_already_used_by_another_family_is_refused(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    import_assistance_files(session, insurer, files(SCHOOL))
    before = snapshot(session)
    taken = "CD789012;DA-2026-0001;Transport aux examens scolaires;01/06/2026;30/06/2026"

    errors = refusal(lambda: import_assistance_files(session, insurer, files(KARIM_SCHOOL, taken)))

    assert errors == [
        "Ligne 3 : le dossier « DA-2026-0001 » est déjà rattaché à une autre famille "
        "(numéro adhérent AB123456)."
    ]
    assert snapshot(session) == before


def test_files_of_a_family_missing_from_the_roster_are_refused(session, insurer):
    import_people(session, insurer, people(SOPHIE), today=TODAY)
    unknown = "ZZ000001;DA-9;Conduite à l'école;01/03/2026;31/03/2026"

    errors = refusal(lambda: import_assistance_files(session, insurer, files(SCHOOL, unknown)))

    assert errors == [
        "Ligne 3 : numéro adhérent « ZZ000001 » absent du fichier des personnes de cette "
        "mutuelle (importez-le d'abord)."
    ]
    assert count(session, AssistanceFile) == 0
    assert count(session, Guarantee) == 0


def test_files_feed_with_a_bad_line_imports_nothing(session, insurer):
    import_people(session, insurer, people(*PEOPLE), today=TODAY)
    bad = "CD789012;DA-2026-0002;Conduite à l'école;01/03/2026;15/13/2026"

    errors = refusal(lambda: import_assistance_files(session, insurer, files(SCHOOL, EXAM, bad)))

    assert errors == ["Ligne 4 : fin de garantie invalide « 15/13/2026 » (date inexistante)."]
    assert count(session, AssistanceFile) == 0
    assert count(session, Guarantee) == 0


def test_files_of_another_insurer_with_the_same_number_are_separate(session, insurer):
    other = create_insurer(session, "autre", "Autre Mutuelle")
    for each in (insurer, other):
        import_people(session, each, people(SOPHIE), today=TODAY)

    import_assistance_files(session, insurer, files(SCHOOL))
    summary = import_assistance_files(session, other, files(SCHOOL))

    assert summary.files.created == 1
    assert count(session, AssistanceFile) == 2


def test_large_import_runs_a_fixed_number_of_queries(app, session, insurer, count_queries):
    small = [f"N{i:07d};Adhérent;NOM;Prenom;01/01/1980;01/01/2026;31/12/2026" for i in range(5)]
    large = [f"N{i:07d};Adhérent;NOM;Prenom;01/01/1980;01/01/2026;31/12/2026" for i in range(400)]
    import_people(session, insurer, people(*small), today=TODAY, partial=True)
    import_people(session, insurer, people(*large), today=TODAY, partial=True)

    with count_queries() as few:
        import_people(session, insurer, people(*small), today=TODAY, partial=True)
    with count_queries() as many:
        import_people(session, insurer, people(*large), today=TODAY, partial=True)

    assert many.count == few.count


# --- Insurers: slug, origins, phone ------------------------------------------------------


@pytest.mark.parametrize("slug", ["demo", "mutuelle-du-nord", "mn2", "a", "2026-mut"])
def test_valid_slugs(slug):
    assert is_valid_slug(slug)


@pytest.mark.parametrize(
    "slug",
    [
        "",
        "Demo",
        "mutuelle_nord",
        "mutuelle du nord",
        "-demo",
        "demo-",
        "dé-mo",
        "a--b",
        "demo/x",
        "a" * 65,
    ],
)
def test_invalid_slugs(slug):
    assert not is_valid_slug(slug)


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://www.mutuelle.fr", "https://www.mutuelle.fr"),
        ("HTTPS://WWW.Mutuelle.FR", "https://www.mutuelle.fr"),
        ("https://www.mutuelle.fr/", "https://www.mutuelle.fr"),
        ("https://www.mutuelle.fr:443", "https://www.mutuelle.fr"),
        ("http://intranet.mutuelle.fr:80", "http://intranet.mutuelle.fr"),
        ("https://www.mutuelle.fr:8443", "https://www.mutuelle.fr:8443"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"),
        ("https://mutuelle-générale.fr", "https://xn--mutuelle-gnrale-knbb.fr"),
        ("  https://www.mutuelle.fr  ", "https://www.mutuelle.fr"),
    ],
)
def test_origins_are_normalised_as_browsers_send_them(raw, origin):
    assert normalize_origin(raw) == origin


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "www.mutuelle.fr",
        "//www.mutuelle.fr",
        "ftp://www.mutuelle.fr",
        "javascript://alert(1)",
        "https://*.mutuelle.fr",
        "*",
        "https://www.mutuelle.fr/espace",
        "https://www.mutuelle.fr?x=1",
        "https://www.mutuelle.fr#top",
        "https://user:pass@www.mutuelle.fr",
        "https://www.mutuelle.fr:0",
        "https://www.mutuelle.fr:70000",
        "https://www.mutuelle.fr:",
        "https://www..fr",
        "https://www.mutuelle.fr.",
        "https://-www.mutuelle.fr",
        "https://www_mutuelle.fr",
        "https://999.1.1.1",
        "https://[::g]",
        "https://www.mutuelle.fr https://autre.fr",
        "https://www.mutuelle.fr\\@evil.fr",
    ],
)
def test_malformed_origins_are_refused(raw):
    assert normalize_origin(raw) is None


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("01 23 45 67 89", "01 23 45 67 89"),
        ("0123456789", "01 23 45 67 89"),
        ("+33 1 23 45 67 89", "01 23 45 67 89"),
        ("08.00.12.34.56", "08 00 12 34 56"),
        ("06-12-34-56-78", "06 12 34 56 78"),
        ("12 34", None),
        ("00 23 45 67 89", None),
        ("01 23 45 67 8A", None),
    ],
)
def test_assistance_phone_numbers(raw, phone):
    assert normalize_phone(raw) == phone


def test_create_insurer_stores_clean_values_and_origins(session):
    insurer = create_insurer(
        session,
        "mutuelle-du-nord",
        "  Mutuelle   du Nord ",
        phone="0123456789",
        origins=["https://WWW.mn.fr/", "https://www.mn.fr:443", "http://localhost:8080"],
    )

    session.expire_all()
    assert (insurer.slug, insurer.name, insurer.phone) == (
        "mutuelle-du-nord",
        "Mutuelle du Nord",
        "01 23 45 67 89",
    )
    assert [o.origin for o in insurer.origins] == ["http://localhost:8080", "https://www.mn.fr"]


def test_create_insurer_reports_every_problem_and_writes_nothing(session):
    with pytest.raises(InsurerError) as caught:
        create_insurer(session, "Mutuelle Nord", " ", phone="12", origins=["https://*.mn.fr"])

    assert caught.value.messages == [
        "L'identifiant « Mutuelle Nord » est invalide : lettres minuscules sans accents, "
        "chiffres et tirets uniquement, sans tiret au début ni à la fin "
        "(par exemple « mutuelle-du-nord »).",
        "Le nom de la mutuelle est obligatoire (200 caractères au plus).",
        "Le numéro d'assistance « 12 » est invalide : 10 chiffres, par exemple 01 23 45 67 89.",
        "L'origine « https://*.mn.fr » est invalide : attendu exactement http(s)://hôte ou "
        "http(s)://hôte:port, sans chemin, sans paramètres et sans joker (*).",
    ]
    assert count(session, Insurer) == 0


def test_create_insurer_refuses_a_taken_slug(session, insurer):
    with pytest.raises(InsurerError) as caught:
        create_insurer(session, "mutuelle-du-nord", "Autre nom")

    assert caught.value.messages == ["La mutuelle « mutuelle-du-nord » existe déjà."]
    assert session.scalars(sa.select(Insurer.name)).all() == ["Mutuelle du Nord"]

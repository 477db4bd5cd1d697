"""Every `flask --app wsgi ...` command, through Flask's CLI runner."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.clock import today
from app.extensions import db
from app.models import (
    AssistanceFile,
    Guarantee,
    GuaranteeKind,
    Insurer,
    InsurerOrigin,
    Member,
    Offer,
    Quality,
)
from app.roster import MAX_BYTES, MAX_LINES

PEOPLE_HEADER = "numero_adherent;qualite;nom;prenom;date_naissance;offre_debut;offre_fin"
FILES_HEADER = "numero_adherent;numero_dossier;garantie;debut;fin"
PEOPLE_LINES = (
    "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;31/12/2026",
    "AB123456;Enfant;MARTIN;Maxime;03/09/2013;01/01/2026;31/12/2026",
    "AB123456;Enfant;MARTIN;Franck;20/11/2016;01/01/2026;31/12/2026",
    "CD789012;Souscripteur;DUPONT;Karim;05/06/1981;01/02/2026;31/01/2027",
    "CD789012;Enfant;DUPONT;Lina;14/02/2011;01/02/2026;31/01/2027",
    "EF345678;Adhérent;LEROY;Hélène;30/07/1987;01/01/2025;31/12/2025",
)
FILES_LINES = (
    "AB123456;DA-2026-0001;Conduite à l'école;01/03/2026;31/03/2026",
    "AB123456;DA-2026-0001;Transport aux examens scolaires;01/06/2026;30/06/2026",
    "CD789012;DA-2026-0002;Conduite à l'école;01/03/2026;15/04/2026",
)


def write_csv(path, header: str, *lines: str, encoding: str = "utf-8", bom: bool = False):
    data = "\r\n".join((header, *lines, "")).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return str(path)


@pytest.fixture
def mutuelle(runner):
    result = runner.invoke(args=["insurer", "add", "mutuelle-du-nord", "Mutuelle du Nord"])
    assert result.exit_code == 0, result.output


def rows(app, query) -> list[tuple]:
    with app.app_context():
        return sorted(db.session.execute(query).all())


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def roster_snapshot(app) -> list[list[tuple]]:
    return [
        rows(
            app,
            sa.select(
                Member.id,
                Member.member_number,
                Member.quality,
                Member.last_name,
                Member.first_name,
                Member.birth_date,
            ),
        ),
        rows(app, sa.select(Offer.id, Offer.member_id, Offer.starts_on, Offer.ends_on)),
        rows(
            app, sa.select(AssistanceFile.id, AssistanceFile.member_number, AssistanceFile.number)
        ),
        rows(
            app,
            sa.select(
                Guarantee.id,
                Guarantee.assistance_file_id,
                Guarantee.kind,
                Guarantee.starts_on,
                Guarantee.ends_on,
            ),
        ),
    ]


# --- insurer add --------------------------------------------------------------------------


def test_insurer_add_creates_the_insurer_with_phone_and_origins(app, runner):
    result = runner.invoke(
        args=[
            "insurer",
            "add",
            "mutuelle-du-nord",
            "Mutuelle du Nord",
            "--phone",
            "03 20 00 00 00",
            "--origin",
            "https://www.mutuelle-du-nord.fr",
            "--origin",
            "https://Espace.Mutuelle-du-Nord.fr:443/",
        ]
    )

    assert result.exit_code == 0, result.output
    assert result.output == (
        "Mutuelle créée : Mutuelle du Nord (mutuelle-du-nord).\n"
        "Origine autorisée : https://espace.mutuelle-du-nord.fr\n"
        "Origine autorisée : https://www.mutuelle-du-nord.fr\n"
    )
    assert rows(app, sa.select(Insurer.slug, Insurer.name, Insurer.phone)) == [
        ("mutuelle-du-nord", "Mutuelle du Nord", "03 20 00 00 00")
    ]
    assert rows(app, sa.select(InsurerOrigin.origin)) == [
        ("https://espace.mutuelle-du-nord.fr",),
        ("https://www.mutuelle-du-nord.fr",),
    ]


def test_insurer_add_without_options(app, runner):
    result = runner.invoke(args=["insurer", "add", "mn", "Mutuelle du Nord"])

    assert result.exit_code == 0, result.output
    assert rows(app, sa.select(Insurer.slug, Insurer.phone)) == [("mn", None)]
    assert count(app, InsurerOrigin) == 0


@pytest.mark.parametrize("slug", ["Mutuelle", "mutuelle_nord", "mutuelle nord", "-mn", "mné"])
def test_insurer_add_refuses_a_bad_slug(app, runner, slug):
    result = runner.invoke(args=["insurer", "add", "--", slug, "Mutuelle du Nord"])

    assert result.exit_code == 1
    assert f"L'identifiant « {slug} » est invalide" in result.stderr
    assert result.stdout == ""
    assert count(app, Insurer) == 0


@pytest.mark.parametrize(
    "origin",
    [
        "https://www.mn.fr/espace",
        "https://*.mn.fr",
        "*",
        "ftp://www.mn.fr",
        "www.mn.fr",
        "https://www.mn.fr?embed=1",
        "https://admin@www.mn.fr",
    ],
)
def test_insurer_add_refuses_a_bad_origin(app, runner, origin):
    result = runner.invoke(
        args=[
            "insurer",
            "add",
            "mn",
            "Mutuelle du Nord",
            "--origin",
            "https://ok.mn.fr",
            "--origin",
            origin,
        ]
    )

    assert result.exit_code == 1
    assert result.stderr == (
        f"L'origine « {origin} » est invalide : attendu exactement http(s)://hôte ou "
        "http(s)://hôte:port, sans chemin, sans paramètres et sans joker (*).\n"
    )
    assert count(app, Insurer) == 0
    assert count(app, InsurerOrigin) == 0


def test_insurer_add_refuses_a_bad_phone(app, runner):
    result = runner.invoke(args=["insurer", "add", "mn", "Mutuelle du Nord", "--phone", "123"])

    assert result.exit_code == 1
    assert "Le numéro d'assistance « 123 » est invalide" in result.stderr
    assert count(app, Insurer) == 0


def test_insurer_add_refuses_a_duplicate_slug(app, runner, mutuelle):
    result = runner.invoke(
        args=["insurer", "add", "mutuelle-du-nord", "Autre", "--origin", "https://autre.fr"]
    )

    assert result.exit_code == 1
    assert result.stderr == "La mutuelle « mutuelle-du-nord » existe déjà.\n"
    assert rows(app, sa.select(Insurer.slug, Insurer.name)) == [
        ("mutuelle-du-nord", "Mutuelle du Nord")
    ]
    assert count(app, InsurerOrigin) == 0


# --- roster import ------------------------------------------------------------------------


def test_roster_import_loads_the_people_file_and_prints_a_summary(app, runner, mutuelle, tmp_path):
    path = write_csv(tmp_path / "personnes.csv", PEOPLE_HEADER, *PEOPLE_LINES)

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:4] == [
        "Import des personnes de Mutuelle du Nord (mutuelle-du-nord) terminé.",
        "Lignes lues : 6 ; familles : 3.",
        "Personnes : 6 créées, 0 mise à jour, 0 inchangée, 0 sortie.",
        "Offres : 6 créées, 0 mise à jour, 0 inchangée.",
    ]
    assert re.fullmatch(r"Durée : \d+,\d s\.", result.output.splitlines()[4])
    assert count(app, Member) == 6
    assert count(app, Offer) == 6
    assert ("LEROY", "Hélène", Quality.ADHERENT) in rows(
        app, sa.select(Member.last_name, Member.first_name, Member.quality)
    )


def test_roster_import_reads_windows_1252(app, runner, mutuelle, tmp_path):
    path = write_csv(tmp_path / "personnes.csv", PEOPLE_HEADER, PEOPLE_LINES[-1], encoding="cp1252")

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])

    assert result.exit_code == 0, result.output
    assert rows(app, sa.select(Member.first_name, Member.quality)) == [("Hélène", Quality.ADHERENT)]


def test_roster_import_reads_utf8_with_bom(app, runner, mutuelle, tmp_path):
    path = write_csv(tmp_path / "personnes.csv", PEOPLE_HEADER, *PEOPLE_LINES, bom=True)

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])

    assert result.exit_code == 0, result.output
    assert count(app, Member) == 6


def test_roster_import_twice_changes_nothing(app, runner, mutuelle, tmp_path):
    path = write_csv(tmp_path / "personnes.csv", PEOPLE_HEADER, *PEOPLE_LINES)
    runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])
    before = roster_snapshot(app)

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])

    assert result.exit_code == 0, result.output
    assert "Personnes : 0 créée, 0 mise à jour, 6 inchangées, 0 sortie." in result.output
    assert "Offres : 0 créée, 0 mise à jour, 6 inchangées." in result.output
    assert roster_snapshot(app) == before


def test_roster_import_with_a_bad_date_on_line_7_imports_nothing(app, runner, mutuelle, tmp_path):
    bad = "EF345678;Adhérent;LEROY;Hélène;30/07/87;01/01/2025;31/12/2025"
    path = write_csv(tmp_path / "personnes.csv", PEOPLE_HEADER, *PEOPLE_LINES[:5], bad)

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])

    assert result.exit_code == 1
    assert result.stderr == (
        "Import refusé : 1 ligne en erreur, rien n'a été importé. Corrigez le fichier puis "
        "relancez la commande.\n"
        "Ligne 7 : date de naissance invalide « 30/07/87 » (format attendu JJ/MM/AAAA).\n"
    )
    assert result.stdout == ""
    assert count(app, Member) == 0
    assert count(app, Offer) == 0


def test_roster_import_reports_every_bad_line(app, runner, mutuelle, tmp_path):
    path = write_csv(
        tmp_path / "personnes.csv",
        PEOPLE_HEADER,
        PEOPLE_LINES[0],
        "AB123456;Tante;MARTIN;Lucie;01/01/1970;01/01/2026;31/12/2026",
        PEOPLE_LINES[1],
        "AB123456;Enfant;MARTIN;Franck;20/11/2016;01/01/2026",
        PEOPLE_LINES[0],
    )

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Import refusé : 3 lignes en erreur, rien n'a été importé. Corrigez le fichier puis "
        "relancez la commande.",
        "Ligne 3 : qualité inconnue « Tante » "
        "(attendu : Adhérent, Souscripteur, Conjoint ou Enfant).",
        "Ligne 5 : 6 colonnes au lieu de 7 (séparateur attendu : « ; »).",
        "Ligne 6 : ligne en double : même personne et même début d'offre qu'à la ligne 2.",
    ]
    assert count(app, Member) == 0


def test_roster_import_of_a_newer_file_updates_offers(app, runner, mutuelle, tmp_path):
    first = write_csv(tmp_path / "janvier.csv", PEOPLE_HEADER, *PEOPLE_LINES)
    runner.invoke(args=["roster", "import", "mutuelle-du-nord", first])
    newer = write_csv(
        tmp_path / "mars.csv",
        PEOPLE_HEADER,
        "AB123456;Adhérent;MARTIN;Sophie;12/04/1984;01/01/2026;30/06/2027",
        "EF345678;Adhérent;LEROY;Hélène;30/07/1987;01/03/2026;28/02/2027",
        "GH000001;Adhérent;NOUVEAU;Paul;01/01/1990;01/03/2026;28/02/2027",
    )

    # A file of changes only: the people it leaves out keep their offers.
    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", newer, "--partial"])

    assert result.exit_code == 0, result.output
    assert (
        "Personnes : 1 créée, 0 mise à jour, 2 inchangées ; fichier partiel : aucune offre "
        "arrêtée." in result.output
    )
    assert "Offres : 2 créées, 1 mise à jour, 0 inchangée." in result.output
    offers = rows(
        app,
        sa.select(Member.first_name, Offer.starts_on, Offer.ends_on)
        .join(Offer.member)
        .where(Member.first_name.in_(["Sophie", "Hélène"])),
    )
    assert [(name, str(start), str(end)) for name, start, end in offers] == [
        ("Hélène", "2025-01-01", "2025-12-31"),
        ("Hélène", "2026-03-01", "2027-02-28"),
        ("Sophie", "2026-01-01", "2027-06-30"),
    ]
    assert count(app, Member) == 7


def test_roster_import_for_an_unknown_insurer_is_refused(app, runner, tmp_path):
    path = write_csv(tmp_path / "personnes.csv", PEOPLE_HEADER, *PEOPLE_LINES)

    result = runner.invoke(args=["roster", "import", "inconnue", path])

    assert result.exit_code == 1
    assert result.stderr == (
        "Mutuelle inconnue : « inconnue ». Créez-la d'abord avec "
        "« flask --app wsgi insurer add ».\n"
    )
    assert count(app, Member) == 0


def test_roster_import_of_a_missing_file_is_refused(runner, mutuelle, tmp_path):
    missing = tmp_path / "absent.csv"

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(missing)])

    assert result.exit_code == 1
    assert result.stderr == f"Fichier introuvable : « {missing} ».\n"


def test_roster_import_of_a_directory_is_refused(runner, mutuelle, tmp_path):
    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(tmp_path)])

    assert result.exit_code == 1
    assert result.stderr == f"« {tmp_path} » est un dossier, pas un fichier CSV.\n"


def test_roster_import_of_a_huge_file_is_refused_before_reading(app, runner, mutuelle, tmp_path):
    path = tmp_path / "enorme.csv"
    with path.open("wb") as huge:
        huge.write((PEOPLE_HEADER + "\r\n").encode())
        huge.truncate(MAX_BYTES + 1)  # sparse: no 2 GB written to disk
    assert os.path.getsize(path) == MAX_BYTES + 1

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(path)])

    assert result.exit_code == 1
    assert result.stderr == (
        "Le fichier est trop volumineux (2 Go au plus) : découpez-le en plusieurs fichiers.\n"
    )
    assert count(app, Member) == 0


def test_roster_import_of_too_many_lines_is_refused(app, runner, mutuelle, tmp_path, monkeypatch):
    # The real limit (10 million lines) is lowered rather than written to disk.
    assert MAX_LINES == 10_000_000
    monkeypatch.setattr("app.roster.csvfile.MAX_LINES", 1_000)
    line = "AB123456;Enfant;MARTIN;Maxime;03/09/2013;01/01/2026;31/12/2026"
    path = write_csv(tmp_path / "long.csv", PEOPLE_HEADER, *[line] * 1_001)

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[1] == (
        "Le fichier dépasse 1\u202f000 lignes de données : découpez-le en plusieurs fichiers."
    )
    assert count(app, Member) == 0


def test_roster_import_of_an_empty_file_is_refused(runner, mutuelle, tmp_path):
    path = tmp_path / "vide.csv"
    path.write_bytes(b"")

    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", str(path)])

    assert result.exit_code == 1
    assert result.stderr == "Import refusé : rien n'a été importé.\nLe fichier est vide.\n"


# --- roster import-files ------------------------------------------------------------------


@pytest.fixture
def roster(runner, mutuelle, tmp_path):
    path = write_csv(tmp_path / "personnes.csv", PEOPLE_HEADER, *PEOPLE_LINES)
    result = runner.invoke(args=["roster", "import", "mutuelle-du-nord", path])
    assert result.exit_code == 0, result.output


def test_import_files_loads_files_and_guarantees(app, runner, roster, tmp_path):
    path = write_csv(tmp_path / "dossiers.csv", FILES_HEADER, *FILES_LINES, encoding="cp1252")

    result = runner.invoke(args=["roster", "import-files", "mutuelle-du-nord", path])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:4] == [
        "Import des dossiers d'assistance de Mutuelle du Nord (mutuelle-du-nord) terminé.",
        "Lignes lues : 3 ; familles : 2.",
        "Dossiers : 2 créés, 0 mis à jour, 0 inchangé.",
        "Garanties : 3 créées, 0 mise à jour, 0 inchangée.",
    ]
    assert result.output.splitlines()[4].startswith("Durée : ")
    assert rows(
        app,
        sa.select(AssistanceFile.member_number, AssistanceFile.number, Guarantee.kind).join(
            Guarantee.assistance_file
        ),
    ) == [
        ("AB123456", "DA-2026-0001", GuaranteeKind.SCHOOL),
        ("AB123456", "DA-2026-0001", GuaranteeKind.EXAM),
        ("CD789012", "DA-2026-0002", GuaranteeKind.SCHOOL),
    ]


def test_import_files_twice_changes_nothing(app, runner, roster, tmp_path):
    path = write_csv(tmp_path / "dossiers.csv", FILES_HEADER, *FILES_LINES)
    runner.invoke(args=["roster", "import-files", "mutuelle-du-nord", path])
    before = roster_snapshot(app)

    result = runner.invoke(args=["roster", "import-files", "mutuelle-du-nord", path])

    assert result.exit_code == 0, result.output
    assert "Dossiers : 0 créé, 0 mis à jour, 2 inchangés." in result.output
    assert "Garanties : 0 créée, 0 mise à jour, 3 inchangées." in result.output
    assert roster_snapshot(app) == before


def test_import_files_of_a_newer_feed_updates_guarantees(app, runner, roster, tmp_path):
    first = write_csv(tmp_path / "mars.csv", FILES_HEADER, *FILES_LINES)
    runner.invoke(args=["roster", "import-files", "mutuelle-du-nord", first])
    newer = write_csv(
        tmp_path / "avril.csv",
        FILES_HEADER,
        "AB123456;DA-2026-0001;Conduite à l'école;01/03/2026;30/04/2026",
        "AB123456;DA-2026-0001;Transport aux examens scolaires;01/06/2026;30/06/2026",
    )

    result = runner.invoke(args=["roster", "import-files", "mutuelle-du-nord", newer])

    assert result.exit_code == 0, result.output
    assert "Dossiers : 0 créé, 1 mis à jour, 0 inchangé." in result.output
    assert "Garanties : 0 créée, 1 mise à jour, 1 inchangée." in result.output
    guarantees = rows(
        app,
        sa.select(Guarantee.kind, Guarantee.starts_on, Guarantee.ends_on)
        .join(Guarantee.assistance_file)
        .where(AssistanceFile.number == "DA-2026-0001"),
    )
    assert [(kind, str(start), str(end)) for kind, start, end in guarantees] == [
        (GuaranteeKind.SCHOOL, "2026-03-01", "2026-04-30"),
        (GuaranteeKind.EXAM, "2026-06-01", "2026-06-30"),
    ]


def test_import_files_refuses_a_file_of_another_family(app, runner, roster, tmp_path):
    first = write_csv(tmp_path / "mars.csv", FILES_HEADER, *FILES_LINES)
    runner.invoke(args=["roster", "import-files", "mutuelle-du-nord", first])
    before = roster_snapshot(app)
    taken = write_csv(
        tmp_path / "avril.csv",
        FILES_HEADER,
        "EF345678;DA-2026-0003;Conduite à l'école;01/04/2026;30/04/2026",
        "EF345678;DA-2026-0002;Conduite à l'école;01/04/2026;30/04/2026",
    )

    result = runner.invoke(args=["roster", "import-files", "mutuelle-du-nord", taken])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        "Ligne 3 : le dossier « DA-2026-0002 » est déjà rattaché à une autre famille "
        "(numéro adhérent CD789012)."
    ]
    assert roster_snapshot(app) == before


def test_import_files_with_an_unknown_guarantee_imports_nothing(app, runner, roster, tmp_path):
    path = write_csv(
        tmp_path / "dossiers.csv",
        FILES_HEADER,
        *FILES_LINES,
        "CD789012;DA-2026-0002;Garde d'enfants;01/03/2026;15/04/2026",
    )

    result = runner.invoke(args=["roster", "import-files", "mutuelle-du-nord", path])

    assert result.exit_code == 1
    assert "Ligne 5 : garantie inconnue « Garde d'enfants »" in result.stderr
    assert count(app, AssistanceFile) == 0
    assert count(app, Guarantee) == 0


def test_import_files_for_an_unknown_insurer_is_refused(runner, tmp_path):
    path = write_csv(tmp_path / "dossiers.csv", FILES_HEADER, *FILES_LINES)

    result = runner.invoke(args=["roster", "import-files", "inconnue", path])

    assert result.exit_code == 1
    assert result.stderr.startswith("Mutuelle inconnue : « inconnue ».")


# --- demo and setup -----------------------------------------------------------------------


def demo_state(app) -> list[list[tuple]]:
    return [
        rows(app, sa.select(Insurer.id, Insurer.slug, Insurer.name, Insurer.phone)),
        *roster_snapshot(app),
    ]


def test_demo_loads_the_demo_data_of_the_product_brief(app, runner):
    result = runner.invoke(args=["demo"])

    assert result.exit_code == 0, result.output
    flow_folder = (Path(app.instance_path) / "flux-demo").resolve()
    assert result.output == (
        "Données de démonstration chargées : Mutuelle Démo (demo).\n"
        f"Événements des trajets déposés dans : {flow_folder}\n"
    )
    assert rows(app, sa.select(Insurer.slug, Insurer.name, Insurer.phone)) == [
        ("demo", "Mutuelle Démo", "01 23 45 67 89")
    ]
    people = rows(
        app, sa.select(Member.member_number, Member.last_name, Member.first_name, Member.quality)
    )
    assert people == sorted(
        [
            ("AB123456", "MARTIN", "Sophie", Quality.ADHERENT),
            ("AB123456", "MARTIN", "Maxime", Quality.ENFANT),
            ("AB123456", "MARTIN", "Franck", Quality.ENFANT),
            ("CD789012", "DUPONT", "Karim", Quality.SOUSCRIPTEUR),
            ("CD789012", "DUPONT", "Lina", Quality.ENFANT),
            ("EF345678", "LEROY", "Hélène", Quality.ADHERENT),
            ("EF345678", "LEROY", "Jules", Quality.ENFANT),
        ]
    )
    day = today()
    offers = rows(
        app,
        sa.select(Member.first_name, Offer.starts_on, Offer.ends_on)
        .join(Offer.member)
        .where(Member.first_name.in_(["Sophie", "Hélène"])),
    )
    assert offers == [
        ("Hélène", day - timedelta(days=400), day - timedelta(days=1)),
        ("Sophie", day - timedelta(days=30), day + timedelta(days=335)),
    ]
    guarantees = rows(
        app,
        sa.select(
            AssistanceFile.member_number, Guarantee.kind, Guarantee.starts_on, Guarantee.ends_on
        ).join(Guarantee.assistance_file),
    )
    period = (day - timedelta(days=2), day + timedelta(days=28))
    assert guarantees == [
        ("AB123456", GuaranteeKind.SCHOOL, *period),
        ("AB123456", GuaranteeKind.EXAM, *period),
        ("CD789012", GuaranteeKind.SCHOOL, *period),
    ]


def test_demo_twice_changes_nothing(app, runner):
    runner.invoke(args=["demo"])
    before = demo_state(app)

    result = runner.invoke(args=["demo"])

    assert result.exit_code == 0, result.output
    assert demo_state(app) == before
    assert [len(table) for table in before] == [1, 7, 7, 2, 3]


def test_setup_loads_the_demo_data(app, runner):
    result = runner.invoke(args=["setup"])

    assert result.exit_code == 0, result.output
    assert "Données de démonstration chargées : Mutuelle Démo (demo)." in result.output
    assert count(app, Member) == 7


def test_roster_import_for_the_demo_insurer_updates_its_offers(app, runner, tmp_path):
    runner.invoke(args=["demo"])
    with app.app_context():
        jules = db.session.scalar(sa.select(Member).where(Member.first_name == "Jules"))
        birth = jules.birth_date.strftime("%d/%m/%Y")
    renewal = f"EF345678;Enfant;LEROY;Jules;{birth};{today():%d/%m/%Y};31/12/2099"
    path = write_csv(tmp_path / "personnes.csv", PEOPLE_HEADER, renewal)

    result = runner.invoke(args=["roster", "import", "demo", path, "--partial"])

    assert result.exit_code == 0, result.output
    assert "Personnes : 0 créée, 0 mise à jour, 1 inchangée ;" in result.output
    assert "Offres : 1 créée, 0 mise à jour, 0 inchangée." in result.output
    assert count(app, Member) == 7

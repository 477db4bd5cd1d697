"""« Mes adresses » in Chromium: Sophie records the family's addresses; axe-core checks."""

from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from app import clock
from app.clock import PARIS
from tests.conftest import DEFAULT_PASSWORD
from tests.test_addresses import add_address, add_trip

pytestmark = pytest.mark.browser

ADDRESSES = [
    ("Maison", "Domicile", "12 rue des Lilas", "Bâtiment B", "75011", "Paris"),
    ("École Jules Ferry", "École primaire", "3 place de la Mairie", "", "75011", "Paris"),
    ("Collège Victor Hugo", "Collège", "5 avenue Victor Hugo", "", "75016", "Paris"),
]


def log_in_as_sophie(page, live_server, auth) -> int:
    account_id = auth.create_account()
    page.goto(live_server.url + "/connexion")
    page.get_by_label("Adresse e-mail").fill("sophie.martin@example.fr")
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("link", name="Mes adresses").first).to_be_visible()
    return account_id


def fill_address(page, label, kind, street, complement, postal_code, city):
    page.get_by_label("Intitulé").fill(label)
    page.get_by_label("Type").select_option(label=kind)
    page.get_by_label("Adresse", exact=True).fill(street)
    page.get_by_label("Complément d'adresse").fill(complement)
    page.get_by_label("Code postal").fill(postal_code)
    page.get_by_label("Ville").fill(city)
    page.get_by_role("button", name="Enregistrer l'adresse").click()


def test_sophie_adds_the_family_addresses(page, live_server, auth, axe):
    log_in_as_sophie(page, live_server, auth)
    page.get_by_role("link", name="Mes adresses").first.click()
    expect(page.get_by_role("heading", name="Mes adresses")).to_be_visible()
    axe(page)

    for address in ADDRESSES:
        page.get_by_role("link", name="Ajouter une adresse").click()
        expect(page.get_by_role("heading", name="Ajouter une adresse")).to_be_visible()
        axe(page)
        fill_address(page, *address)
        expect(page.get_by_role("status")).to_have_text(
            f"L'adresse « {address[0]} » est enregistrée."
        )

    table = page.get_by_role("table")
    for label, kind, street, _, postal_code, city in ADDRESSES:
        row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=label))
        expect(row).to_contain_text(kind)
        expect(row).to_contain_text(f"{street}")
        expect(row).to_contain_text(f"{postal_code} {city}")
    axe(page)


def test_form_errors_are_announced_next_to_the_fields(page, live_server, auth, axe):
    log_in_as_sophie(page, live_server, auth)
    page.goto(live_server.url + "/adresses/ajouter")
    fill_address(page, "Maison", "Domicile", "12 rue des Lilas", "", "7500", "Paris")
    postal_code = page.get_by_label("Code postal")
    expect(postal_code).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#postal_code-erreur")).to_have_text(
        "Le code postal doit comporter 5 chiffres, par exemple 75011."
    )
    axe(page)
    postal_code.fill("75011")
    page.get_by_role("button", name="Enregistrer l'adresse").click()
    expect(page.get_by_role("rowheader", name="Maison")).to_be_visible()


def test_delete_asks_for_confirmation(page, live_server, auth, axe):
    log_in_as_sophie(page, live_server, auth)
    page.goto(live_server.url + "/adresses/ajouter")
    fill_address(page, *ADDRESSES[0])
    page.get_by_role("link", name="Supprimer l'adresse Maison").click()
    expect(page.get_by_text("Voulez-vous vraiment supprimer cette adresse ?")).to_be_visible()
    axe(page)
    page.get_by_role("button", name="Supprimer l'adresse").click()
    expect(page.get_by_role("status")).to_have_text("L'adresse « Maison » est supprimée.")
    expect(page.get_by_text("Vous n'avez encore enregistré aucune adresse.")).to_be_visible()


def test_trips_sent_to_the_transporter_keep_the_old_address(page, live_server, app, auth, axe):
    sophie = log_in_as_sophie(page, live_server, auth)
    home = add_address(app, sophie, "Maison")
    school = add_address(app, sophie, "Collège Victor Hugo", street="5 rue Hugo")
    tomorrow = clock.today() + timedelta(days=1)
    # Tomorrow at 20:00 is always less than 48 h ahead: sent to the transporter.
    add_trip(app, sophie, home, school, datetime.combine(tomorrow, time(20, 0), tzinfo=PARIS))
    later = clock.today() + timedelta(days=6)
    add_trip(app, sophie, home, school, datetime.combine(later, time(8, 0), tzinfo=PARIS))

    page.goto(live_server.url + "/adresses")
    page.get_by_role("link", name="Supprimer l'adresse Maison").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Vous devez supprimer le trajet vers cette destination avant de pouvoir supprimer "
        "l'adresse."
    )
    expect(page.get_by_role("listitem").filter(has_text="20h00")).to_contain_text(
        "Ce trajet a déjà été transmis au transporteur : attendez qu'il soit passé ou "
        "contactez l'assistance au 01 23 45 67 89."
    )
    expect(page.get_by_role("listitem").filter(has_text="8h00")).not_to_contain_text(
        "transmis au transporteur"
    )
    axe(page)

    page.goto(live_server.url + "/adresses")
    page.get_by_role("link", name="Modifier l'adresse Maison").click()
    expect(page.get_by_text("ont déjà été transmis au transporteur")).to_be_visible()
    axe(page)
    page.get_by_label("Adresse", exact=True).fill("20 rue Neuve")
    page.get_by_role("button", name="Enregistrer l'adresse").click()
    expect(page.get_by_role("status").first).to_have_text("L'adresse « Maison » est modifiée.")
    # The trip in six days follows the new street and goes to the assistance again.
    expect(page.get_by_role("status").nth(1)).to_have_text(
        "Le trajet à venir qui utilise cette adresse est envoyé de nouveau à l'assistance, "
        "avec l'adresse modifiée : il repasse à l'état « Demandé »."
    )
    expect(page.get_by_role("status").nth(2)).to_have_text(
        "1 trajet déjà transmis au transporteur garde l'ancienne adresse : pour le modifier, "
        "contactez l'assistance au 01 23 45 67 89."
    )
    expect(page.get_by_role("row").filter(has_text="Maison")).to_contain_text("20 rue Neuve")
    axe(page)

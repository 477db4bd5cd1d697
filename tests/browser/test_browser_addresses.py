"""« Mes adresses » in Chromium: Sophie records the family's addresses; axe-core checks."""

import pytest
from playwright.sync_api import expect

from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

ADDRESSES = [
    ("Maison", "Domicile", "12 rue des Lilas", "Bâtiment B", "75011", "Paris"),
    ("École Jules Ferry", "École primaire", "3 place de la Mairie", "", "75011", "Paris"),
    ("Collège Victor Hugo", "Collège", "5 avenue Victor Hugo", "", "75016", "Paris"),
]


def log_in_as_sophie(page, live_server, auth):
    auth.create_account()
    page.goto(live_server.url + "/connexion")
    page.get_by_label("Adresse e-mail").fill("sophie.martin@example.fr")
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("link", name="Mes adresses").first).to_be_visible()


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

"""The account lifecycle of issue 2 in Chromium: registration to password reset.

Every page visited is checked with axe-core; one test logs in with the keyboard only, one
checks that the public pages work under the real Content-Security-Policy.
"""

import re

import pytest
from playwright.sync_api import expect

from app.auth.rules import OFFER_MESSAGE

pytestmark = pytest.mark.browser

EMAIL = "sophie.martin@example.fr"
FIRST_PASSWORD = "Cartable2026!"
CHANGED_PASSWORD = "Rentree2026Bis"
RESET_PASSWORD = "Vacances2027Ok"


def emailed_link(mailbox, live_server, address: str, path: str) -> str:
    """The link of the last e-mail sent to `address` that leads to `path` on the live server."""
    prefix = live_server.url + path
    links = [link for link in mailbox.links(mailbox.last(address)) if link.startswith(prefix)]
    assert links, f"no link to {prefix} in the last e-mail to {address}"
    return links[0]


def fill_registration(page, member_number, first_name, last_name, email):
    page.get_by_label("Numéro adhérent").fill(member_number)
    page.get_by_label("Prénom").fill(first_name)
    page.get_by_label("Nom", exact=True).fill(last_name)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Téléphone portable").fill("06 12 34 56 78")
    page.get_by_label("Mot de passe", exact=True).fill(FIRST_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()


def log_in(page, password: str, email: str = EMAIL):
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_home_page_offers_login_and_account_creation(page, live_server, axe, demo):
    page.goto(live_server.url + "/")
    expect(page).to_have_title(re.compile("Accueil"))
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name="Connexion")).to_be_visible()
    main = page.get_by_role("main")
    expect(main.get_by_role("link", name="Créer mon compte")).to_be_visible()
    expect(main.get_by_role("link", name="Connexion")).to_be_visible()
    expect(main).to_contain_text("conduit vos enfants")
    axe(page)


def test_sophie_registers_confirms_logs_in_and_manages_her_password(
    page, live_server, mailbox, axe, demo
):
    page.goto(live_server.url + "/")
    axe(page)
    page.get_by_role("main").get_by_role("link", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer mon compte")
    axe(page)

    # The card as typed by a hurried user: lower-case number, padded first name, capitals.
    fill_registration(page, "ab123456", " sophie ", "MARTIN", "Sophie.Martin@Example.fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmez votre adresse e-mail")
    expect(page.get_by_role("main")).to_contain_text(EMAIL)
    axe(page)

    # Before the link is followed the account cannot log in.
    page.get_by_role("banner").get_by_role("link", name="Connexion").click()
    log_in(page, FIRST_PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("inscription pas encore confirmée")
    axe(page)

    page.goto(emailed_link(mailbox, live_server, EMAIL, "/inscription/confirmer/"))
    axe(page)
    page.get_by_role("button", name="Confirmer mon adresse e-mail").click()
    expect(page).to_have_url(live_server.url + "/connexion")
    expect(page.get_by_role("status")).to_contain_text("Votre adresse e-mail est confirmée")
    axe(page)
    log_in(page, FIRST_PASSWORD)

    expect(page).to_have_url(live_server.url + "/mon-espace")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon Espace")
    my_account = page.get_by_role("region", name="Mon compte")
    expect(my_account).to_contain_text("AB123456")
    expect(my_account).to_contain_text(EMAIL)
    expect(my_account).to_contain_text("06 12 34 56 78")
    expect(my_account.get_by_role("link", name="Modifier")).to_be_visible()
    family = page.get_by_role("region", name="Ma famille")
    expect(family).to_contain_text("Maxime")
    expect(family).to_contain_text("Franck")
    expect(page.get_by_role("region", name="Mot de Passe")).to_be_visible()
    axe(page)

    my_account.get_by_role("link", name="Modifier").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifier mon compte")
    expect(page.get_by_label("Adresse e-mail")).to_have_value(EMAIL)
    axe(page)
    page.get_by_role("link", name="Annuler").click()

    page.get_by_role("link", name="Changer mon mot de passe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mot de Passe")
    axe(page)
    page.get_by_label("Mot de passe actuel").fill(FIRST_PASSWORD)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(CHANGED_PASSWORD)
    page.get_by_label("Confirmation du nouveau mot de passe").fill(CHANGED_PASSWORD)
    page.get_by_role("button", name="Changer mon mot de passe").click()
    expect(page).to_have_url(live_server.url + "/mon-espace")
    expect(page.get_by_role("status")).to_contain_text("Votre mot de passe a été modifié")
    assert "mot de passe" in mailbox.text(mailbox.last(EMAIL)).lower()
    axe(page)

    page.get_by_role("button", name="Déconnexion").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté(e).")
    expect(page.get_by_role("banner").get_by_role("link", name="Connexion")).to_be_visible()
    axe(page)

    # The old password no longer opens the account; the new one does (checked after reset).
    page.get_by_role("banner").get_by_role("link", name="Connexion").click()
    log_in(page, FIRST_PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Adresse e-mail ou mot de passe incorrect")

    page.get_by_role("link", name="J'ai oublié mon mot de passe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("J'ai oublié mon mot de passe")
    axe(page)
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre messagerie")
    axe(page)

    page.goto(emailed_link(mailbox, live_server, EMAIL, "/mot-de-passe-oublie/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisissez un nouveau mot de passe")
    axe(page)
    page.get_by_label("Mot de passe", exact=True).fill(RESET_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(RESET_PASSWORD)
    page.get_by_role("button", name="Enregistrer le nouveau mot de passe").click()
    expect(page).to_have_url(live_server.url + "/connexion")
    expect(page.get_by_role("status")).to_contain_text("Votre mot de passe a été modifié")

    log_in(page, CHANGED_PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Adresse e-mail ou mot de passe incorrect")
    log_in(page, RESET_PASSWORD)
    expect(page).to_have_url(live_server.url + "/mon-espace")
    expect(page.get_by_role("main")).to_contain_text("Bonjour Sophie MARTIN")
    axe(page)


def test_registration_errors_are_shown_next_to_their_fields(page, live_server, axe, demo):
    page.goto(live_server.url + "/inscription")
    page.get_by_role("button", name="Créer mon compte").click()
    member_number = page.get_by_label("Numéro adhérent")
    expect(member_number).to_have_attribute("aria-invalid", "true")
    error_id = "member_number-erreur"
    expect(member_number).to_have_attribute("aria-describedby", re.compile(error_id))
    expect(page.locator(f"#{error_id}")).to_have_text("Ce champ est obligatoire.")
    axe(page)


def test_helene_with_an_ended_offer_is_refused(page, live_server, axe, auth, demo, mailbox):
    page.goto(live_server.url + "/inscription")
    fill_registration(page, "EF345678", "Hélène", "LEROY", "helene.leroy@example.fr")
    expect(page.get_by_role("alert")).to_have_text(OFFER_MESSAGE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer mon compte")
    assert mailbox.to("helene.leroy@example.fr") == []
    axe(page)

    # An account created before her offer ended is refused at login with the same message.
    auth.create_account("EF345678", "Hélène", email="helene.leroy@example.fr")
    page.goto(live_server.url + "/connexion")
    log_in(page, FIRST_PASSWORD, email="helene.leroy@example.fr")
    expect(page.get_by_role("alert")).to_contain_text(OFFER_MESSAGE)
    expect(page).to_have_url(live_server.url + "/connexion")
    axe(page)


def tab_to(page, target, limit: int = 40) -> None:
    """Press Tab until `target` (a locator) has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("(element) => element === document.activeElement"):
            return
    pytest.fail(f"{target} cannot be reached with the Tab key on {page.url}")


def test_login_with_the_keyboard_only(page, live_server, auth, axe):
    auth.create_account()
    page.goto(live_server.url + "/")

    login_link = page.get_by_role("banner").get_by_role("link", name="Connexion")
    tab_to(page, login_link)
    outline = login_link.evaluate("(element) => getComputedStyle(element).outlineStyle")
    assert outline != "none", "the focused link must show where the focus is"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")

    tab_to(page, page.get_by_label("Adresse e-mail"))
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mot de passe", exact=True)).to_be_focused()
    page.keyboard.type(FIRST_PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(live_server.url + "/mon-espace")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon Espace")
    axe(page)


@pytest.mark.parametrize(
    ("path", "submit"),
    [("/", None), ("/connexion", "Se connecter"), ("/inscription", "Créer mon compte")],
)
def test_public_pages_work_under_the_real_content_security_policy(
    strict_page, live_server, demo, path, submit
):
    response = strict_page.goto(live_server.url + path)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # The style sheet applies: the header has its colour, so no style was blocked.
    header_colour = strict_page.evaluate(
        "() => getComputedStyle(document.querySelector('.site-header')).backgroundColor"
    )
    assert header_colour == "rgb(31, 78, 140)"
    if submit:
        # A form sent empty comes back with its errors, and still no console error.
        strict_page.get_by_role("button", name=submit).click()
        expect(strict_page.locator(".error").first).to_have_text("Ce champ est obligatoire.")


@pytest.mark.parametrize("width", [360, 768, 1280, 1920])
def test_pages_fit_the_screen_from_360_to_1920_pixels_wide(page, live_server, auth, width):
    auth.create_account()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(live_server.url + "/connexion")
    log_in(page, FIRST_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon Espace")
    for path in ["/mon-espace", "/mon-espace/modifier"]:
        page.goto(live_server.url + path)
        assert_no_horizontal_scroll(page)
    if width < 768:  # below 48rem the signed-in navigation is folded behind « Menu »
        page.get_by_role("banner").locator("summary", has_text="Menu").click()
    page.get_by_role("button", name="Déconnexion").click()
    for path in ["/", "/inscription", "/connexion"]:
        page.goto(live_server.url + path)
        assert_no_horizontal_scroll(page)


def assert_no_horizontal_scroll(page) -> None:
    scroll_width, client_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width, f"{page.url} scrolls sideways: {scroll_width} px"


def test_axe_fixture_reports_serious_violations(page, live_server, axe):
    page.goto(live_server.url + "/")
    page.set_content('<html><body><img src="/static/favicon.svg"><input></body></html>')
    with pytest.raises(AssertionError) as failure:
        axe(page)
    report = str(failure.value)
    for rule in ("html-has-lang", "image-alt", "label"):
        assert rule in report

"""The FAQ in Chromium: themes and answers as disclosures, permalinks, search, information
pages; axe-core on each page, and the FAQ script under the real Content-Security-Policy."""

import re

import pytest
from playwright.sync_api import expect

from app.faq import content

pytestmark = pytest.mark.browser

DELETE_ADDRESS = "Pourquoi ne puis-je pas supprimer une adresse ?"
DELETE_ADDRESS_ANSWER = "vous devez supprimer le trajet vers cette destination"
QUESTION_COUNT = sum(len(theme.questions) for theme in content.read())


@pytest.fixture
def faq(app):
    """The repository's FAQ, loaded into the database the live server reads."""
    with app.app_context():
        content.load(content.read())


def test_every_question_shows_under_its_theme_and_opens_with_the_keyboard(
    page, live_server, axe, faq
):
    page.goto(live_server.url + "/")
    page.get_by_role("contentinfo").get_by_role("link", name="Questions fréquentes").click()
    expect(page).to_have_url(live_server.url + "/faq")
    expect(page).to_have_title(re.compile("^Questions fréquentes"))
    axe(page)

    # Each theme is a real heading; its questions show at once, with no click.
    group = page.locator("#theme-adresses")
    expect(group.get_by_role("heading", level=2)).to_have_text("Adresses")
    expect(
        page.locator("summary h1, summary h2, summary h3, summary [role=heading]")
    ).to_have_count(0)
    questions = page.locator("details.faq-question > summary")
    expect(questions).to_have_count(QUESTION_COUNT)
    for index in range(QUESTION_COUNT):
        expect(questions.nth(index)).to_be_visible()
    question = group.locator("summary", has_text=DELETE_ADDRESS)
    answer = group.get_by_text(DELETE_ADDRESS_ANSWER)
    expect(answer).to_be_hidden()

    # The keyboard goes from question to question and opens one.
    group.locator("summary").first.focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if question.evaluate("node => node === document.activeElement"):
            break
    expect(question).to_be_focused()
    page.keyboard.press("Enter")
    expect(answer).to_be_visible()
    page.keyboard.press("Enter")
    expect(answer).to_be_hidden()
    page.keyboard.press("Space")
    expect(answer).to_be_visible()
    axe(page)


def test_tout_afficher_then_tout_masquer_with_javascript(page, live_server, axe, faq):
    page.goto(live_server.url + "/faq")
    answers = page.locator("details.faq-question .faq-answer")
    expect(answers).to_have_count(QUESTION_COUNT)
    show_all = page.get_by_role("button", name="Tout afficher")
    expect(show_all).to_be_visible()
    expect(page.get_by_role("link", name="Tout afficher")).to_have_count(0)
    show_all.click()
    for index in range(QUESTION_COUNT):
        expect(answers.nth(index)).to_be_visible()
    expect(page).to_have_url(live_server.url + "/faq")
    hide_all = page.get_by_role("button", name="Tout masquer")
    expect(hide_all).to_be_focused()
    axe(page)

    # Closing one answer by hand: the button offers to show everything again.
    page.locator("summary", has_text=DELETE_ADDRESS).click()
    expect(page.get_by_text(DELETE_ADDRESS_ANSWER)).to_be_hidden()
    expect(page.get_by_role("button", name="Tout afficher")).to_be_visible()
    page.get_by_role("button", name="Tout afficher").click()
    page.get_by_role("button", name="Tout masquer").click()
    for index in range(QUESTION_COUNT):
        expect(answers.nth(index)).to_be_hidden()
    expect(page.get_by_role("button", name="Tout afficher")).to_be_visible()


def test_tout_afficher_without_javascript_is_a_link_to_every_answer(
    browser, browser_context_args, live_server, axe, faq
):
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/faq")
        answers = page.locator("details.faq-question .faq-answer")
        expect(answers.first).to_be_hidden()
        page.get_by_role("link", name="Tout afficher").click()
        expect(page).to_have_url(live_server.url + "/faq?tout=1")
        expect(answers).to_have_count(QUESTION_COUNT)
        for index in range(QUESTION_COUNT):
            expect(answers.nth(index)).to_be_visible()
        # One answer still closes on its own, without JavaScript.
        page.locator("summary", has_text=DELETE_ADDRESS).click()
        expect(page.get_by_text(DELETE_ADDRESS_ANSWER)).to_be_hidden()
        page.get_by_role("link", name="Tout masquer").click()
        expect(page).to_have_url(live_server.url + "/faq")
        expect(answers.first).to_be_hidden()
    finally:
        context.close()


def test_follow_a_permalink_and_open_it_in_a_new_tab(page, live_server, axe, faq):
    page.goto(live_server.url + "/faq")
    group = page.locator("#theme-adresses")
    group.locator("summary", has_text=DELETE_ADDRESS).click()
    group.get_by_role("link", name=f"Lien vers cette réponse : {DELETE_ADDRESS}").click()

    address = live_server.url + "/faq/supprimer-une-adresse"
    expect(page).to_have_url(address)
    expect(page).to_have_title(f"{DELETE_ADDRESS} – Questions fréquentes · Cartable")
    expect(page.get_by_role("heading", level=1)).to_have_text(DELETE_ADDRESS)
    expect(page.get_by_role("main")).to_contain_text(DELETE_ADDRESS_ANSWER)
    shared = page.get_by_label("Adresse de cette réponse")
    expect(shared).to_have_value(address)
    axe(page)

    # What a support agent sends: the address, opened straight on that answer.
    other_tab = page.context.new_page()
    other_tab.goto(shared.input_value())
    expect(other_tab.get_by_role("heading", level=1)).to_have_text(DELETE_ADDRESS)
    expect(other_tab.get_by_role("main")).to_contain_text(DELETE_ADDRESS_ANSWER)
    other_tab.close()

    page.get_by_role("navigation", name="Fil d'Ariane").get_by_role("link", name="Adresses").click()
    expect(page).to_have_url(live_server.url + "/faq#theme-adresses")
    expect(page.get_by_role("heading", level=2, name="Adresses")).to_be_in_viewport()
    expect(
        page.locator("#theme-adresses").locator("summary", has_text=DELETE_ADDRESS)
    ).to_be_visible()


def test_search_ranks_and_highlights_then_says_when_nothing_matches(page, live_server, axe, faq):
    page.goto(live_server.url + "/faq")
    search = page.get_by_role("searchbox", name="Rechercher dans les questions fréquentes")
    search.fill("SUPPRIMER ADRESSE")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/faq\?q=SUPPRIMER\+ADRESSE$"))
    results = page.locator(".faq-result-list > li")
    expect(results.first.get_by_role("heading", level=3)).to_have_text(DELETE_ADDRESS)
    expect(results.first.locator("mark").first).to_have_text("supprimer")
    expect(page.get_by_role("searchbox")).to_have_value("SUPPRIMER ADRESSE")
    axe(page)

    results.first.get_by_role("link", name=DELETE_ADDRESS).click()
    expect(page).to_have_url(live_server.url + "/faq/supprimer-une-adresse")

    page.goto(live_server.url + "/faq")
    page.get_by_role("searchbox").fill("examen")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator(".faq-result-list > li").first).to_contain_text("Transport aux examens")

    page.get_by_role("searchbox").fill("<script>parapluie</script>")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("heading", name="Aucun résultat")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("« <script>parapluie</script> »")
    expect(page.get_by_role("main")).to_contain_text("Contactez l'assistance")
    axe(page)


@pytest.mark.parametrize(
    ("link", "heading"),
    [
        ("Données de santé", "Données de santé et hébergement certifié"),
        ("Navigateurs recommandés", "Navigateurs recommandés"),
        ("Cookies", "Cookies"),
        ("Ce que couvre la plateforme", "Ce que couvre la plateforme"),
    ],
)
def test_information_pages_from_the_footer(page, live_server, axe, faq, link, heading):
    page.goto(live_server.url + "/")
    page.get_by_role("contentinfo").get_by_role("link", name=link, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    external = page.locator("main a[target=_blank]")
    for index in range(external.count()):
        expect(external.nth(index)).to_have_attribute("rel", "noopener")
    axe(page)


def test_faq_script_opens_the_linked_question_under_the_real_csp(strict_page, live_server, faq):
    strict_page.goto(live_server.url + "/faq#trajet-examen")
    question = strict_page.locator("#trajet-examen")
    expect(question).to_have_attribute("open", "")
    expect(question).to_contain_text("Transport aux examens scolaires")
    strict_page.get_by_role("button", name="Tout afficher").click()
    expect(strict_page.locator("details.faq-question:not([open])")).to_have_count(0)
    expect(strict_page.get_by_role("button", name="Tout masquer")).to_be_visible()


def test_printing_leaves_out_search_and_navigation_and_prints_every_answer(page, live_server, faq):
    page.goto(live_server.url + "/faq/supprimer-une-adresse")
    page.emulate_media(media="print")
    expect(page.get_by_role("banner")).to_be_hidden()
    expect(page.get_by_label("Adresse de cette réponse")).to_be_hidden()
    expect(page.get_by_role("main")).to_contain_text(DELETE_ADDRESS_ANSWER)
    page.goto(live_server.url + "/faq")
    expect(page.get_by_role("searchbox")).to_be_hidden()
    expect(page.get_by_text("Tout afficher")).to_be_hidden()
    expect(page.get_by_role("heading", level=2, name="Adresses")).to_be_visible()
    # Every answer, none of them opened: the print style shows them all.
    expect(page.locator("details[open]")).to_have_count(0)
    answers = page.locator("details.faq-question .faq-answer")
    expect(answers).to_have_count(QUESTION_COUNT)
    for index in range(QUESTION_COUNT):
        expect(answers.nth(index)).to_be_visible()
    page.emulate_media(media="screen")
    expect(answers.first).to_be_hidden()

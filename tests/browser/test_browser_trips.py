"""« Mes trajets » in Chromium: Sophie's journey, a keyboard-only booking, axe-core checks.

The clock is not frozen here (the browser's cookies follow the real time): the demo's
guarantees run from today − 2 to today + 28 and the booked day is the first one that the
rules open, at least three days ahead.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app import clock
from app.models import GuaranteeKind
from app.trips import rules
from app.trips.french import long_day, month_name
from tests.test_trips import SOPHIE, add_addresses

pytestmark = pytest.mark.browser

PASSWORD = "Cartable2026!"


def first_open_day():
    """The first day, three days ahead or more, that the calendar lets Sophie choose."""
    today = clock.today()
    covers = [rules.Cover(GuaranteeKind.SCHOOL, today - timedelta(days=2), today + timedelta(28))]
    now = clock.now()
    for offset in range(3, 29):
        day = today + timedelta(days=offset)
        if rules.day_status(day, now, covers).selectable:
            return day
    pytest.fail("no selectable day in the demo guarantee period")


def log_in(page, live_server):
    page.goto(live_server.url + "/connexion")
    page.get_by_label("Adresse e-mail").fill(SOPHIE)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon Espace")


def open_month(page, year: int, month: int):
    """Click the month's name, then the month in the list that opens."""
    picker = page.locator("details.month-picker")
    picker.locator("summary").click()
    picker.get_by_role("link", name=month_name(year, month), exact=True).click()
    expect(page.locator("table.calendar caption")).to_contain_text(month_name(year, month).lower())


def add_trip(page, child: str, hour: str, origin: str, destination: str, purpose: str):
    page.get_by_label("Enfant").select_option(label=child)
    page.get_by_label("Heure").fill(hour)
    page.get_by_label("Départ").select_option(label=origin)
    page.get_by_label("Destination").select_option(label=destination)
    page.get_by_label("Motif").select_option(label=purpose)
    page.get_by_role("button", name="Ajouter le trajet").click()


@pytest.fixture
def sophie(app, auth):
    auth.create_account()
    return add_addresses(app)


def test_sophie_books_and_cancels_trips(page, live_server, axe, sophie):
    day = first_open_day()
    today = clock.today()
    log_in(page, live_server)

    page.get_by_role("banner").get_by_role("link", name="Mes trajets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes trajets")
    calendar = page.locator("table.calendar")
    expect(calendar.locator("caption")).to_contain_text(month_name(today.year, today.month).lower())
    # Today is marked and cannot be chosen; its short reason is written in the cell, the full
    # one is its description for screen readers and the cell's title on hover.
    today_cell = calendar.locator('[aria-current="date"]')
    expect(today_cell).to_have_attribute("aria-disabled", "true")
    expect(today_cell).to_have_accessible_description(rules.DELAY_MESSAGE)
    expect(calendar.locator("td.day-today .day-reason")).to_have_text("Délai de 48 h")
    expect(calendar.locator("td.day-today .day-reason")).to_be_visible()
    expect(page.locator(f"#raison-{today.isoformat()}")).to_have_text(rules.DELAY_MESSAGE)
    expect(page.locator(f"#raison-{today.isoformat()}")).to_have_class("visually-hidden")
    expect(calendar.locator("td.day-today")).to_have_attribute("title", rules.DELAY_MESSAGE)
    axe(page)

    # The month's name opens the list of months; jump to next month.
    next_year, next_month = rules.add_months(today.year, today.month, 1)
    months = page.locator("details.month-picker .month-list")
    expect(months).to_be_hidden()
    page.locator("details.month-picker summary").click()
    expect(months).to_be_visible()
    axe(page)
    months.get_by_role("link", name=month_name(next_year, next_month), exact=True).click()
    expect(calendar.locator("caption")).to_contain_text(month_name(next_year, next_month).lower())
    if (day.year, day.month) != (next_year, next_month):
        open_month(page, day.year, day.month)

    calendar.locator(f'a[href="/trajets/{day.isoformat()}"]').click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Trajets du {long_day(day)}")
    axe(page)

    add_trip(page, "Maxime", "08:30", "Maison (Domicile)", "Collège Victor Hugo (Collège)", "École")
    expect(page.get_by_role("status")).to_contain_text("Trajet ajouté : Maxime")
    add_trip(
        page, "Franck", "09:30", "Maison (Domicile)", "École Jules Ferry (École primaire)", "École"
    )
    expect(page.get_by_role("status")).to_contain_text("Trajet ajouté : Franck")
    add_trip(
        page, "Maxime", "14:00", "Maison (Domicile)", "Collège Victor Hugo (Collège)", "Examen"
    )
    expect(page.get_by_role("status")).to_contain_text("Trajet ajouté : Maxime")
    rows = page.locator("table.trips tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("Examen")
    axe(page)

    # A mistake is explained next to the field.
    add_trip(page, "Franck", "09:30", "Maison (Domicile)", "Maison (Domicile)", "École")
    expect(page.locator("#to_address-erreur")).to_have_text(
        "La destination doit être différente du départ."
    )
    expect(page.get_by_label("Destination")).to_have_attribute("aria-invalid", "true")
    axe(page)

    page.get_by_role("link", name="Liste de mes trajets").click()
    upcoming = page.locator("table.trips").first
    expect(upcoming.locator("tbody tr")).to_have_count(3)
    axe(page)
    franck_row = upcoming.locator("tbody tr", has_text="Franck")
    franck_row.get_by_role("link", name=re.compile("^Annuler")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Annuler le trajet")
    axe(page)
    page.get_by_role("button", name="Confirmer l'annulation").click()
    expect(page.get_by_role("status")).to_contain_text("Trajet annulé : Franck")
    expect(page.locator("table.trips").first.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("heading", name="Annulés")).to_be_visible()


def tab_to(page, target, limit: int = 120) -> None:
    """Press Tab until `target` (a locator) has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("(element) => element === document.activeElement"):
            return
    pytest.fail(f"{target} cannot be reached with the Tab key on {page.url}")


def test_booking_a_trip_with_the_keyboard_only(page, live_server, axe, sophie):
    day = first_open_day()
    log_in(page, live_server)
    page.goto(f"{live_server.url}/trajets?mois={day.year:04d}-{day.month:02d}")

    day_link = page.locator(f'a[href="/trajets/{day.isoformat()}"]')
    tab_to(page, day_link)
    outline = day_link.evaluate("(element) => getComputedStyle(element).outlineStyle")
    assert outline != "none", "the focused day must show where the focus is"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Trajets du {long_day(day)}")

    tab_to(page, page.get_by_label("Enfant"))
    page.keyboard.type("Franck")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Heure")).to_be_focused()
    # The browser's time control: hours, then minutes. A Chromium with only its en-US locale
    # (as Debian's without chromium-l10n) adds an AM/PM part, answered with "A".
    page.keyboard.type("1000")
    if page.get_by_label("Heure").input_value() == "":
        page.keyboard.type("A")
    expect(page.get_by_label("Heure")).to_have_value("10:00")
    tab_to(page, page.get_by_label("Départ"), limit=3)  # past the control's own parts
    page.keyboard.type("Maison")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Destination")).to_be_focused()
    page.keyboard.type("Coll")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Motif")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Motif")).to_have_value("ecole")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Ajouter le trajet")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text(
        f"Trajet ajouté : Franck, {long_day(day)} à 10h00"
    )
    row = page.locator("table.trips tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Collège Victor Hugo")
    axe(page)


@pytest.fixture
def faq(app):
    """The repository's FAQ, loaded into the database the live server reads."""
    from app.extensions import db
    from app.faq import content

    with app.app_context():
        content.load(content.read())
        db.session.commit()


def test_calendar_legend_opens_the_faq_answer(page, live_server, axe, sophie, faq):
    log_in(page, live_server)
    page.goto(live_server.url + "/trajets")
    legend = page.locator("section.legend")
    expect(legend.get_by_role("heading")).to_have_text(
        "Pourquoi un jour n'est-il pas sélectionnable ?"
    )
    axe(page)
    legend.get_by_role("link").click()
    expect(page).to_have_url(live_server.url + "/faq/jours-non-selectionnables")
    axe(page)

"""A phone in a hospital bed: every page at 320 CSS pixels (WCAG 2.1, 1.4.10 Reflow).

Every page means every GET route of the application that answers HTML, built from the
URL map with sample values for its arguments (an address, a trip, a request, a document,
a FAQ answer, a day, the demo insurer), logged out and then logged in as Sophie. None may
be wider than the screen: `document.documentElement.scrollWidth` at most 320.
"""

from calendar import monthrange
from datetime import date, time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import url_for
from playwright.sync_api import expect

from app.extensions import db
from app.faq import content
from app.models import Account
from app.trips.french import long_day
from tests.conftest import DEFAULT_PASSWORD
from tests.reimbursement_samples import jpeg_bytes, pdf_bytes
from tests.test_reimbursements import only_request, send_request, upload
from tests.test_trips import SOPHIE, add_addresses, add_trip, bookable_day, child_id

pytestmark = pytest.mark.browser

PHONE = {"width": 320, "height": 640}


@pytest.fixture
def faq(app):
    with app.app_context():
        content.load(content.read())


@pytest.fixture
def samples(app, client, auth, faq) -> dict:
    """Sophie with addresses, a trip, a reimbursement request with documents; the values
    that fill every route's arguments."""
    auth.sophie()
    addresses = add_addresses(app)
    day = bookable_day(5)
    trip_id = add_trip(
        app,
        SOPHIE,
        child_id(app, "Maxime"),
        day,
        time(8, 30),
        addresses["Maison"],
        addresses["Collège Victor Hugo"],
    )
    response = send_request(
        client,
        app,
        [
            upload(pdf_bytes(), "reçu taxi.pdf", "application/pdf"),
            upload(jpeg_bytes(), "photo-reçu.jpg", "image/jpeg"),
        ],
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    request = only_request(app)
    return {
        "address_id": addresses["Maison"],
        "trip_id": trip_id,
        "day_text": day.isoformat(),
        "number": request.number,
        "document_id": request.documents[0].id,
        "member_id": sophie_member_id(app),  # /gestion: its login page for a member
        "slug": "supprimer-une-adresse",
        "token": "jeton-perime",
    }


def sophie_member_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Account.member_id).where(Account.email == SOPHIE))


def log_in(page, live_server) -> None:
    page.goto(live_server.url + "/connexion")
    page.get_by_label("Adresse e-mail").fill(SOPHIE)
    page.get_by_label("Mot de passe", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon Espace")


# Routes that never show a page: files, and nginx's check of an upload (an empty 204).
NOT_PAGES = {"static", "main.upload_check"}


def every_page(app, samples: dict) -> list[str]:
    """The path of every GET route, embedding routes last (they put the visit in the
    insurer's context)."""
    paths, missing = [], []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
                continue
            if rule.arguments - samples.keys():
                missing.append(rule.rule)
                continue
            values = {name: samples[name] for name in rule.arguments}
            if rule.endpoint.startswith("embedding."):
                values["slug"] = "demo"
            paths.append(url_for(rule.endpoint, **values))
    assert not missing, f"no sample value for the arguments of {missing}"
    return sorted(paths, key=lambda path: path.startswith("/e/"))


def overflowing(page) -> list[str]:
    """The first elements that reach past the screen's right edge, to say what to fix."""
    return page.evaluate(
        """(limit) => Array.from(document.querySelectorAll('body *'))
            .filter((node) => node.getBoundingClientRect().right > limit)
            .slice(0, 5)
            .map((node) => `${node.tagName.toLowerCase()}.${node.className}`)""",
        PHONE["width"],
    )


def too_wide(page, base_url: str, paths: list[str]) -> tuple[list[str], list[str]]:
    """(the HTML pages measured, those wider than the screen with their width)."""
    measured, wide = [], []
    for path in paths:
        # A download (.ics, JSON, documents, logo) is not a page: ask first, like a browser.
        head = page.request.get(base_url + path, max_redirects=0)
        if not head.headers.get("content-type", "").startswith("text/html"):
            continue
        page.goto(base_url + path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        measured.append(path)
        if width > PHONE["width"]:
            wide.append(f"{path} ({page.url}): {width} px; {overflowing(page)}")
    return measured, wide


def test_no_page_scrolls_sideways_at_320_px_logged_out(
    browser, browser_context_args, live_server, samples
):
    context = browser.new_context(**browser_context_args, viewport=PHONE)
    try:
        page = context.new_page()
        paths = every_page(live_server.app, samples) + ["/faq?tout=1"]
        measured, wide = too_wide(page, live_server.url, paths)
    finally:
        context.close()
    assert {"/", "/connexion", "/inscription", "/faq", "/faq?tout=1"} <= set(measured)
    assert len(measured) >= 12, measured
    assert not wide, "wider than 320 px:\n" + "\n".join(wide)


def test_no_page_scrolls_sideways_at_320_px_logged_in(
    browser, browser_context_args, live_server, samples
):
    context = browser.new_context(**browser_context_args, viewport=PHONE)
    try:
        page = context.new_page()
        log_in(page, live_server)
        paths = every_page(live_server.app, samples) + ["/faq?tout=1"]
        measured, wide = too_wide(page, live_server.url, paths)
    finally:
        context.close()
    for expected in (
        "/mon-espace",
        "/trajets",
        f"/trajets/{samples['day_text']}",
        "/remboursements",
    ):
        assert expected in measured
    assert len(measured) >= 25, measured
    assert not wide, "wider than 320 px:\n" + "\n".join(wide)


def test_the_pages_nginx_shows_itself_fit_a_phone_and_pass_axe(
    browser, browser_context_args, live_server, axe
):
    """The stand-by page and nginx's refusals (body too large, method not allowed) are
    static files of the application (deploy/nginx/cartable-proxy.conf): checked as every
    page is, at 320 px and with axe-core."""
    folder = Path(live_server.app.static_folder) / "errors"
    paths = [f"/static/errors/{page.name}" for page in sorted(folder.glob("*.html"))]
    assert len(paths) == 3, paths
    context = browser.new_context(**browser_context_args, viewport=PHONE)
    try:
        page = context.new_page()
        measured, wide = too_wide(page, live_server.url, paths)
        for path in paths:
            page.goto(live_server.url + path)
            expect(page.get_by_role("heading", level=1)).to_have_count(1)
            axe(page)
    finally:
        context.close()
    assert measured == paths
    assert not wide, "wider than 320 px:\n" + "\n".join(wide)


def test_mon_espace_shortcuts_are_cards_without_bullets(
    browser, browser_context_args, live_server, axe, samples
):
    context = browser.new_context(**browser_context_args, viewport=PHONE)
    try:
        page = context.new_page()
        log_in(page, live_server)
        shortcuts = page.get_by_role("navigation", name="Mes services").get_by_role("listitem")
        expect(shortcuts).to_have_count(3)
        for index in range(3):
            item = shortcuts.nth(index)
            assert item.evaluate("node => getComputedStyle(node).listStyleType") == "none"
            assert item.evaluate("node => getComputedStyle(node, '::marker').content") in (
                "none",
                "normal",
                "",
            )
            box = item.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        listing = page.get_by_role("navigation", name="Mes services").get_by_role("list")
        assert listing.evaluate("node => getComputedStyle(node).paddingLeft") == "0px"
        axe(page)
        # The folded header navigation, opened (axe-core needs JavaScript, so here).
        page.get_by_role("banner").locator("summary", has_text="Menu").click()
        expect(page.get_by_role("banner").get_by_role("link", name="Mes trajets")).to_be_visible()
        axe(page)
    finally:
        context.close()


def test_calendar_is_a_list_of_days_on_a_phone_and_a_grid_on_a_wide_screen(
    browser, browser_context_args, live_server, axe, samples
):
    context = browser.new_context(**browser_context_args, viewport=PHONE)
    try:
        page = context.new_page()
        log_in(page, live_server)
        day = date.fromisoformat(samples["day_text"])
        page.goto(f"{live_server.url}/trajets?mois={day:%Y-%m}")
        calendar = page.locator("table.calendar")
        wrapper = page.locator(".table-wrap").filter(has=calendar)
        # Nothing to scroll, not even inside the calendar's own box.
        assert wrapper.evaluate("node => node.scrollWidth <= node.clientWidth")
        expect(calendar.locator("thead")).to_be_hidden()
        days = calendar.locator("td.day")
        expect(days).to_have_count(monthrange(day.year, day.month)[1])
        # One day a line, each with its full name and its state.
        tops = [days.nth(i).bounding_box()["y"] for i in range(days.count())]
        assert tops == sorted(tops) and len(set(tops)) == len(tops)
        booked = calendar.locator(f'a[href="/trajets/{day.isoformat()}"]')
        expect(booked).to_be_visible()
        expect(booked).to_have_text(long_day(day), use_inner_text=True)
        expect(booked.locator("xpath=..")).to_contain_text("Disponible")
        expect(booked.locator("xpath=..")).to_contain_text("1 trajet")
        sunday = calendar.locator("td.day-sunday").first
        expect(sunday.locator(".day-name")).to_be_visible()
        expect(sunday.locator(".day-reason")).to_have_text("Dimanche")
        expect(sunday.locator(".day-reason")).to_be_visible()
        axe(page)
        booked.click()
        expect(page).to_have_url(f"{live_server.url}/trajets/{day.isoformat()}")

        # A wide screen keeps the month's table: weekday columns, day numbers.
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{live_server.url}/trajets?mois={day:%Y-%m}")
        expect(calendar.locator("thead")).to_be_visible()
        expect(calendar.locator("tbody tr").first.locator("td")).to_have_count(7)
        expect(booked.locator(".day-number")).to_have_text(str(day.day))
        expect(booked.locator(".day-number")).to_be_visible()
        expect(booked.locator(".day-name")).to_have_css("width", "1px")
        expect(calendar.locator(".day-state").first).to_be_hidden()
        axe(page)
    finally:
        context.close()


def test_header_navigation_folds_behind_menu_on_a_phone_without_javascript(
    browser, browser_context_args, live_server, samples
):
    context = browser.new_context(**browser_context_args, viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_server)
        header = page.get_by_role("banner")
        menu = header.locator("summary", has_text="Menu")
        trips_link = header.get_by_role("link", name="Mes trajets")
        expect(menu).to_be_visible()
        expect(trips_link).to_be_hidden()
        expect(header.get_by_role("button", name="Déconnexion")).to_be_hidden()
        header_height = header.bounding_box()["height"]

        menu.click()
        for name in ("Mes adresses", "Mes trajets", "Mes remboursements", "Mon Espace"):
            expect(header.get_by_role("link", name=name)).to_be_visible()
        expect(header.get_by_role("button", name="Déconnexion")).to_be_visible()
        assert header.bounding_box()["height"] > header_height
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        trips_link.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mes trajets")
        expect(header.get_by_role("link", name="Mes trajets")).to_be_hidden()

        # A wide screen shows the links at once, without the « Menu » button.
        page.set_viewport_size({"width": 1280, "height": 800})
        expect(menu).to_be_hidden()
        expect(header.get_by_role("link", name="Mes trajets")).to_be_visible()
        expect(header.get_by_role("button", name="Déconnexion")).to_be_visible()
    finally:
        context.close()

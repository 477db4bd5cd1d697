"""The portal inside an insurer's page, in Chromium: two sites, one frame (issue 6).

The insurer's page is served on http://127.0.0.1:<p1> by a small http.server; the portal on
http://localhost:<p2> (the live server, reached by name so that the two are different
sites). Debian's Chromium, launched as tests/browser/conftest.py does, withholds
unpartitioned cookies from a cross-site frame and keeps `Partitioned` ones: the journey
below only passes because the session cookie is partitioned (CHIPS) in the insurer's
context. The insurer's page is the very snippet shown on `/e/demo/integration`.
"""

import html
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.clock import today
from app.embedding.session import EmbeddingSessionInterface
from app.embedding.settings import Changes, update_insurer
from app.extensions import db
from app.faq import content
from app.models import Insurer
from app.trips.french import long_day
from tests.test_trips import bookable_day

pytestmark = pytest.mark.browser

EMAIL = "sophie.martin@example.fr"
PASSWORD = "Cartable2026!"
COLOR = "#7a1f5c"
COLOR_RGB = "rgb(122, 31, 92)"
LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 80 40">'
    b"<title>Mutuelle D\xc3\xa9mo</title>"
    b'<rect width="80" height="40" rx="6" fill="#7a1f5c"/>'
    b'<circle cx="20" cy="20" r="10" fill="#ffffff"/></svg>'
)


@pytest.fixture
def app_config(app_config, live_server_socket) -> dict:
    """The portal is reached as localhost: a site other than the insurer's 127.0.0.1."""
    _, port = live_server_socket.getsockname()
    return {**app_config, "PUBLIC_URL": f"http://localhost:{port}"}


# --- The insurer's web site -----------------------------------------------------------------


@dataclass
class HostPage:
    url: str
    origin: str
    body: list[str]


@contextmanager
def serve_host_page(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
    """An insurer's site on loopback, reached as `host`, over TLS when given a context;
    `body[0]` is the HTML of its page `/`."""
    body = ["<!doctype html><title>Vide</title>"]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path != "/":
                self.send_error(404)
                return
            content = body[0].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"{'https' if tls else 'http'}://{host}:{server.server_address[1]}"
    try:
        yield HostPage(url=origin + "/", origin=origin, body=body)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def host_page() -> Iterator[HostPage]:
    """An insurer's site on http://127.0.0.1:<p1>."""
    with serve_host_page() as page:
        yield page


def brand_demo(live_server, origins: list[str]) -> None:
    """Mutuelle Démo's colour, logo, assistance e-mail and allowed origins."""
    app = live_server.app
    with app.app_context():
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.slug == "demo"))
        changes = Changes(
            color=COLOR, logo=LOGO, email="assistance@mutuelle-demo.fr", add_origins=origins
        )
        update_insurer(db.session, insurer, changes, Path(app.config["UPLOAD_FOLDER"]))


def publish_snippet(page, live_server, host: HostPage) -> None:
    """The insurer's page holds the snippet of the integration page, pasted as it is."""
    page.goto(live_server.url + "/e/demo/integration")
    snippet = html.unescape(page.locator("pre code").inner_html())
    assert 'src="' + live_server.url + '/e/demo"' in snippet
    host.body[0] = (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        "<title>Mutuelle Démo : assistance scolaire</title></head><body>"
        "<header><h1>Mutuelle Démo</h1></header><main>" + snippet + "</main>"
        "<footer><p>Pied de page de la mutuelle</p></footer></body></html>"
    )


def portal_frame(page):
    """The portal's frame on the insurer's page, once its first page is shown."""
    handle = page.wait_for_selector("iframe[data-cartable]")
    frame = handle.content_frame()
    frame.wait_for_load_state()
    return frame


def frame_height(page) -> float:
    return page.locator("iframe[data-cartable]").bounding_box()["height"]


def content_height(frame) -> float:
    return frame.evaluate("() => document.documentElement.getBoundingClientRect().height")


def expect_fitted(page, frame) -> None:
    """The iframe ends up exactly as tall as its content: no inner scroll bar."""
    for _ in range(50):
        if abs(frame_height(page) - content_height(frame)) <= 1:
            break
        page.wait_for_timeout(100)
    assert abs(frame_height(page) - content_height(frame)) <= 1
    assert frame.evaluate(
        "() => document.documentElement.scrollHeight <= window.innerHeight + 1"
    ), "the frame scrolls inside the insurer's page"


# --- The journey ------------------------------------------------------------------------------


def test_sophie_registers_books_and_logs_out_inside_the_insurer_frame(
    page, live_server, host_page, mailbox, axe, demo
):
    brand_demo(live_server, [host_page.origin])
    publish_snippet(page, live_server, host_page)
    page.context.clear_cookies()

    page.goto(host_page.url)
    frame = portal_frame(page)
    expect(frame.get_by_role("banner")).to_contain_text("Mutuelle Démo")
    expect(frame.locator(".brand-logo")).to_be_visible()
    assert (
        frame.locator(".site-header").evaluate("e => getComputedStyle(e).backgroundColor")
        == COLOR_RGB
    )
    expect(frame.get_by_role("contentinfo")).to_contain_text("01 23 45 67 89")
    expect(frame.get_by_role("contentinfo")).to_contain_text("assistance@mutuelle-demo.fr")
    cookie = next(c for c in page.context.cookies() if c["name"] == "cartable_session")
    assert cookie["secure"] and cookie["sameSite"] == "None"
    axe(frame)

    frame.get_by_role("main").get_by_role("link", name="Créer mon compte").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Créer mon compte")
    expect(frame.get_by_label("Votre mutuelle")).to_have_count(0)
    axe(frame)
    frame.get_by_label("Numéro adhérent").fill("AB123456")
    frame.get_by_label("Prénom").fill("Sophie")
    frame.get_by_label("Nom", exact=True).fill("MARTIN")
    frame.get_by_label("Adresse e-mail").fill(EMAIL)
    frame.get_by_label("Téléphone portable").fill("06 12 34 56 78")
    frame.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    frame.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    frame.get_by_role("button", name="Créer mon compte").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Confirmez votre adresse e-mail")
    axe(frame)

    # The e-mail's link opens in a tab of its own, as from a mail client.
    link = next(
        url
        for url in mailbox.links(mailbox.last(EMAIL))
        if url.startswith(live_server.url + "/inscription/confirmer/")
    )
    mail_tab = page.context.new_page()
    mail_tab.goto(link)
    mail_tab.get_by_role("button", name="Confirmer mon adresse e-mail").click()
    expect(mail_tab.get_by_role("status")).to_contain_text("Votre adresse e-mail est confirmée")
    mail_tab.close()

    frame.get_by_role("banner").get_by_role("link", name="Connexion").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connexion")
    axe(frame)
    frame.get_by_label("Adresse e-mail").fill(EMAIL)
    frame.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    frame.get_by_role("button", name="Se connecter").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Mon Espace")
    expect(frame.get_by_role("banner")).to_contain_text("Mutuelle Démo")
    axe(frame)

    for label, kind, street in (
        ("Maison", "Domicile", "12 rue des Lilas"),
        ("École Jules Ferry", "École primaire", "3 place de la Mairie"),
    ):
        frame.get_by_role("banner").get_by_role("link", name="Mes adresses").click()
        frame.get_by_role("link", name="Ajouter une adresse").click()
        frame.get_by_label("Intitulé").fill(label)
        frame.get_by_label("Type").select_option(label=kind)
        frame.get_by_label("Adresse", exact=True).fill(street)
        frame.get_by_label("Code postal").fill("75011")
        frame.get_by_label("Ville").fill("Paris")
        frame.get_by_role("button", name="Enregistrer l'adresse").click()
        expect(frame.get_by_role("status")).to_contain_text(f"L'adresse « {label} »")
    axe(frame)

    day = bookable_day()
    frame.get_by_role("banner").get_by_role("link", name="Mes trajets").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Mes trajets")
    if day.month != today().month:
        frame.locator("a[rel=next]").click()
    day_link = frame.locator(f'a.day-link[href$="/trajets/{day.isoformat()}"]')
    expect(day_link).to_be_visible()
    axe(frame)
    day_link.click()
    expect(frame.get_by_role("heading", level=1)).to_contain_text(long_day(day))
    frame.get_by_label("Enfant").select_option(label="Maxime")
    frame.get_by_label("Heure").fill("08:30")
    frame.get_by_label("Départ").select_option(label="Maison (Domicile)")
    frame.get_by_label("Destination").select_option(label="École Jules Ferry (École primaire)")
    frame.get_by_label("Motif").select_option(label="École")
    frame.get_by_role("button", name="Ajouter le trajet").click()
    expect(frame.get_by_role("status")).to_contain_text("Trajet ajouté")
    expect(frame.get_by_role("main")).to_contain_text("Maxime")
    axe(frame)

    frame.get_by_role("button", name="Déconnexion").click()
    expect(frame.get_by_role("status")).to_contain_text("Vous êtes déconnecté(e).")
    # Logged out, still in the insurer's colours and frame.
    expect(frame.get_by_role("banner")).to_contain_text("Mutuelle Démo")
    expect(frame.get_by_role("banner").get_by_role("link", name="Connexion")).to_be_visible()
    # The insurer's page never left the screen.
    assert page.url == host_page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Mutuelle Démo")


def test_frame_is_refused_on_a_site_the_insurer_did_not_list(page, live_server, host_page, demo):
    brand_demo(live_server, ["https://www.mutuelle-demo.fr"])
    publish_snippet(page, live_server, host_page)
    refusals = []
    page.on("console", lambda message: refusals.append(message.text))

    page.goto(host_page.url)
    handle = page.wait_for_selector("iframe[data-cartable]")
    page.wait_for_load_state("networkidle")
    frame = handle.content_frame()
    assert frame.locator(".site-header").count() == 0
    assert any("frame-ancestors" in text for text in refusals), refusals


def test_frame_height_follows_its_content(page, live_server, host_page, demo):
    brand_demo(live_server, [host_page.origin])
    publish_snippet(page, live_server, host_page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(host_page.url)
    frame = portal_frame(page)
    expect(frame.get_by_role("heading", level=1)).to_contain_text("Vos enfants accompagnés")
    expect_fitted(page, frame)
    home = frame_height(page)

    frame.get_by_role("main").get_by_role("link", name="Créer mon compte").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Créer mon compte")
    expect_fitted(page, frame)
    registration = frame_height(page)
    assert registration > home + 200

    frame.get_by_role("banner").get_by_role("link", name="Connexion").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connexion")
    expect_fitted(page, frame)
    assert frame_height(page) < registration - 200

    # Errors lengthen the page: the frame follows without a reload.
    before = frame_height(page)
    frame.get_by_role("button", name="Se connecter").click()
    expect(frame.locator(".field-error").first).to_be_visible()
    expect_fitted(page, frame)
    assert frame_height(page) > before

    # A message from anyone but the portal (here, the host page itself) is ignored.
    settled = frame_height(page)
    page.evaluate("() => window.postMessage({type: 'cartable:height', height: 4000}, '*')")
    page.wait_for_timeout(300)
    assert frame_height(page) == settled


def test_portal_outside_any_frame_keeps_its_neutral_look(page, live_server, demo):
    brand_demo(live_server, ["https://www.mutuelle-demo.fr"])
    page.goto(live_server.url + "/")
    expect(page.get_by_role("banner").get_by_role("link", name="Cartable")).to_be_visible()
    assert page.locator(".brand-logo").count() == 0
    assert "rgb(31, 78, 140)" == page.locator(".site-header").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    cookie = [c for c in page.context.cookies() if c["name"] == "cartable_session"]
    assert all(c["sameSite"] == "Lax" for c in cookie)


def test_insurer_link_opened_at_top_level_keeps_the_lax_cookie_and_offers_a_way_out(
    page, live_server, demo, axe
):
    """Chromium sends `Sec-Fetch-Dest: document` itself: the insurer's branding, the
    ordinary cookie, and « Quitter l'espace Mutuelle Démo », which ends the context."""
    brand_demo(live_server, ["https://www.mutuelle-demo.fr"])
    page.goto(live_server.url + "/e/demo")
    banner = page.get_by_role("banner")
    expect(banner.get_by_role("link", name="Mutuelle Démo")).to_be_visible()
    assert COLOR_RGB == page.locator(".site-header").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    [cookie] = [c for c in page.context.cookies() if c["name"] == "cartable_session"]
    assert cookie["sameSite"] == "Lax" and not cookie.get("partitionKey")
    page.goto(live_server.url + "/faq")  # that cookie keeps the context from page to page
    expect(banner.get_by_role("link", name="Mutuelle Démo")).to_be_visible()
    axe(page)
    banner.get_by_role("button", name="Quitter l'espace Mutuelle Démo").click()
    expect(banner.get_by_role("link", name="Cartable")).to_be_visible()
    assert page.url == live_server.url + "/"
    assert page.locator(".brand-logo").count() == 0
    page.goto(live_server.url + "/faq")  # the context stays ended on the next pages
    expect(banner.get_by_role("link", name="Cartable")).to_be_visible()


def test_browser_dropping_the_cookie_gets_an_explanation_and_a_new_tab_not_a_loop(
    page, live_server, host_page, demo, axe, monkeypatch
):
    # An unpartitioned cookie stands for a browser that refuses the partitioned one too.
    monkeypatch.setattr(
        EmbeddingSessionInterface, "get_cookie_partitioned", lambda self, app: False
    )
    brand_demo(live_server, [host_page.origin])
    publish_snippet(page, live_server, host_page)
    page.context.clear_cookies()

    page.goto(host_page.url)
    frame = portal_frame(page)
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Votre navigateur bloque les cookies du portail"
    )
    expect(frame.get_by_role("banner")).to_contain_text("Mutuelle Démo")
    axe(frame)
    new_tab_link = frame.get_by_role("link", name="Ouvrir dans un nouvel onglet")
    expect(new_tab_link).to_have_attribute("target", "_blank")
    expect(new_tab_link).to_have_attribute("rel", "noopener")

    with page.context.expect_page() as opened:
        new_tab_link.click()
    tab = opened.value
    tab.wait_for_load_state()
    # At the top level the cookie is first-party: the portal opens, in the insurer's colours.
    expect(tab.get_by_role("heading", level=1)).to_contain_text("Vos enfants accompagnés")
    expect(tab.get_by_role("banner")).to_contain_text("Mutuelle Démo")
    assert page.url == host_page.url


# --- Links leaving the portal -----------------------------------------------------------------

BROWSERS_ANSWER = "/faq/navigateurs-recommandes"
CHROME = "https://www.google.com/chrome"
OUTSIDE_PAGE = "<!doctype html><html lang='fr'><title>Ailleurs</title><p>Hors du portail</p>"


@dataclass
class OutsideWeb:
    """Every request leaving the two local sites, answered here: nothing goes out."""

    requested: list[str]


@pytest.fixture
def outside_web(page) -> OutsideWeb:
    """The context answers any other host with a tiny local page and records its address."""
    requested: list[str] = []

    def leaves_the_machine(url: str) -> bool:
        return urlsplit(url).hostname not in ("127.0.0.1", "localhost")

    def answer_locally(route) -> None:
        requested.append(route.request.url)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=OUTSIDE_PAGE)

    page.context.route(leaves_the_machine, answer_locally)
    return OutsideWeb(requested)


@pytest.fixture
def faq(app):
    """The repository's FAQ, loaded into the database the live server reads."""
    with app.app_context():
        content.load(content.read())


def framed_portal(page, live_server, host: HostPage):
    """The insurer's page showing the portal, as a member with no cookie yet sees it."""
    brand_demo(live_server, [host.origin])
    publish_snippet(page, live_server, host)
    page.context.clear_cookies()
    page.goto(host.url)
    frame = portal_frame(page)
    expect(frame.get_by_role("banner")).to_contain_text("Mutuelle Démo")
    # The frame's script has run (it marks the document), and the frame fits its content.
    expect(frame.locator("html")).to_have_class(re.compile(r"\bin-frame\b"))
    expect_fitted(page, frame)
    return frame


def expect_new_tab(page, frame, link, url: str, outside_web: OutsideWeb):
    """Clicking `link` in the portal's frame opens `url` in a new tab with no access to the
    portal's window. The frame fits its content first: the insurer's page resizes it after
    each change, and a page that shrinks under a click (its scroll clamped) moves the link
    away from where the click lands."""
    expect_fitted(page, frame)
    with page.context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == url
    expect(tab.get_by_text("Hors du portail")).to_be_visible()
    assert tab.evaluate("() => window.opener === null"), "the new tab can reach the portal"
    assert outside_web.requested == [url]
    tab.close()


def test_faq_external_link_opens_a_new_tab_never_the_frame_or_the_insurer_page(
    page, live_server, host_page, demo, faq, outside_web
):
    frame = framed_portal(page, live_server, host_page)
    answer_url = live_server.url + BROWSERS_ANSWER
    frame.goto(answer_url)
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Quels navigateurs internet utiliser ?"
    )
    expect(frame.get_by_role("banner")).to_contain_text("Mutuelle Démo")
    pages_before = len(page.context.pages)

    expect_new_tab(page, frame, frame.get_by_role("link", name=CHROME), CHROME, outside_web)

    # The insurer's page and the portal's frame stayed where they were.
    assert len(page.context.pages) == pages_before
    assert page.url == host_page.url
    assert page.main_frame.url == host_page.url
    assert frame.url == answer_url
    expect(frame.get_by_role("heading", level=1)).to_have_text(
        "Quels navigateurs internet utiliser ?"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Mutuelle Démo")


def test_outside_link_added_after_load_opens_a_new_tab_and_inside_links_stay_in_the_frame(
    page, live_server, host_page, demo, outside_web
):
    frame = framed_portal(page, live_server, host_page)
    home_url = frame.url
    # A link to the insurer's own site, written without any target and added after load:
    # the frame's script alone decides where it opens.
    insurer_site = "https://www.mutuelle-demo.fr/contact"
    frame.evaluate(
        """(href) => {
            const link = document.createElement("a");
            link.href = href;
            link.rel = "external";
            link.textContent = "Site de la mutuelle";
            document.querySelector("main").append(link);
        }""",
        insurer_site,
    )
    link = frame.get_by_role("link", name="Site de la mutuelle")
    expect(link).not_to_have_attribute("target", "_blank")

    expect_new_tab(page, frame, link, insurer_site, outside_web)
    assert frame.url == home_url
    assert page.url == host_page.url
    assert set(link.get_attribute("rel").split()) == {"external", "noopener"}

    # A link to the portal itself goes on opening inside the frame.
    frame.get_by_role("banner").get_by_role("link", name="Connexion").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connexion")
    assert frame.url == live_server.url + "/connexion"
    assert len(page.context.pages) == 1
    assert page.url == host_page.url

"""Insurers embed the portal (issue 6) over HTTP: context, framing, cookies, members, branding.

The demo insurer « Mutuelle Démo » allows https://www.mutuelle-demo.fr to frame it; a second
insurer « Mutuelle Voisine » (https://www.voisine.fr) has its own member, Paul Bernard.
"""

import re
import struct
import zlib
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.auth.passwords import hash_password
from app.auth.services import MATCH_FAILED
from app.clock import today, utcnow
from app.embedding import rules
from app.embedding.settings import Changes, update_insurer
from app.extensions import db
from app.models import Account, Insurer, InsurerOrigin, Member, Offer, Quality
from app.roster.insurers import InsurerError, create_insurer
from app.text import fold_name
from tests.conftest import DEFAULT_PASSWORD, csrf_token, submit

DEMO_ORIGIN = "https://www.mutuelle-demo.fr"
OTHER_ORIGIN = "https://www.voisine.fr"
PAUL = "paul.bernard@example.fr"
OTHER_INSURER_MESSAGE = (
    "Ce portail est réservé aux adhérents de Mutuelle Démo. Connectez-vous depuis le site de "
    "votre mutuelle."
)


def png(size: int = 0) -> bytes:
    """A valid 1×1 PNG, padded with a private chunk to about `size` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x1f\x4e\x8c"))
    padding = chunk(b"prVt", b"\x00" * max(0, size - 80)) if size else b""
    return b"\x89PNG\r\n\x1a\n" + body + padding + chunk(b"IEND", b"")


def svg(inner: str, attributes: str = "") -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="0 0 10 10"{attributes}>{inner}</svg>'
    ).encode()


@pytest.fixture
def insurers(app, demo):
    """Demo allows DEMO_ORIGIN; « Mutuelle Voisine » exists with Paul Bernard on its roster."""
    with app.app_context():
        db.session.add(InsurerOrigin(insurer_id=demo, origin=DEMO_ORIGIN))
        db.session.commit()
        other = create_insurer(db.session, "voisine", "Mutuelle Voisine", origins=[OTHER_ORIGIN])
        paul = Member(
            insurer_id=other.id,
            member_number="ZZ999999",
            quality=Quality.ADHERENT,
            first_name="Paul",
            last_name="BERNARD",
            first_name_key=fold_name("Paul"),
            last_name_key=fold_name("BERNARD"),
            birth_date=date(1980, 5, 4),
            offers=[
                Offer(starts_on=today() - timedelta(days=10), ends_on=today() + timedelta(days=300))
            ],
        )
        db.session.add(paul)
        db.session.commit()
        return {"demo": demo, "voisine": other.id}


def paul_account(app) -> None:
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.member_number == "ZZ999999"))
        db.session.add(
            Account(
                member_id=member.id,
                email=PAUL,
                phone="06 98 76 54 32",
                password_hash=hash_password(DEFAULT_PASSWORD),
                confirmed_at=utcnow(),
            )
        )
        db.session.commit()


IN_A_FRAME = {"Sec-Fetch-Dest": "iframe"}


def enter(client, slug: str = "demo"):
    """Follow the insurer's link as a browser does inside its frame (entry, cookie check)."""
    response = client.get(f"/e/{slug}", headers=IN_A_FRAME)
    assert response.status_code == 302
    assert response.location == f"/e/{slug}/verification"
    return client.get(response.location)


def frame_ancestors(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(part for part in policy.split("; ") if part.startswith("frame-ancestors"))


def session_cookies(response) -> list[str]:
    return [
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith("cartable_session=")
    ]


def attributes(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


# --- Entry link and cookie check --------------------------------------------------------------


def test_insurer_link_sets_context_and_lands_on_the_home_page(client, insurers):
    response = enter(client)
    assert response.status_code == 302
    assert response.location == "/"
    page = client.get("/").get_data(as_text=True)
    assert 'class="brand brand-insurer"' in page
    assert "Mutuelle Démo" in page
    assert "01 23 45 67 89" in page


def test_unknown_slug_gives_a_french_404(client, insurers):
    response = client.get("/e/inconnue")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page introuvable" in page
    assert "Ce lien ne correspond à aucune mutuelle" in page
    assert client.get("/e/inconnue/integration").status_code == 404
    assert client.get("/e/inconnue/theme.css").status_code == 404


def test_dropped_cookie_shows_an_explanation_and_a_new_tab_link_never_a_loop(app, insurers):
    browser = app.test_client(use_cookies=False)  # a browser that drops every cookie
    response = browser.get("/e/demo")
    assert response.status_code == 302
    response = browser.get(response.location)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Votre navigateur bloque les cookies du portail" in page
    link = re.search(r'<a class="button" href="/e/demo" target="_blank"\s+rel="noopener">', page)
    assert link, page
    assert "Ouvrir dans un nouvel onglet" in page
    # The explanation is shown inside the insurer's frame: its origins may frame it.
    assert frame_ancestors(response) == f"frame-ancestors 'self' {DEMO_ORIGIN}"


# --- Framing ----------------------------------------------------------------------------------


def test_csp_frame_ancestors_is_self_outside_any_context(client, insurers):
    for url in ("/", "/connexion", "/inscription", "/e/demo/integration"):
        response = client.get(url)
        assert frame_ancestors(response) == "frame-ancestors 'self'", url
        assert "X-Frame-Options" not in response.headers


def test_csp_frame_ancestors_lists_the_origins_of_the_insurer_in_context_only(client, insurers):
    enter(client)
    for url in ("/", "/connexion", "/inscription", "/page-qui-n-existe-pas"):
        response = client.get(url)
        assert frame_ancestors(response) == f"frame-ancestors 'self' {DEMO_ORIGIN}", url
        assert OTHER_ORIGIN not in response.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in response.headers
    # Another insurer's link switches the context: its origins replace the first ones.
    enter(client, "voisine")
    assert frame_ancestors(client.get("/")) == f"frame-ancestors 'self' {OTHER_ORIGIN}"


def test_page_in_context_costs_the_same_queries_whatever_the_number_of_origins(
    app, client, insurers, count_queries
):
    enter(client)
    with count_queries() as few:
        client.get("/connexion")
    with app.app_context():
        for number in range(10):
            db.session.add(
                InsurerOrigin(insurer_id=insurers["demo"], origin=f"https://site{number}.fr")
            )
        db.session.commit()
    with count_queries() as many:
        response = client.get("/connexion")
    assert "https://site9.fr" in frame_ancestors(response)
    assert many.count == few.count


# --- Cookies --------------------------------------------------------------------------------


def test_session_cookie_is_lax_and_unpartitioned_at_top_level(client, insurers):
    response = client.get("/connexion")  # the CSRF token goes into the session
    (cookie,) = session_cookies(response)
    assert "samesite=lax" in attributes(cookie)
    assert "partitioned" not in attributes(cookie)
    assert "samesite=none" not in attributes(cookie)


def test_session_cookie_is_secure_samesite_none_partitioned_in_context(client, insurers):
    response = client.get("/e/demo", headers=IN_A_FRAME)
    *older, cookie = session_cookies(response)
    assert {"secure", "httponly", "samesite=none", "partitioned"} <= attributes(cookie)
    # An unpartitioned cookie of an earlier top-level visit is expired first.
    assert len(older) == 1 and "max-age=0" in attributes(older[0])
    assert "partitioned" not in attributes(older[0])


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Dest": "document"}, {}])
def test_insurer_link_at_top_level_shows_the_branding_and_keeps_the_lax_cookie(
    client, auth, insurers, headers
):
    auth.create_account()
    response = client.get("/e/demo", headers=headers)
    (cookie,) = session_cookies(response)
    assert "samesite=lax" in attributes(cookie)
    assert not {"samesite=none", "partitioned"} & attributes(cookie)
    client.get(response.location, headers=headers)
    page = client.get("/", headers=headers).get_data(as_text=True)
    assert 'class="brand brand-insurer"' in page
    assert "Quitter l'espace Mutuelle Démo" in page
    # Logging in keeps both the context and the ordinary cookie.
    response = auth.login()
    assert response.status_code == 302
    assert "samesite=lax" in attributes(session_cookies(response)[-1])
    assert "partitioned" not in attributes(session_cookies(response)[-1])
    assert 'class="brand brand-insurer"' in client.get("/mon-espace").get_data(as_text=True)


def test_inside_the_frame_there_is_no_way_out_of_the_context(client, insurers):
    enter(client)
    page = client.get("/").get_data(as_text=True)
    assert 'class="brand brand-insurer"' in page
    assert "Quitter l'espace" not in page


def test_quitter_l_espace_ends_the_context_at_top_level(client, insurers):
    client.get("/e/demo", headers={"Sec-Fetch-Dest": "document"})
    assert DEMO_ORIGIN in frame_ancestors(client.get("/"))
    response = submit(client, "/e/demo/quitter", form_url="/")
    assert response.status_code == 302 and response.location == "/"
    home = client.get("/")
    page = home.get_data(as_text=True)
    assert 'class="brand brand-insurer"' not in page
    assert "Quitter l'espace" not in page
    assert frame_ancestors(home) == "frame-ancestors 'self'"


def test_quitter_l_espace_without_csrf_token_keeps_the_context(client, insurers):
    client.get("/e/demo", headers={"Sec-Fetch-Dest": "document"})
    assert client.post("/e/demo/quitter").status_code == 400
    assert 'class="brand brand-insurer"' in client.get("/").get_data(as_text=True)


def test_context_and_partitioned_cookie_survive_login_and_logout(client, auth, insurers):
    auth.create_account()
    enter(client)
    response = auth.login()
    assert response.status_code == 302 and response.location == "/mon-espace"
    assert {"samesite=none", "partitioned"} <= attributes(session_cookies(response)[-1])
    page = client.get("/mon-espace")
    assert 'class="brand brand-insurer"' in page.get_data(as_text=True)
    assert DEMO_ORIGIN in frame_ancestors(page)

    response = auth.logout()
    assert response.status_code == 302
    assert {"samesite=none", "partitioned"} <= attributes(session_cookies(response)[-1])
    home = client.get("/")
    assert DEMO_ORIGIN in frame_ancestors(home)
    assert "Vous êtes déconnecté(e)." in home.get_data(as_text=True)
    # Logged out for real: Mon Espace asks to log in again.
    assert client.get("/mon-espace").status_code == 302


def test_csrf_works_over_https_in_context_with_a_same_origin_referer(app, auth, insurers):
    auth.create_account()
    browser = app.test_client()
    base = "https://portail.test"
    response = browser.get("/e/demo", base_url=base)
    browser.get(response.location, base_url=base)
    token = csrf_token(browser, base + "/connexion")
    data = {"csrf_token": token, "email": "sophie.martin@example.fr", "password": DEFAULT_PASSWORD}
    # Flask-WTF checks the Referer over HTTPS; Referrer-Policy "same-origin" still sends it
    # for the portal's own forms, inside the frame as anywhere.
    refused = browser.post("/connexion", data=data, base_url=base)
    assert refused.status_code == 400
    response = browser.post(
        "/connexion", data=data, base_url=base, headers={"Referer": base + "/connexion"}
    )
    assert response.status_code == 302
    assert response.location == "/mon-espace"


# --- Members of the insurer in context only ---------------------------------------------------


def test_registration_in_context_hides_the_insurer_select(client, insurers):
    page = client.get("/inscription").get_data(as_text=True)
    assert "Votre mutuelle" in page  # two insurers: the select is shown at top level
    enter(client)
    page = client.get("/inscription").get_data(as_text=True)
    assert "Votre mutuelle" not in page
    assert f'name="insurer" value="{insurers["demo"]}"' in page


REGISTRATION = {
    "email": "paul.bernard@example.fr",
    "phone": "06 98 76 54 32",
    "password": "Rentree2026",
    "password_confirm": "Rentree2026",
}


def test_registration_in_context_refuses_a_member_of_another_insurer(app, client, insurers):
    enter(client)
    card = {"member_number": "ZZ999999", "first_name": "Paul", "last_name": "BERNARD"}
    response = submit(client, "/inscription", {**REGISTRATION, **card, "insurer": insurers["demo"]})
    assert response.status_code == 200
    assert MATCH_FAILED in response.get_data(as_text=True).replace("&#39;", "'")
    # Naming the other insurer in a forged form changes nothing.
    response = submit(
        client, "/inscription", {**REGISTRATION, **card, "insurer": insurers["voisine"]}
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Account.id))) == 0


def test_registration_in_context_accepts_its_own_member(app, client, insurers, mailbox):
    enter(client)
    card = {"member_number": "AB123456", "first_name": "Sophie", "last_name": "MARTIN"}
    data = {**REGISTRATION, **card, "email": "sophie.martin@example.fr"}
    response = submit(client, "/inscription", {**data, "insurer": insurers["demo"]})
    assert "Confirmez votre adresse e-mail" in response.get_data(as_text=True)
    assert mailbox.last("sophie.martin@example.fr")


def test_login_in_context_refuses_a_member_of_another_insurer(app, client, insurers):
    paul_account(app)
    enter(client)
    response = submit(client, "/connexion", {"email": PAUL, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert OTHER_INSURER_MESSAGE in page
    assert "Voisine" not in page and "ZZ999999" not in page
    assert client.get("/mon-espace").status_code == 302

    # A wrong password gets the generic message: nothing tells the account exists.
    response = submit(client, "/connexion", {"email": PAUL, "password": "Mauvais2026"})
    assert OTHER_INSURER_MESSAGE not in response.get_data(as_text=True).replace("&#39;", "'")

    # On the portal at top level (another browser), Paul logs in.
    browser = app.test_client()
    response = submit(browser, "/connexion", {"email": PAUL, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302


def test_insurer_link_asks_a_member_of_another_insurer_to_log_out_first(app, client, insurers):
    paul_account(app)
    assert submit(client, "/connexion", {"email": PAUL, "password": DEFAULT_PASSWORD}).status_code
    assert client.get("/mon-espace").status_code == 200
    response = client.get("/e/demo")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Déconnexion" in page and "Mutuelle Démo" in page
    # A link alone logs nobody out (it is a GET), nor does it change the context.
    assert client.get("/mon-espace").status_code == 200
    assert "frame-ancestors 'self'" == frame_ancestors(client.get("/"))
    submit(client, "/deconnexion", form_url="/mon-espace")
    enter(client)
    assert client.get("/mon-espace").status_code == 302


# --- Branding: theme, logo, integration ---------------------------------------------------------


def test_theme_css_sets_the_primary_colour_and_a_darker_hover(app, client, insurers):
    with app.app_context():
        insurer = db.session.get(Insurer, insurers["demo"])
        update_insurer(db.session, insurer, Changes(color="#7A1F5C"), Path("/nonexistent"))
    enter(client)
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/e/demo/theme.css?v=7a1f5c">' in page
    assert 'data-origins="https://www.mutuelle-demo.fr"' in page
    response = client.get("/e/demo/theme.css?v=7a1f5c")
    assert response.mimetype == "text/css"
    assert response.get_data(as_text=True) == (
        ":root { --primary: #7a1f5c; --primary-dark: #62194a; }\n"
    )


def test_logo_is_served_with_nosniff_and_a_sandboxing_csp(app, client, insurers, tmp_path):
    folder = Path(app.config["UPLOAD_FOLDER"])
    with app.app_context():
        insurer = db.session.get(Insurer, insurers["demo"])
        update_insurer(db.session, insurer, Changes(logo=svg("<circle r='4'/>")), folder)
        stored = insurer.logo_stored_name
    assert (folder / stored).is_file()
    enter(client)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<img class="brand-logo" src="/e/demo/logo\?v=\w+" alt="">', page)
    response = client.get("/e/demo/logo")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]

    # A new logo replaces the file; the old one is removed.
    with app.app_context():
        insurer = db.session.get(Insurer, insurers["demo"])
        update_insurer(db.session, insurer, Changes(logo=png()), folder)
        assert insurer.logo_media_type == "image/png"
    assert not (folder / stored).exists()
    assert client.get("/e/demo/logo").mimetype == "image/png"


def test_no_logo_means_404_and_no_image_in_the_header(client, insurers):
    enter(client)
    assert client.get("/e/demo/logo").status_code == 404
    assert "brand-logo" not in client.get("/").get_data(as_text=True)


def test_outside_context_the_look_is_neutral(client, insurers):
    page = client.get("/").get_data(as_text=True)
    assert "brand-insurer" not in page
    assert "embed-frame.js" not in page
    assert "theme.css" not in page


def test_integration_page_shows_the_snippet_to_paste(client, insurers):
    response = client.get("/e/demo/integration")
    assert response.status_code == 200
    code = re.search(r"<pre[^>]*><code>(.*?)</code></pre>", response.get_data(as_text=True), re.S)
    assert code
    assert '&lt;iframe src="http://portail.test/e/demo"' in code.group(1)
    assert '&lt;script src="http://portail.test/static/embed.js" defer&gt;' in code.group(1)
    assert DEMO_ORIGIN in response.get_data(as_text=True)


def test_embed_scripts_post_to_allowed_origins_only_never_star(app):
    frame_script = (Path(app.static_folder) / "js" / "embed-frame.js").read_text()
    host_script = (Path(app.static_folder) / "embed.js").read_text()
    posts = re.findall(r"postMessage\(([^;]*)\);", frame_script)
    assert posts == ['{ type: "cartable:height", height: height }, origin']
    assert "event.origin === portalOrigin(frame)" in host_script
    assert "event.source === frame.contentWindow" in host_script


# Ways a page of the portal could take over the insurer's whole window, or post a form to
# another site (which would then show inside the insurer's frame).
TOP_NAVIGATION = re.compile(
    r"""target\s*=\s*["']?_(?:top|parent)\b"""  # <a>, <form>, <base> aimed at the top
    r"""|["']_(?:top|parent)["']"""  # window.open(url, "_top"), link.target = "_parent"
    r"|\b(?:top|parent)\s*\.\s*(?:document\s*\.\s*)?location\b"  # [window.]top.location…
    r"""|\b(?:form)?action\s*=\s*["']?(?:https?:)?//""",  # a form posting to another origin
    re.IGNORECASE,
)


def top_navigations(text: str) -> list[str]:
    return [match.group() for match in TOP_NAVIGATION.finditer(text)]


@pytest.mark.parametrize(
    "source",
    [
        '<a href="/" target="_top">',
        "<a href=/ target=_parent>",
        '<base target="_top">',
        '<form method="post" action="https://ailleurs.fr/" target="_self">',
        '<button formaction="//ailleurs.fr/envoi">',
        'window.open(url, "_top");',
        "link.target = '_parent';",
        'top.location = "https://ailleurs.fr";',
        "window.top.location.href = url;",
        "parent.location.assign(url);",
        "window.parent . location.replace(url);",
        "top.document.location = url;",
    ],
)
def test_top_navigation_guard_recognises_each_way_out(source):
    assert top_navigations(source)


def test_no_template_or_script_navigates_the_insurer_page(app):
    """Issue 6: links leaving the portal open a new tab; the top window is never navigated."""
    files = [
        path
        for folder in (Path(app.root_path, app.template_folder), Path(app.static_folder))
        for path in sorted(folder.rglob("*"))
        if path.suffix in {".html", ".js", ".txt", ".svg"}
    ]
    names = {path.name for path in files}
    assert {"base.html", "embed-frame.js", "embed.js", "faq.js"} <= names
    found = {
        str(path.relative_to(app.root_path)): hits
        for path in files
        if (hits := top_navigations(path.read_text(encoding="utf-8")))
    }
    assert found == {}
    # The one script allowed to talk to the insurer's page only sends it heights.
    frame_script = (Path(app.static_folder) / "js" / "embed-frame.js").read_text()
    assert "window.parent.postMessage(" in frame_script
    assert re.findall(r"window\.parent\.(\w+)", frame_script) == ["postMessage"]


# --- Rules: colour, origins, logos --------------------------------------------------------------


@pytest.mark.parametrize(
    ("color", "accepted"),
    [
        ("#1f4e8c", True),  # Cartable's own blue
        ("#7A1F5C", True),
        ("#000", True),
        ("1f4e8c", True),
        ("#767676", True),  # 4.54:1, the lightest grey that passes
        ("#777777", False),  # 4.48:1
        ("#ffcc00", False),
        ("#ffffff", False),
        ("#00a651", False),
        ("red", False),
        ("#12345", False),
        ("#1f4e8c;}", False),
    ],
)
def test_colour_must_give_white_text_a_wcag_aa_contrast(color, accepted):
    assert (rules.color_problem(color) is None) is accepted


def test_colour_refusal_says_why_in_french():
    assert rules.color_problem("#ffcc00") == (
        "La couleur « #ffcc00 » est trop claire : un texte blanc sur cette couleur n'aurait "
        "qu'un contraste de 1,51:1, il faut au moins 4,5:1 (WCAG AA). Choisissez une couleur "
        "plus foncée."
    )
    assert rules.contrast_ratio("#ffffff", "#000000") == pytest.approx(21)
    assert rules.color_problem("bleu").startswith("La couleur « bleu » est invalide")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.mutuelle.fr", "https://www.mutuelle.fr"),
        ("HTTPS://WWW.Mutuelle.FR/", "https://www.mutuelle.fr"),
        ("https://www.mutuelle.fr:443", "https://www.mutuelle.fr"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("https://www.mutuelle.fr/adherents", None),
        ("https://www.mutuelle.fr/?a=1", None),
        ("https://*.mutuelle.fr", None),
        ("*", None),
        ("javascript:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("www.mutuelle.fr", None),
        ("//www.mutuelle.fr", None),
        ("ftp://www.mutuelle.fr", None),
        ("https://user@www.mutuelle.fr", None),
        ("https://www.mutuelle.fr 'unsafe-inline'", None),
    ],
)
def test_origin_validation(app, insurers, raw, expected):
    assert rules.normalize_origin(raw) == expected
    with app.app_context():
        insurer = db.session.get(Insurer, insurers["demo"])
        changes = Changes(add_origins=[raw])
        if expected is None:
            with pytest.raises(InsurerError) as refused:
                update_insurer(db.session, insurer, changes, Path("/nonexistent"))
            assert refused.value.messages == [rules.ORIGIN_MESSAGE.format(origin=raw)]
        else:
            update_insurer(db.session, insurer, changes, Path("/nonexistent"))
            assert expected in [origin.origin for origin in insurer.origins]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (svg("<script>alert(1)</script>"), "élément interdit : « script »"),
        (svg("<rect width='1' height='1'/>", ' onload="alert(1)"'), "« onload »"),
        (svg("<rect onclick='x()'/>"), "« onclick »"),
        (svg("<foreignObject><p>x</p></foreignObject>"), "« foreignObject »"),
        (svg("<use xlink:href='https://evil.example/x.svg#a'/>"), "ressource externe"),
        (svg("<use href='data:image/svg+xml,xx'/>"), "ressource externe"),
        (svg("<rect fill='url(https://evil.example/p)'/>"), "ressource externe"),
        (svg("<rect style='fill:url(http://evil.example/p)'/>"), "ressource externe"),
        (svg("<rect style='fill:\\75rl(x)'/>"), "attribut interdit : « style »"),
        (svg("<style>@import url(x.css);</style>"), "élément interdit : « style »"),
        (svg("<image href='https://evil.example/a.png'/>"), "élément interdit : « image »"),
        (svg("<a href='javascript:alert(1)'><rect/></a>"), "élément interdit : « a »"),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + svg("<text>&x;</text>"),
            "ni DOCTYPE ni entité",
        ),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><rect></svg>", "pas un fichier XML valide"),
        (b"<html><script>alert(1)</script></html>", "PNG ou SVG"),
        (b"GIF89a" + b"\x00" * 100, "PNG ou SVG"),
        (b"", "vide"),
        (png(rules.MAX_LOGO_BYTES + 1000), "256 Ko"),
    ],
)
def test_dangerous_or_oversized_logos_are_refused(content, message):
    with pytest.raises(rules.LogoError) as refused:
        rules.check_logo(content)
    assert message in str(refused.value)


def test_clean_svg_is_accepted_and_stored_without_comments_or_processing_instructions():
    content = (
        b'<?xml version="1.0"?><?xml-stylesheet href="https://evil.example/x.css"?>'
        b"<!-- generated -->"
        + svg(
            "<title>Logo</title><defs><linearGradient id='g'><stop offset='0' "
            "stop-color='#fff'/></linearGradient></defs><rect width='10' height='10' "
            "fill='url(#g)'/><use xlink:href='#g'/>",
            ' xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" inkscape:version="1"',
        )
    )
    logo = rules.check_logo(content)
    assert logo.media_type == "image/svg+xml"
    assert b"xml-stylesheet" not in logo.content
    assert b"generated" not in logo.content
    assert b"inkscape" not in logo.content
    assert b'fill="url(#g)"' in logo.content


def test_png_is_recognised_by_its_content():
    assert rules.check_logo(png()).media_type == "image/png"
    assert rules.check_logo(png(rules.MAX_LOGO_BYTES - 200)).media_type == "image/png"


# --- Command line ------------------------------------------------------------------------------


def test_insurer_set_changes_the_branding_and_origins(app, runner, insurers, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(png())
    result = runner.invoke(
        args=[
            "insurer", "set", "demo", "--color", "#7A1F5C", "--email",
            "Assistance@Mutuelle-Demo.fr", "--logo", str(logo), "--origin",
            "http://127.0.0.1:8001", "--remove-origin", DEMO_ORIGIN, "--phone", "0198765432",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Mutuelle modifiée." in result.output
    assert "Origines autorisées : http://127.0.0.1:8001" in result.output
    assert "Lien d'accès : http://portail.test/e/demo" in result.output
    with app.app_context():
        insurer = db.session.get(Insurer, insurers["demo"])
        assert insurer.primary_color == "#7a1f5c"
        assert insurer.email == "assistance@mutuelle-demo.fr"
        assert insurer.phone == "01 98 76 54 32"
        assert insurer.logo_media_type == "image/png"
        assert [origin.origin for origin in insurer.origins] == ["http://127.0.0.1:8001"]
        assert (Path(app.config["UPLOAD_FOLDER"]) / insurer.logo_stored_name).is_file()


def test_insurer_set_refuses_everything_when_one_value_is_bad(app, runner, insurers, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_bytes(svg("<script>alert(1)</script>"))
    result = runner.invoke(
        args=[
            "insurer", "set", "demo", "--color", "#ffcc00", "--logo", str(logo),
            "--origin", "https://www.mutuelle.fr/portail", "--email", "pas-une-adresse",
            "--name", "Nouveau nom",
        ]
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Modification refusée : rien n'a été changé." in result.output
    assert "trop claire" in result.output
    assert "« script »" in result.output
    assert "L'origine « https://www.mutuelle.fr/portail » est invalide" in result.output
    assert "L'adresse e-mail d'assistance « pas-une-adresse » est invalide" in result.output
    with app.app_context():
        insurer = db.session.get(Insurer, insurers["demo"])
        assert insurer.name == "Mutuelle Démo"
        assert insurer.primary_color is None and insurer.logo_stored_name is None
    assert not list(Path(app.config["UPLOAD_FOLDER"]).glob("logo-*"))


def test_insurer_set_refuses_an_oversized_logo_file_and_an_unknown_insurer(
    runner, insurers, tmp_path
):
    logo = tmp_path / "logo.png"
    logo.write_bytes(png(rules.MAX_LOGO_BYTES + 10))
    result = runner.invoke(args=["insurer", "set", "demo", "--logo", str(logo)])
    assert result.exit_code == 1
    assert "Le logo dépasse la taille maximale de 256 Ko." in result.output
    result = runner.invoke(args=["insurer", "set", "inconnue", "--color", "#000000"])
    assert result.exit_code == 1
    assert "Mutuelle inconnue : « inconnue »" in result.output


def test_insurer_set_clears_optional_values_and_removes_the_logo(app, runner, insurers, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(png())
    assert runner.invoke(args=["insurer", "set", "demo", "--logo", str(logo)]).exit_code == 0
    with app.app_context():
        stored = db.session.get(Insurer, insurers["demo"]).logo_stored_name
    result = runner.invoke(args=["insurer", "set", "demo", "--phone", "", "--remove-logo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        insurer = db.session.get(Insurer, insurers["demo"])
        assert insurer.phone is None and insurer.logo_stored_name is None
    assert not (Path(app.config["UPLOAD_FOLDER"]) / stored).exists()


def test_logo_columns_are_checked_by_the_database(app, insurers):
    with app.app_context():
        insurer = db.session.get(Insurer, insurers["demo"])
        insurer.logo_stored_name = "logo-x.gif"
        insurer.logo_media_type = "image/gif"
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
        insurer = db.session.get(Insurer, insurers["demo"])
        insurer.logo_stored_name = "logo-x.png"
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_static_files_in_context_cost_no_query(client, insurers, count_queries):
    enter(client)
    with count_queries() as counter:
        response = client.get("/static/embed.js")
    assert response.status_code == 200
    response.close()
    assert counter.count == 0

"""The layout's kept fragments: navigation and footer links, with each session's own token."""

import pytest
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app import layout
from tests.conftest import CSRF_PATTERN, DEFAULT_PASSWORD, visitor_names_read


def test_logged_out_navigation_offers_the_login_and_no_form(app):
    with app.test_request_context("/"):
        nav = layout.layout_fragment("_site_nav.html", authenticated=False)
    assert isinstance(nav, Markup)
    assert '<a class="button" href="/connexion">Connexion</a>' in nav
    assert "csrf_token" not in nav and "Déconnexion" not in nav


def test_logged_in_navigation_holds_this_sessions_token_and_the_kept_one_none(app):
    with app.test_request_context("/"):
        nav = layout.layout_fragment("_site_nav.html", authenticated=True)
        token = generate_csrf()
    assert CSRF_PATTERN.findall(nav) == [token]
    for text in ('href="/trajets">Mes trajets</a>', 'action="/deconnexion"', "Mon Espace"):
        assert text in nav
    kept = app.extensions["cartable_layout_fragments"][
        ("", "_site_nav.html", (("authenticated", True),))
    ]
    assert len(kept) == 2 and token not in "".join(kept)
    with app.test_request_context("/"):
        other = layout.layout_fragment("_site_nav.html", authenticated=True)
        assert CSRF_PATTERN.findall(other) == [generate_csrf()] != [token]


def test_a_token_is_escaped_where_it_is_put(app, monkeypatch):
    monkeypatch.setattr(layout, "generate_csrf", lambda: '"><script>')
    with app.test_request_context("/"):
        nav = layout.layout_fragment("_site_nav.html", authenticated=True)
    assert 'value="&#34;&gt;&lt;script&gt;"' in nav and "<script>" not in nav


def test_fragments_follow_the_application_root(app):
    with app.test_request_context("/", base_url="http://localhost/portail"):
        footer = layout.layout_fragment("_footer_links.html")
    with app.test_request_context("/"):
        assert layout.layout_fragment("_footer_links.html") != footer
    assert 'href="/portail/faq"' in footer


@pytest.mark.parametrize("logged_in", [False, True])
def test_pages_show_the_fragments(client, auth, logged_in):
    if logged_in:
        auth.sophie()
    page = client.get("/faq").get_data(as_text=True)
    assert '<nav aria-label="Navigation principale">' in page
    assert 'href="/infos/cookies">Cookies</a>' in page
    assert ("Déconnexion" in page) is logged_in
    assert "\x00" not in page


def test_kept_fragments_are_bounded(app, monkeypatch):
    monkeypatch.setattr(layout, "_CACHE_SIZE", 1)
    with app.test_request_context("/"):
        layout.layout_fragment("_footer_links.html")
        layout.layout_fragment("_site_nav.html", authenticated=False)
    assert len(app.extensions["cartable_layout_fragments"]) == 1


def test_nothing_is_kept_while_templates_reload(make_app):
    developing = make_app(TEMPLATES_AUTO_RELOAD=True)
    with developing.test_request_context("/"):
        layout.layout_fragment("_footer_links.html")
    assert developing.extensions["cartable_layout_fragments"] == {}


def test_the_login_form_is_kept_blank_and_each_browser_gets_its_own_token(app, client, auth):
    """The login page's blank form is rendered once; two browsers get their own tokens,
    and each logs in with its own."""
    auth.create_account()
    other = app.test_client()
    pages = [browser.get("/connexion").get_data(as_text=True) for browser in (client, other)]
    kept = [key for key in app.extensions["cartable_layout_fragments"] if "login" in key[1]]
    assert len(kept) == 1
    tokens = [CSRF_PATTERN.search(page).group(1) for page in pages]
    assert tokens[0] != tokens[1] and "\x00" not in "".join(pages)
    for browser, token in zip((client, other), tokens, strict=True):
        data = {
            "csrf_token": token,
            "email": "sophie.martin@example.fr",
            "password": DEFAULT_PASSWORD,
        }
        assert browser.post("/connexion", data=data).status_code == 302


def test_a_refused_login_shows_its_message_and_the_next_page_is_blank_again(client, auth):
    from app.auth.routes import LOGIN_FAILED

    auth.create_account()
    refused = auth.login(password="Mauvais2026!").get_data(as_text=True)
    assert LOGIN_FAILED.replace("'", "&#39;") in refused
    assert 'value="sophie.martin@example.fr"' in refused  # the address typed is kept
    blank = client.get("/connexion").get_data(as_text=True)
    assert LOGIN_FAILED.replace("'", "&#39;") not in blank
    assert 'value="sophie.martin@example.fr"' not in blank


def test_a_blank_form_renders_the_token_slot(app):
    from app.auth.forms import LoginForm

    with app.test_request_context("/"):
        form = layout.blank_form(LoginForm)
        assert form.csrf_token.current_token == layout.TOKEN_SLOT
        assert form.email.data is None


def test_the_kept_login_form_holds_no_token_whatever_the_field_is_called(make_app, auth):
    """With another CSRF field name, each visitor still gets a token of their own."""
    import re

    renamed = make_app(WTF_CSRF_FIELD_NAME="jeton")
    auth.create_account()
    tokens = []
    for browser in (renamed.test_client(), renamed.test_client()):
        page = browser.get("/connexion").get_data(as_text=True)
        token = re.search(r'name="jeton"[^>]*value="([^"]+)"', page).group(1)
        login = {"jeton": token, "email": "sophie.martin@example.fr", "password": DEFAULT_PASSWORD}
        assert browser.post("/connexion", data=login).status_code == 302
        tokens.append(token)
    assert tokens[0] != tokens[1]


def test_a_blank_form_part_that_drops_the_token_is_never_kept(app, monkeypatch):
    from app.auth.forms import LoginForm

    with app.test_request_context("/"):
        with pytest.raises(RuntimeError):
            layout.blank_form_part("_footer_links.html", LoginForm)
    assert app.extensions["cartable_layout_fragments"] == {}


@pytest.mark.parametrize(
    "template", ["auth/_login_body.html", "_site_nav.html", "_footer_links.html"]
)
def test_kept_parts_read_nothing_of_the_visitor(app, template):
    """Kept parts serve every visitor: their templates read only the values they are given
    (and app-wide helpers), never the request, the session, the visitor or the insurer in
    context."""
    assert visitor_names_read(app, template) == set()


def test_the_visitor_check_sees_what_the_layout_reads(app):
    """The check above can fail: the layout itself reads the visitor."""
    read = visitor_names_read(app, "base.html")
    assert {"current_user", "embedding", "get_flashed_messages", "layout_fragment"} <= read

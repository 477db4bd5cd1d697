"""The layout around every page: navigation, footer links, and the login page's form."""

import re

import pytest

from tests.conftest import CSRF_PATTERN, DEFAULT_PASSWORD


@pytest.mark.parametrize("logged_in", [False, True])
def test_pages_show_the_navigation_and_the_footer_links(client, auth, logged_in):
    if logged_in:
        auth.sophie()
    page = client.get("/faq").get_data(as_text=True)
    assert '<nav aria-label="Navigation principale">' in page
    assert 'href="/infos/cookies">Cookies</a>' in page
    assert ("Déconnexion" in page) is logged_in
    assert ('<a class="button" href="/connexion">Connexion</a>' in page) is not logged_in


def test_the_logout_button_carries_this_sessions_token_and_logs_out(client, auth, other_client):
    auth.sophie()
    auth.karim(other_client)
    page = client.get("/faq").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/deconnexion".*?</form>', page, re.S).group(0)
    token = CSRF_PATTERN.search(form).group(1)
    other_page = other_client.get("/faq").get_data(as_text=True)
    assert token not in other_page
    response = client.post("/deconnexion", data={"csrf_token": token})
    assert response.status_code == 302
    assert "Déconnexion" not in client.get("/faq").get_data(as_text=True)


def test_the_navigation_follows_the_application_root(app):
    browser = app.test_client()
    page = browser.get("/faq", base_url="http://localhost/portail").get_data(as_text=True)
    assert 'href="/portail/faq"' in page
    assert 'href="/portail/connexion"' in page


def test_two_browsers_get_their_own_login_tokens_and_each_logs_in(app, client, auth):
    auth.create_account()
    other = app.test_client()
    pages = [browser.get("/connexion").get_data(as_text=True) for browser in (client, other)]
    tokens = [CSRF_PATTERN.search(page).group(1) for page in pages]
    assert tokens[0] != tokens[1]
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
    assert 'href="/faq/probleme-de-connexion"' in refused
    blank = client.get("/connexion").get_data(as_text=True)
    assert LOGIN_FAILED.replace("'", "&#39;") not in blank
    assert 'value="sophie.martin@example.fr"' not in blank


def test_forms_written_by_hand_name_the_token_field_as_configured(make_app, auth):
    """The logout button and the upload forms write their token field by hand: they follow
    WTF_CSRF_FIELD_NAME as Flask-WTF's own forms do, and still work."""
    auth.create_account()
    browser = make_app(WTF_CSRF_FIELD_NAME="jeton").test_client()
    token = re.compile(r'name="jeton"[^>]*value="([^"]+)"')
    page = browser.get("/connexion").get_data(as_text=True)
    response = browser.post(
        "/connexion",
        data={
            "jeton": token.search(page).group(1),
            "email": "sophie.martin@example.fr",
            "password": DEFAULT_PASSWORD,
        },
    )
    assert response.status_code == 302
    upload = browser.get("/remboursements/nouvelle-demande").get_data(as_text=True)
    assert re.search(r'<form method="post" action="\?jeton=[^"&]+"', upload)
    page = browser.get("/faq").get_data(as_text=True)
    assert "csrf_token" not in page
    form = re.search(r'<form method="post" action="/deconnexion".*?</form>', page, re.S).group(0)
    response = browser.post("/deconnexion", data={"jeton": token.search(form).group(1)})
    assert response.status_code == 302
    assert "Déconnexion" not in browser.get("/faq").get_data(as_text=True)

"""The signed session cookie: sent when it changes, never built for nothing."""

import pytest


@pytest.fixture
def calls(app, monkeypatch):
    """How many times the session interface built a serializer or a cookie attribute."""
    interface = app.session_interface
    counted = {"serializer": 0, "attributes": 0}

    def counting(method, key):
        original = getattr(interface, method)

        def wrapper(*args, **kwargs):
            counted[key] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(interface, method, wrapper)

    counting("get_signing_serializer", "serializer")
    for attribute in ("domain", "path", "secure", "partitioned", "samesite", "httponly"):
        counting(f"get_cookie_{attribute}", "attributes")
    return counted


def test_a_visitor_without_a_cookie_gets_none_and_costs_no_serializer(client, calls):
    response = client.get("/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert calls == {"serializer": 0, "attributes": 0}


def test_a_page_that_stores_in_the_session_sends_the_cookie(client, calls):
    response = client.get("/connexion")  # the form's CSRF token goes in the session
    assert "cartable_session=" in response.headers["Set-Cookie"]
    assert calls["serializer"] >= 1 and calls["attributes"] >= 6


def test_an_unchanged_session_is_read_but_not_sent_again(client, auth, calls):
    auth.sophie()
    client.get("/mon-espace")  # the layout's logout form stores its CSRF token once
    calls.update(serializer=0, attributes=0)
    response = client.get("/mon-espace")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" in response.headers["Vary"]  # the page depends on who asks
    assert calls == {"serializer": 1, "attributes": 0}  # the cookie's signature, read once


def test_an_emptied_session_deletes_the_cookie(app):
    interface = app.session_interface
    with app.test_request_context("/", headers={"Cookie": "cartable_session=ancien"}):
        session = interface.session_class({"csrf_token": "x"})
        session.clear()  # modified, and empty
        response = app.response_class()
        interface.save_session(app, session, response)
    assert response.headers["Set-Cookie"].startswith("cartable_session=; Expires=Thu, 01 Jan 1970")


# Another site's form posted here: the browser says so (Fetch Metadata) and keeps its
# SameSite=Lax cookie back. A new cookie on the answer would replace the member's.
CROSS_SITE_FORM = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
SAME_SITE_FORM = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
UPLOAD = "/remboursements/nouvelle-demande"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", UPLOAD),  # refused before its body and its CSRF token: the login page
        ("GET", f"/verification-envoi{UPLOAD}"),  # nginx's check, for the upload's POST
    ],
)
def test_another_sites_post_gets_no_cookie_that_would_replace_the_members(
    app, client, demo, method, path
):
    """Other forms posted without the cookie are refused for their CSRF token, without a
    cookie either (errors.left_open_too_long): an upload is refused before, as anonymous."""
    crossing = client.open(path, method=method, headers=CROSS_SITE_FORM)
    assert crossing.status_code in (302, 303, 400, 401)
    assert "Set-Cookie" not in crossing.headers
    # The same request from the portal's own page gets its message, in a new cookie.
    own = app.test_client().open(path, method=method, headers=SAME_SITE_FORM)
    assert own.status_code == crossing.status_code
    assert "cartable_session=" in own.headers["Set-Cookie"]


def test_a_link_from_another_site_keeps_the_login_pages_message(client, demo):
    """A top-level GET from another site (a webmail's link) carries Lax cookies: without
    one, the visitor has none to lose, and the login page says why it opened."""
    answer = client.get("/mon-espace", headers=CROSS_SITE_FORM)
    assert answer.status_code == 302 and "cartable_session=" in answer.headers["Set-Cookie"]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Veuillez vous connecter pour accéder à cette page." in page


def test_another_sites_request_that_carries_the_cookie_is_answered_as_usual(client, auth):
    """A cookie the browser did send (SameSite=None inside an insurer's frame, say) is
    answered as always: the refused upload's message goes in it."""
    auth.sophie()
    client.get("/mon-espace")
    answer = client.get(f"/verification-envoi{UPLOAD}", headers=CROSS_SITE_FORM)
    assert answer.status_code == 403
    assert "cartable_session=" in answer.headers["Set-Cookie"]


def test_an_insurers_site_opening_its_frame_still_gets_the_partitioned_cookie(client, demo):
    """The insurer's page opens the portal in its frame: a navigation from another site,
    by GET, which must set the context's cookie (Lax cookies are not at stake there)."""
    framed = {**CROSS_SITE_FORM, "Sec-Fetch-Dest": "iframe"}
    answer = client.get("/e/demo", headers=framed)
    *_, cookie = answer.headers.getlist("Set-Cookie")  # after the Lax one's expiry
    assert "cartable_session=" in cookie and "Partitioned" in cookie

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

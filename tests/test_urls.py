"""Templates' `url_for`: constant URLs are kept per application root, the rest built as usual."""

from flask import url_for


def _kept(app) -> dict:
    return app.extensions["cartable_template_urls"]


def test_constant_urls_are_kept_and_equal_to_flask_ones(app):
    template_url_for = app.jinja_env.globals["url_for"]
    with app.test_request_context("/"):
        first = template_url_for("static", filename="css/cartable.css")
        assert first == url_for("static", filename="css/cartable.css")
        assert "?v=" in first  # the file's version, as Flask's url_for gives it
        assert template_url_for("trips.calendar") == "/trajets"
        assert _kept(app)[("", "static", "css/cartable.css")] == first
        assert _kept(app)[("", "trips.calendar", None)] == "/trajets"


def test_urls_follow_the_application_root(app):
    template_url_for = app.jinja_env.globals["url_for"]
    with app.test_request_context("/"):
        assert template_url_for("trips.calendar") == "/trajets"
    with app.test_request_context("/", base_url="http://localhost/portail"):
        assert template_url_for("trips.calendar") == "/portail/trajets"
        assert template_url_for("static", filename="a.css") == "/portail/static/a.css"
    with app.test_request_context("/"):
        assert template_url_for("static", filename="a.css") == "/static/a.css"


def test_urls_with_values_are_built_each_time_and_not_kept(app):
    template_url_for = app.jinja_env.globals["url_for"]
    with app.test_request_context("/trajets"):
        assert template_url_for("trips.day", day_text="2026-05-20") == "/trajets/2026-05-20"
        assert template_url_for("trips.calendar", mois="2026-06") == "/trajets?mois=2026-06"
        assert template_url_for("trips.calendar", _external=True) == "http://localhost/trajets"
        assert template_url_for("trips.calendar", _anchor="mois") == "/trajets#mois"
        assert _kept(app) == {}


def test_the_cache_is_bounded(app):
    template_url_for = app.jinja_env.globals["url_for"]
    for n in range(600):
        with app.test_request_context("/", base_url=f"http://localhost/racine{n}"):
            assert template_url_for("trips.calendar") == f"/racine{n}/trajets"
    assert len(_kept(app)) == 512


def test_pages_use_it(client):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/static/css/cartable.css?v=' in page
    assert ("", "static", "css/cartable.css") in _kept(client.application)

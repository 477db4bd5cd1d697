"""Pages marked `@read_only`: no transaction on PostgreSQL, and no write on either database."""

import pytest
import sqlalchemy as sa
from flask import request

from app.extensions import db
from app.models import FaqTheme
from app.read_only import WriteInReadOnlyView, read_only


def _transaction_state() -> str:
    """After one statement of the request's session: psycopg's transaction status and
    autocommit flag (SQLite: its driver's in_transaction)."""
    connection = db.session.connection()
    connection.execute(sa.text("SELECT 1"))
    driver = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        return f"{driver.info.transaction_status.name} autocommit={driver.autocommit}"
    return f"in_transaction={driver.in_transaction}"


@pytest.fixture
def views(app):
    """Views added to the application under test, before its first request."""

    @app.route("/essai/lecture", methods=["GET", "HEAD", "POST"])
    @read_only
    def reading():
        return _transaction_state()

    @app.get("/essai/ordinaire")
    def ordinary():
        return _transaction_state()

    @app.get("/essai/lecture-qui-ecrit")
    @read_only
    def reading_that_writes():
        how = request.args["how"]
        if how == "orm":
            db.session.add(FaqTheme(slug="essai", title="Essai", position=0))
            db.session.flush()
        elif how == "orm-update":
            db.session.execute(sa.update(FaqTheme).values(title="Autre"))
        elif how == "core":
            db.session.connection().execute(
                sa.insert(FaqTheme).values(slug="essai", title="Essai", position=0)
            )
        else:
            db.session.execute(
                sa.text("INSERT INTO faq_themes (slug, title, position) VALUES ('t', 'T', 0)")
            )
        db.session.commit()
        return "écrit"

    @app.get("/essai/lecture-et-ecriture-a-part")
    @read_only
    def reading_with_a_write_apart():
        """As the identity writes a session's last activity: on a connection of its own."""
        with db.engine.begin() as connection:
            connection.execute(
                sa.insert(FaqTheme).values(slug="a-part", title="À part", position=0)
            )
        return _transaction_state()

    return app


@pytest.fixture
def postgresql_only(app):
    """psycopg's autocommit is what these tests look at: skipped on SQLite."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("psycopg's autocommit: PostgreSQL only (TEST_DATABASE_URL)")


@pytest.mark.usefixtures("postgresql_only")
def test_a_reading_page_sends_no_begin_on_postgresql(views, client):
    assert client.get("/essai/lecture").text == "IDLE autocommit=True"
    assert client.get("/essai/ordinaire").text == "INTRANS autocommit=False"


@pytest.mark.usefixtures("postgresql_only")
def test_a_post_to_a_reading_view_runs_in_a_transaction(views, client):
    views.config["WTF_CSRF_ENABLED"] = False
    assert client.post("/essai/lecture").text == "INTRANS autocommit=False"


@pytest.mark.usefixtures("postgresql_only")
def test_the_connection_goes_back_to_the_pool_with_transactions_on(views, client):
    """Every pooled connection a reading request used is handed to the next request as it
    came: the next request's writes are atomic again."""
    seen = []
    with views.app_context():
        engine = db.engine

    def record(dbapi_connection, _record, _proxy):
        seen.append(dbapi_connection.autocommit)

    sa.event.listen(engine, "checkout", record)
    try:
        for _ in range(3):
            client.get("/essai/lecture")
            assert client.get("/essai/ordinaire").status_code == 200
    finally:
        sa.event.remove(engine, "checkout", record)
    assert seen and not any(seen)


def test_a_reading_view_that_writes_is_refused_and_writes_nothing(views, client):
    writes = [("orm", "INSERT"), ("orm-update", "UPDATE"), ("core", "INSERT"), ("text", "INSERT")]
    for how, verb in writes:
        with pytest.raises(WriteInReadOnlyView, match=f"reading_that_writes .* runs {verb}"):
            client.get(f"/essai/lecture-qui-ecrit?how={how}")
    with views.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FaqTheme)) == 0


def test_a_write_on_a_connection_of_its_own_is_allowed(views, client):
    assert client.get("/essai/lecture-et-ecriture-a-part").status_code == 200
    with views.app_context():
        assert db.session.scalar(sa.select(FaqTheme.title)) == "À part"


def test_a_write_apart_is_allowed_on_in_memory_sqlite_s_single_connection(make_app):
    """In-memory SQLite has one driver connection for every checkout (StaticPool): the
    mark belongs to the session's connection, not to the driver's."""
    memory = make_app(SQLALCHEMY_DATABASE_URI="sqlite://")
    with memory.app_context():
        db.create_all()

    @memory.get("/essai/a-part")
    @read_only
    def reading_with_a_write_apart():
        db.session.connection().execute(sa.select(FaqTheme.id))  # the session's, marked
        with db.engine.begin() as connection:
            connection.execute(sa.insert(FaqTheme).values(slug="m", title="Mémoire", position=0))
        return "ok"

    assert memory.test_client().get("/essai/a-part").text == "ok"
    with memory.app_context():
        assert db.session.scalar(sa.select(FaqTheme.title)) == "Mémoire"


def test_the_portal_s_reading_pages_are_marked(app):
    """The pages every visit reads: marked, and so checked never to write by the suite."""
    marked = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if getattr(view, "read_only", False)
    }
    assert {
        "account.index",
        "trips.calendar",
        "trips.day",
        "trips.trip_list",
        "trips.trip",
        "faq.index",
        "faq.answer",
        "faq.health_data",
        "faq.browsers",
        "faq.cookies",
        "faq.scope",
        "addresses.index",
        "addresses.show",
        "reimbursements.index",
        "reimbursements.detail",
    } <= marked

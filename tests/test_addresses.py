"""« Mes adresses »: rules, forms and their messages, access checks, deletion and history."""

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.addresses import rules
from app.addresses import services as address_services
from app.clock import PARIS
from app.extensions import db
from app.models import Account, Address, AddressKind, Member, Trip, TripPurpose
from tests.conftest import submit

REQUIRED = "Ce champ est obligatoire."
MAISON = {
    "label": "Maison",
    "kind": "domicile",
    "street": "12 rue des Lilas",
    "complement": "Bâtiment B, 3e étage",
    "postal_code": "75011",
    "city": "Paris",
}
COLLEGE = {
    "label": "Collège Victor Hugo",
    "kind": "college",
    "street": "5 avenue Victor Hugo",
    "complement": "",
    "postal_code": "75016",
    "city": "Paris",
}


@pytest.fixture(autouse=True)
def morning(time_machine):
    """Every test runs today at 10:00 in Paris, clock frozen."""
    moment = datetime.combine(date.today(), time(10, 0), tzinfo=PARIS)
    time_machine.move_to(moment, tick=False)
    return moment


# --- Rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "75011",
        "01000",
        "13001",
        "20000",
        "20090",
        "20200",
        "95000",
        "97400",
        "97500",  # Saint-Pierre-et-Miquelon
        "97600",
        "98600",  # Wallis-et-Futuna
        "98714",  # Papeete
        "98800",  # Nouméa
    ],
)
def test_french_postal_codes_are_accepted(code):
    assert rules.postal_code_problem(code) is None
    assert rules.normalize_postal_code(code) == code


def test_postal_code_spaces_are_ignored():
    assert rules.postal_code_problem(" 75 011 ") is None
    assert rules.normalize_postal_code(" 75 011 ") == "75011"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("7500", rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("750111", rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("ABCDE", rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("75O11", rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("７５０１１", rules.POSTAL_CODE_FORMAT_MESSAGE),  # full-width digits
        ("", rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("00100", rules.POSTAL_CODE_UNKNOWN_MESSAGE),
        ("96000", rules.POSTAL_CODE_UNKNOWN_MESSAGE),
        ("99000", rules.POSTAL_CODE_UNKNOWN_MESSAGE),
        ("98000", rules.POSTAL_CODE_UNKNOWN_MESSAGE),  # Monaco
        ("98100", rules.POSTAL_CODE_UNKNOWN_MESSAGE),
        ("98500", rules.POSTAL_CODE_UNKNOWN_MESSAGE),
        ("98900", rules.POSTAL_CODE_UNKNOWN_MESSAGE),
    ],
)
def test_postal_codes_outside_france_are_refused(code, message):
    assert rules.postal_code_problem(code) == message


@pytest.mark.parametrize(
    ("first", "second"),
    [("Maison", "maison"), ("École Jules Ferry", "ecole  jules-ferry"), (" Lycée ", "LYCEE")],
)
def test_labels_differing_by_case_accents_or_spaces_share_a_key(first, second):
    assert rules.label_key(first) == rules.label_key(second)


def test_label_key_fits_its_column_even_when_folding_lengthens_it():
    assert len(rules.label_key("ﬁ" * 100)) == rules.LABEL_MAX_LENGTH


def test_clean_text_drops_control_characters_and_repeated_spaces():
    assert rules.clean_text("  12\x00 rue\t des\n Lilas ") == "12 rue des Lilas"


NOW = datetime(2026, 3, 27, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("use", "upcoming"),
    [
        (rules.TripUse(date(2026, 3, 27), time(10, 15), cancelled=False), True),
        (rules.TripUse(date(2026, 3, 27), time(10, 0), cancelled=False), False),
        (rules.TripUse(date(2026, 3, 27), time(9, 45), cancelled=False), False),
        (rules.TripUse(date(2026, 3, 26), time(18, 0), cancelled=False), False),
        (rules.TripUse(date(2026, 4, 2), time(8, 30), cancelled=False), True),
        (rules.TripUse(date(2026, 4, 2), time(8, 30), cancelled=True), False),
    ],
)
def test_a_trip_is_upcoming_until_its_paris_start(use, upcoming):
    assert rules.is_upcoming(use, NOW) is upcoming


def test_upcoming_compares_instants_across_time_zones():
    # 09:30 UTC is 10:30 in Paris on 27 March 2026 (winter time): the 10:15 trip is over.
    now_utc = datetime(2026, 3, 27, 9, 30, tzinfo=ZoneInfo("UTC"))
    assert not rules.is_upcoming(rules.TripUse(date(2026, 3, 27), time(10, 15), False), now_utc)


def test_edit_keeps_a_version_when_past_or_locked_trips_use_the_address():
    future = rules.TripUse(date(2026, 4, 2), time(8, 30), cancelled=False)
    past = rules.TripUse(date(2026, 3, 20), time(8, 30), cancelled=False)
    # Sunday 29 March 10:00 is 48 h ahead of NOW, across the spring DST change: 47 real hours.
    locked = rules.TripUse(date(2026, 3, 29), time(10, 0), cancelled=False)
    cancelled_soon = rules.TripUse(date(2026, 3, 28), time(8, 30), cancelled=True)
    assert not rules.edit_needs_new_version([future], NOW)
    assert not rules.edit_needs_new_version([future, cancelled_soon], NOW)
    assert rules.edit_needs_new_version([future, past], NOW)
    assert rules.edit_needs_new_version([future, locked], NOW)


@pytest.mark.parametrize(
    ("use", "imminent", "changeable"),
    [
        (rules.TripUse(date(2026, 3, 27), time(10, 15), cancelled=False), True, False),
        (rules.TripUse(date(2026, 3, 29), time(10, 0), cancelled=False), True, False),
        (rules.TripUse(date(2026, 3, 29), time(11, 0), cancelled=False), False, True),
        (rules.TripUse(date(2026, 3, 29), time(11, 0), cancelled=True), False, False),
        (rules.TripUse(date(2026, 3, 28), time(8, 0), cancelled=True), False, False),
        (rules.TripUse(date(2026, 3, 27), time(9, 45), cancelled=False), False, False),
    ],
)
def test_imminent_and_changeable_trips(use, imminent, changeable):
    assert rules.is_imminent(use, NOW) is imminent
    assert rules.is_changeable(use, NOW) is changeable


# --- Helpers ------------------------------------------------------------------------------


def add_address(app, account_id: int, label: str, **values) -> int:
    """An address created directly in the database."""
    with app.app_context():
        address = Address(
            account_id=account_id,
            label=label,
            label_key=rules.label_key(label),
            kind=values.get("kind", AddressKind.HOME),
            street=values.get("street", "1 rue de la Paix"),
            postal_code=values.get("postal_code", "75002"),
            city=values.get("city", "Paris"),
        )
        db.session.add(address)
        db.session.commit()
        return address.id


def add_trip(app, account_id, from_id, to_id, when: datetime, cancelled=False) -> int:
    """A trip for Maxime created directly in the database (the trips pages are not used)."""
    with app.app_context():
        maxime = db.session.scalar(sa.select(Member).where(Member.first_name == "Maxime"))
        trip = Trip(
            account_id=account_id,
            child_id=maxime.id,
            trip_date=when.date(),
            trip_time=when.time().replace(tzinfo=None),
            purpose=TripPurpose.SCHOOL,
            from_address_id=from_id,
            to_address_id=to_id,
            cancelled_at=datetime(2026, 1, 1) if cancelled else None,
        )
        db.session.add(trip)
        db.session.commit()
        return trip.id


def sophie_id(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(Account.id).where(Account.email == "sophie.martin@example.fr")
        )


def stored(app, **where) -> list[Address]:
    with app.app_context():
        query = sa.select(Address).filter_by(**where).order_by(Address.id)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def address_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Address))


@pytest.fixture
def sophie(app, auth) -> int:
    auth.sophie()
    return sophie_id(app)


@pytest.fixture
def home(app, sophie) -> int:
    return add_address(app, sophie, "Maison")


@pytest.fixture
def school(app, sophie) -> int:
    return add_address(
        app, sophie, "Collège Victor Hugo", kind=AddressKind.MIDDLE_SCHOOL, street="5 rue Hugo"
    )


# --- List and access ----------------------------------------------------------------------


def test_addresses_need_a_login(client, demo):
    response = client.get("/adresses")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_empty_list_invites_to_add_an_address(client, sophie):
    page = client.get("/adresses").get_data(as_text=True)
    assert "Vous n'avez encore enregistré aucune adresse" in page
    assert 'href="/adresses/ajouter"' in page
    assert "Ajouter une adresse" in page


def test_mon_espace_and_header_link_to_my_addresses(client, sophie):
    page = client.get("/mon-espace").get_data(as_text=True)
    assert 'href="/adresses"' in page
    assert "Mes adresses" in page


def test_list_shows_current_addresses_only(app, client, sophie, home, school):
    gone = add_address(app, sophie, "Ancien appartement")
    with app.app_context():
        db.session.get(Address, gone).archived_at = datetime(2026, 1, 1)
        db.session.commit()
    page = client.get("/adresses").get_data(as_text=True)
    assert "Maison" in page
    assert "Collège Victor Hugo" in page
    assert "Collège" in page
    assert "1 rue de la Paix, 75002 Paris" in page
    assert "Ancien appartement" not in page
    assert client.get(f"/adresses/{gone}").status_code == 404
    assert client.get(f"/adresses/{gone}/modifier").status_code == 404


def test_list_runs_the_same_queries_for_1_or_200_addresses(app, client, sophie, count_queries):
    add_address(app, sophie, "Adresse 0")
    with count_queries() as one:
        assert client.get("/adresses").status_code == 200
    with app.app_context():
        db.session.add_all(
            Address(
                account_id=sophie,
                label=f"Adresse {n}",
                label_key=f"adresse {n}",
                kind=AddressKind.OTHER,
                street=f"{n} rue du Test",
                postal_code="69001",
                city="Lyon",
            )
            for n in range(1, 200)
        )
        db.session.commit()
    with count_queries() as many:
        page = client.get("/adresses").get_data(as_text=True)
    assert page.count("rue du Test") == 199
    assert many.count == one.count, many.statements


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/adresses/{id}"),
        ("get", "/adresses/{id}/modifier"),
        ("post", "/adresses/{id}/modifier"),
        ("get", "/adresses/{id}/supprimer"),
        ("post", "/adresses/{id}/supprimer"),
    ],
)
def test_another_accounts_address_is_not_found(app, client, auth, other_client, home, method, path):
    auth.karim(other_client)
    url = path.format(id=home)
    if method == "get":
        response = other_client.get(url)
    else:
        data = {**MAISON, "label": "Piratée"}
        response = submit(other_client, url, data, form_url="/adresses/ajouter")
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)
    [address] = stored(app, id=home)
    assert address.label == "Maison"
    assert address.archived_at is None


def test_unknown_address_is_not_found(client, sophie):
    assert client.get("/adresses/999999").status_code == 404
    assert client.get("/adresses/999999/supprimer").status_code == 404


# --- « Ajouter une adresse » --------------------------------------------------------------


def test_form_has_the_labels_of_the_brief(client, sophie):
    page = client.get("/adresses/ajouter").get_data(as_text=True)
    for label in [
        "Intitulé",
        "Type",
        "Adresse",
        "Complément d&#39;adresse",
        "Code postal",
        "Ville",
    ]:
        assert f">{label}</label>" in page
    for kind in ["Domicile", "École primaire", "Collège", "Lycée", "Autre"]:
        assert f">{kind}</option>" in page


def test_add_an_address(app, client, sophie):
    response = submit(client, "/adresses/ajouter", MAISON)
    assert response.status_code == 302
    assert response.headers["Location"] == "/adresses"
    page = client.get("/adresses").get_data(as_text=True)
    assert "L&#39;adresse « Maison » est enregistrée." in page
    assert "12 rue des Lilas, Bâtiment B, 3e étage, 75011 Paris" in page
    [address] = stored(app, account_id=sophie)
    assert address.kind is AddressKind.HOME
    assert address.label_key == "maison"
    assert address.complement == "Bâtiment B, 3e étage"


def test_add_normalises_spaces_and_postal_code(app, client, sophie):
    data = {**COLLEGE, "label": "  Collège   Victor Hugo ", "postal_code": "75 016"}
    assert submit(client, "/adresses/ajouter", data).status_code == 302
    [address] = stored(app, account_id=sophie)
    assert address.label == "Collège Victor Hugo"
    assert address.postal_code == "75016"
    assert address.complement is None
    assert address.kind is AddressKind.MIDDLE_SCHOOL


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label", "", REQUIRED),
        ("label", "   ", REQUIRED),
        ("label", "x" * 5000, "L&#39;intitulé ne doit pas dépasser 100 caractères."),
        ("label", "x" * 101, "L&#39;intitulé ne doit pas dépasser 100 caractères."),
        ("kind", "", REQUIRED),
        ("kind", "chateau", "Choisissez le type d&#39;adresse dans la liste."),
        ("street", "", REQUIRED),
        ("street", "x" * 201, "L&#39;adresse ne doit pas dépasser 200 caractères."),
        (
            "complement",
            "x" * 201,
            "Le complément d&#39;adresse ne doit pas dépasser 200 caractères.",
        ),
        ("postal_code", "", REQUIRED),
        ("postal_code", "7500", rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("postal_code", "ABCDE", rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("postal_code", "x" * 5000, rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("postal_code", "00123", rules.POSTAL_CODE_UNKNOWN_MESSAGE),
        ("city", "", REQUIRED),
        ("city", "x" * 101, "La ville ne doit pas dépasser 100 caractères."),
    ],
)
def test_bad_input_is_refused_next_to_the_field(app, client, sophie, field, value, message):
    response = submit(client, "/adresses/ajouter", {**MAISON, field: value})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="{field}-erreur">{message}</p>' in page
    assert f'aria-describedby="{field}-aide {field}-erreur"' in page or (
        f'aria-describedby="{field}-erreur"' in page
    )
    assert address_count(app) == 0


def test_missing_fields_are_refused_without_error(app, client, sophie):
    response = submit(client, "/adresses/ajouter", {})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count(REQUIRED) == 5
    assert address_count(app) == 0


def test_add_without_csrf_token_is_refused(app, client, sophie):
    response = client.post("/adresses/ajouter", data=MAISON)
    assert response.status_code == 400
    assert address_count(app) == 0


@pytest.mark.parametrize("label", ["Maison", "maison", "MAISON ", "Maïson"])
def test_duplicate_label_is_refused(app, client, sophie, home, label):
    response = submit(client, "/adresses/ajouter", {**MAISON, "label": label})
    assert response.status_code == 200
    assert "Vous avez déjà une adresse avec cet intitulé : choisissez-en un autre." in (
        response.get_data(as_text=True)
    )
    assert len(stored(app, account_id=sophie)) == 1


@pytest.mark.parametrize("action", ["add", "edit"])
def test_a_label_taken_meanwhile_is_a_field_error_and_nothing_is_written(
    app, client, sophie, home, school, monkeypatch, action
):
    """Another tab saved the label between the form's check and the commit: the database's
    unique index refuses it, and the form says why instead of failing."""
    monkeypatch.setattr(address_services, "label_taken", lambda *args, **kwargs: False)
    url = "/adresses/ajouter" if action == "add" else f"/adresses/{home}/modifier"
    response = submit(client, url, {**MAISON, "label": "Collège Victor Hugo"})
    assert response.status_code == 200
    assert "Vous avez déjà une adresse avec cet intitulé" in response.get_data(as_text=True)
    assert [(a.label, a.street) for a in stored(app, account_id=sophie)] == [
        ("Maison", "1 rue de la Paix"),
        ("Collège Victor Hugo", "5 rue Hugo"),
    ]


def test_same_label_in_another_account_is_fine(app, client, auth, other_client, home):
    auth.karim(other_client)
    assert submit(other_client, "/adresses/ajouter", MAISON).status_code == 302
    assert address_count(app) == 2


# --- « Modifier » --------------------------------------------------------------------------


def test_edit_form_is_filled_with_the_address(client, sophie, school):
    page = client.get(f"/adresses/{school}/modifier").get_data(as_text=True)
    assert 'value="Collège Victor Hugo"' in page
    assert '<option selected value="college">Collège</option>' in page
    assert 'value="5 rue Hugo"' in page


def test_edit_an_address(app, client, sophie, home):
    data = {**MAISON, "street": "14 rue des Lilas", "label": "maison"}
    response = submit(client, f"/adresses/{home}/modifier", data)
    assert response.status_code == 302
    assert "L&#39;adresse « maison » est modifiée." in client.get("/adresses").get_data(
        as_text=True
    )
    [address] = stored(app, account_id=sophie)
    assert address.id == home
    assert address.street == "14 rue des Lilas"


def test_edit_to_another_addresses_label_is_refused(app, client, sophie, home, school):
    data = {**COLLEGE, "label": "MAISON"}
    response = submit(client, f"/adresses/{school}/modifier", data)
    assert response.status_code == 200
    assert "Vous avez déjà une adresse avec cet intitulé" in response.get_data(as_text=True)
    assert stored(app, id=school)[0].label == "Collège Victor Hugo"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label", "x" * 5000, "L&#39;intitulé ne doit pas dépasser 100 caractères."),
        ("postal_code", "7500", rules.POSTAL_CODE_FORMAT_MESSAGE),
        ("city", "", REQUIRED),
    ],
)
def test_edit_with_bad_input_changes_nothing(app, client, sophie, home, field, value, message):
    response = submit(client, f"/adresses/{home}/modifier", {**MAISON, field: value})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    [address] = stored(app, account_id=sophie)
    assert (address.label, address.postal_code, address.city) == ("Maison", "75002", "Paris")


def test_edit_posted_without_a_field_does_not_keep_the_stored_one(app, client, sophie, home):
    """The form shows the stored address; a POST holds only what it sent."""
    data = {name: value for name, value in MAISON.items() if name != "city"}
    response = submit(client, f"/adresses/{home}/modifier", data)
    assert response.status_code == 200
    assert REQUIRED in response.get_data(as_text=True)
    [address] = stored(app, account_id=sophie)
    assert (address.label, address.postal_code, address.city) == ("Maison", "75002", "Paris")


def test_edit_of_an_address_used_by_a_future_trip_follows_the_trip(
    app, client, sophie, home, school, morning
):
    trip = add_trip(app, sophie, home, school, morning + timedelta(days=5))
    data = {**MAISON, "street": "20 rue Neuve"}
    assert submit(client, f"/adresses/{home}/modifier", data).status_code == 302
    with app.app_context():
        assert db.session.get(Trip, trip).from_address.street == "20 rue Neuve"
    assert len(stored(app, account_id=sophie)) == 2  # changed in place, no new version


def test_edit_of_an_address_used_by_past_trips_keeps_their_history(
    app, client, sophie, home, school, morning
):
    past = add_trip(app, sophie, home, school, morning - timedelta(days=3))
    future = add_trip(app, sophie, home, school, morning + timedelta(days=5))
    data = {**MAISON, "street": "20 rue Neuve"}
    assert submit(client, f"/adresses/{home}/modifier", data).status_code == 302
    with app.app_context():
        past_trip, future_trip = db.session.get(Trip, past), db.session.get(Trip, future)
        assert past_trip.from_address.street == "1 rue de la Paix"
        assert past_trip.from_address.archived_at is not None
        assert future_trip.from_address.street == "20 rue Neuve"
        assert future_trip.from_address.archived_at is None
        new_id = future_trip.from_address_id
    assert new_id != home
    page = client.get("/adresses").get_data(as_text=True)
    assert f'href="/adresses/{new_id}"' in page
    assert f'href="/adresses/{home}"' not in page
    assert "20 rue Neuve" in page and "1 rue de la Paix" not in page
    assert client.get(f"/adresses/{home}/modifier").status_code == 404
    assert client.get(f"/adresses/{new_id}/modifier").status_code == 200


def test_edit_leaves_locked_trips_on_the_address_sent_to_the_transporter(
    app, client, sophie, home, school, morning
):
    # No past trip: only a trip 24 h ahead, already sent to the transporter, and one in 5 days.
    locked = add_trip(app, sophie, home, school, morning + timedelta(days=1))
    changeable = add_trip(app, sophie, home, school, morning + timedelta(days=5))
    data = {**MAISON, "street": "20 rue Neuve"}
    assert submit(client, f"/adresses/{home}/modifier", data).status_code == 302
    with app.app_context():
        locked_trip = db.session.get(Trip, locked)
        changeable_trip = db.session.get(Trip, changeable)
        assert locked_trip.from_address_id == home
        assert locked_trip.from_address.street == "1 rue de la Paix"
        assert changeable_trip.from_address.street == "20 rue Neuve"
        assert changeable_trip.from_address_id != home
        assert changeable_trip.from_address.archived_at is None
    [old, new] = stored(app, label="Maison")
    assert (old.id, old.street, old.archived_at is not None) == (home, "1 rue de la Paix", True)
    assert (new.street, new.archived_at) == ("20 rue Neuve", None)
    page = client.get("/adresses").get_data(as_text=True)
    assert "L&#39;adresse « Maison » est modifiée." in page
    assert (
        "1 trajet déjà transmis au transporteur garde l&#39;ancienne adresse : pour le "
        "modifier, contactez l&#39;assistance au 01 23 45 67 89."
    ) in page


def test_edit_tells_how_many_locked_trips_keep_the_old_address(
    app, client, sophie, home, school, morning
):
    add_trip(app, sophie, home, school, morning + timedelta(hours=2))
    add_trip(app, sophie, school, home, morning + timedelta(hours=30))
    add_trip(app, sophie, school, home, morning + timedelta(hours=31), cancelled=True)
    data = {**MAISON, "street": "20 rue Neuve"}
    response = submit(client, f"/adresses/{home}/modifier", data)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "2 trajets déjà transmis au transporteur gardent l&#39;ancienne adresse : pour les "
        "modifier, contactez l&#39;assistance au 01 23 45 67 89."
    ) in page


def test_edit_without_locked_trips_says_nothing_about_them(
    app, client, sophie, home, school, morning
):
    add_trip(app, sophie, home, school, morning - timedelta(days=3))
    add_trip(app, sophie, home, school, morning + timedelta(days=5))
    response = submit(client, f"/adresses/{home}/modifier", {**MAISON, "street": "20 rue Neuve"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "est modifiée" in page
    assert "déjà transmis au transporteur" not in page


def test_edit_form_explains_which_trips_follow_the_change(client, sophie, home):
    page = client.get(f"/adresses/{home}/modifier").get_data(as_text=True)
    assert "Les trajets à venir utiliseront l'adresse modifiée" not in page
    assert "Les trajets prévus dans plus de 48 heures utiliseront l'adresse modifiée" in page
    assert (
        "et ils seront de nouveau envoyés à l'assistance si le lieu change (rue, complément, "
        "code postal ou ville)"
    ) in " ".join(page.split())
    assert "ont déjà été transmis au transporteur : ils gardent l'ancienne adresse" in page
    assert 'href="tel:0123456789">01 23 45 67 89</a>' in page
    assert "transmis au transporteur" not in client.get("/adresses/ajouter").get_data(as_text=True)


# --- « Supprimer » ------------------------------------------------------------------------


def test_delete_asks_for_confirmation(app, client, sophie, home):
    page = client.get(f"/adresses/{home}/supprimer").get_data(as_text=True)
    assert "Voulez-vous vraiment supprimer cette adresse ?" in page
    assert "Supprimer l&#39;adresse" in page
    assert stored(app, id=home)[0].archived_at is None


def test_delete_by_get_changes_nothing(app, client, sophie, home):
    client.get(f"/adresses/{home}/supprimer")
    assert stored(app, id=home)[0].archived_at is None


def test_delete_an_address(app, client, sophie, home):
    response = submit(client, f"/adresses/{home}/supprimer")
    assert response.status_code == 302
    page = client.get("/adresses").get_data(as_text=True)
    assert "L&#39;adresse « Maison » est supprimée." in page
    assert "1 rue de la Paix" not in page
    assert stored(app, id=home)[0].archived_at is not None
    assert client.get(f"/adresses/{home}").status_code == 404
    # The label is free again.
    assert submit(client, "/adresses/ajouter", MAISON).status_code == 302


def test_address_used_by_future_trip_cannot_be_deleted(app, client, sophie, home, school, morning):
    add_trip(app, sophie, home, school, morning + timedelta(days=5))
    page = client.get(f"/adresses/{home}/supprimer").get_data(as_text=True)
    message = (
        "Vous devez supprimer le trajet vers cette destination avant de pouvoir supprimer "
        "l&#39;adresse."
    )
    assert message in page
    assert "Maxime" in page
    assert "Voulez-vous vraiment" not in page
    response = submit(client, f"/adresses/{school}/supprimer")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert stored(app, id=school)[0].archived_at is None
    # The destination is protected too.
    response = submit(client, f"/adresses/{home}/supprimer", form_url=f"/adresses/{school}")
    assert message in response.get_data(as_text=True)
    assert stored(app, id=home)[0].archived_at is None


def test_trip_later_today_still_blocks_deletion(app, client, sophie, home, school, morning):
    add_trip(app, sophie, home, school, morning + timedelta(minutes=15))
    submit(client, f"/adresses/{home}/supprimer", form_url=f"/adresses/{home}")
    assert stored(app, id=home)[0].archived_at is None


LOCKED_HELP = (
    "Ce trajet a déjà été transmis au transporteur : attendez qu'il soit passé ou "
    'contactez l\'assistance au <a href="tel:0123456789">01 23 45 67 89</a>.'
)


def test_deletion_blocked_by_a_locked_trip_says_how_to_get_out(
    app, client, sophie, home, school, morning
):
    add_trip(app, sophie, home, school, morning + timedelta(days=1))
    page = client.get(f"/adresses/{home}/supprimer").get_data(as_text=True)
    assert (
        "Vous devez supprimer le trajet vers cette destination avant de pouvoir supprimer "
        "l&#39;adresse."
    ) in page
    assert LOCKED_HELP in page
    assert submit(client, f"/adresses/{home}/supprimer").status_code == 200
    assert stored(app, id=home)[0].archived_at is None


def test_deletion_blocked_by_a_changeable_trip_does_not_mention_the_transporter(
    app, client, sophie, home, school, morning
):
    add_trip(app, sophie, home, school, morning + timedelta(days=5))
    page = client.get(f"/adresses/{home}/supprimer").get_data(as_text=True)
    assert "Vous devez supprimer le trajet vers cette destination" in page
    assert "transmis au transporteur" not in page


def test_address_can_be_deleted_once_its_trip_is_cancelled(
    app, client, sophie, home, school, morning
):
    add_trip(app, sophie, home, school, morning + timedelta(days=5), cancelled=True)
    response = submit(client, f"/adresses/{home}/supprimer")
    assert response.status_code == 302
    assert stored(app, id=home)[0].archived_at is not None


def test_address_used_by_past_trips_is_deleted_and_history_keeps_it(
    app, client, sophie, home, school, morning
):
    trip = add_trip(app, sophie, home, school, morning - timedelta(minutes=15))
    assert submit(client, f"/adresses/{home}/supprimer").status_code == 302
    assert "1 rue de la Paix" not in client.get("/adresses").get_data(as_text=True)
    with app.app_context():
        past = db.session.get(Trip, trip)
        assert past.from_address.label == "Maison"
        assert past.from_address.one_line == "1 rue de la Paix, 75002 Paris"


def test_refused_deletion_links_to_the_faq(app, client, sophie, home, school, morning):
    add_trip(app, sophie, home, school, morning + timedelta(days=5))
    page = client.get(f"/adresses/{home}/supprimer").get_data(as_text=True)
    with app.test_request_context():
        from flask import url_for

        link = url_for("faq.answer", slug="supprimer-une-adresse")
    assert f'href="{link}"' in page


# --- Details and data export --------------------------------------------------------------


def test_address_page_shows_its_upcoming_trips(app, client, sophie, home, school, morning):
    add_trip(app, sophie, home, school, morning + timedelta(days=5))
    add_trip(app, sophie, school, home, morning - timedelta(days=5))
    page = client.get(f"/adresses/{home}").get_data(as_text=True)
    shown = (morning + timedelta(days=5)).strftime("%d/%m/%Y")
    # Hours are written as on the trip pages.
    assert f"Maxime, le {shown} à 10h00" in page
    assert "10:00" not in page
    assert (morning - timedelta(days=5)).strftime("%d/%m/%Y") not in page
    assert "1 trajet passé l'a utilisée" in page


def test_address_page_counts_past_trips_without_loading_them(
    app, client, sophie, home, school, morning, count_queries
):
    add_trip(app, sophie, home, school, morning + timedelta(days=5))
    add_trip(app, sophie, home, school, morning - timedelta(days=1))
    client.get(f"/adresses/{home}")  # warm-up
    with count_queries() as few:
        page = client.get(f"/adresses/{home}").get_data(as_text=True)
    assert "1 trajet passé l'a utilisée" in page
    with app.app_context():
        maxime = db.session.scalar(sa.select(Member.id).where(Member.first_name == "Maxime"))
        db.session.execute(
            sa.insert(Trip),
            [
                {
                    "account_id": sophie,
                    "child_id": maxime,
                    "trip_date": (morning - timedelta(days=2 + n)).date(),
                    "trip_time": time(8, 0),
                    "purpose": TripPurpose.SCHOOL,
                    "from_address_id": home,
                    "to_address_id": school,
                    "created_at": datetime(2026, 1, 1),
                    "updated_at": datetime(2026, 1, 1),
                }
                for n in range(300)
            ],
        )
        db.session.commit()
    with count_queries() as many:
        page = client.get(f"/adresses/{home}").get_data(as_text=True)
    assert "301 trajets passés l'ont utilisée" in page
    assert many.count == few.count, many.statements
    with app.app_context():
        from app.addresses import services

        address = db.session.get(Address, home)
        ahead = services.trips_ahead(address, morning)
        assert [trip.trip_date for trip in ahead] == [(morning + timedelta(days=5)).date()]


def test_data_export_lists_addresses_deleted_ones_included(app, client, sophie, home):
    submit(client, f"/adresses/{home}/supprimer")
    submit(client, "/adresses/ajouter", COLLEGE)
    response = client.get("/mon-espace/mes-donnees")
    data = json.loads(response.get_data(as_text=True))
    labels = [(a["intitule"], a["type"], a["supprimee_le"] is None) for a in data["adresses"]]
    assert labels == [("Maison", "Domicile", False), ("Collège Victor Hugo", "Collège", True)]
    assert data["adresses"][1]["code_postal"] == "75016"

"""« Mes trajets » over HTTP: calendar, day page, booking, change, cancellation, access.

The clock is frozen on Monday 18 May 2026 at 10:00 in Paris before the demo data is loaded,
so the demo guarantees run from Saturday 16 May to Monday 15 June 2026.
"""

import json
import re
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask import url_for

from app import clock
from app.clock import PARIS
from app.extensions import db
from app.models import Account, Address, AddressKind, Member, Quality, Trip, TripPurpose
from app.text import fold_name
from app.trips import rules, services
from tests.conftest import (
    CSRF_PATTERN,
    Auth,
    csrf_token,
    submit,
)

NOW = datetime(2026, 5, 18, 10, 0, tzinfo=PARIS)
DAY = date(2026, 5, 21)  # Thursday: the FAQ's example day
DAY_URL = "/trajets/2026-05-21"
SOPHIE = "sophie.martin@example.fr"
KARIM = "karim.dupont@example.fr"
EXAM_MESSAGE = (
    "La garantie à mettre en jeu est « Transport aux examens scolaires ». Si vous ne disposez "
    "pas de cette garantie alors cela ne sera pas possible."
)


@pytest.fixture(autouse=True)
def frozen_clock(time_machine):
    """Runs before the demo fixture, so the demo's dates are relative to NOW."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


# --- Helpers --------------------------------------------------------------------------------


def account_id(app, email=SOPHIE) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Account.id).where(Account.email == email))


def child_id(app, first_name) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Member.id).where(Member.first_name == first_name))


ADDRESSES = (
    ("Maison", AddressKind.HOME, "12 rue des Lilas", "75011", "Paris"),
    ("École Jules Ferry", AddressKind.PRIMARY_SCHOOL, "3 place de la Mairie", "75011", "Paris"),
    ("Collège Victor Hugo", AddressKind.MIDDLE_SCHOOL, "40 avenue Parmentier", "75011", "Paris"),
)


def add_addresses(app, email=SOPHIE) -> dict[str, int]:
    """The family's addresses, created directly (the addresses pages are another feature)."""
    owner = account_id(app, email)
    with app.app_context():
        ids = {}
        for label, kind, street, postal_code, city in ADDRESSES:
            address = Address(
                account_id=owner,
                label=label,
                label_key=fold_name(label),
                kind=kind,
                street=street,
                postal_code=postal_code,
                city=city,
            )
            db.session.add(address)
            db.session.flush()
            ids[label] = address.id
        db.session.commit()
        return ids


def bookable_day(days_ahead: int = 3) -> date:
    """The first weekday at least `days_ahead` days from today (Paris) that is no public
    holiday: a day tests can book whatever the date they run on."""
    day = clock.today() + timedelta(days=days_ahead)
    while day.weekday() >= 5 or rules.public_holiday(day) is not None:
        day += timedelta(days=1)
    return day


def add_trip(app, email, child, day, hour, origin, destination, purpose=TripPurpose.SCHOOL):
    """A trip written directly (e.g. one already less than 48 h ahead)."""
    with app.app_context():
        trip = Trip(
            account_id=account_id(app, email),
            child_id=child,
            trip_date=day,
            trip_time=hour,
            purpose=purpose,
            from_address_id=origin,
            to_address_id=destination,
        )
        db.session.add(trip)
        db.session.commit()
        return trip.id


def trips(app) -> list[Trip]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Trip).order_by(Trip.id)))


def form(child, hour, origin, destination, purpose="ecole") -> dict:
    return {
        "child": str(child),
        "hour": hour,
        "from_address": str(origin),
        "to_address": str(destination),
        "purpose": purpose,
    }


def text(response) -> str:
    return response.get_data(as_text=True)


def field_error(page: str, field: str) -> str | None:
    """The error shown next to a form field (the `field` macro's `<id>-erreur`)."""
    match = re.search(rf'<p class="error" id="{field}-erreur">\s*(.*?)\s*</p>', page, re.S)
    return match.group(1).replace("&#39;", "'").replace("&#34;", '"') if match else None


@pytest.fixture
def sophie(app, auth):
    auth.sophie()
    return add_addresses(app)


# --- Calendar -------------------------------------------------------------------------------


def test_calendar_requires_login(client, demo):
    response = client.get("/trajets")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_calendar_links_selectable_days_and_explains_the_others(client, sophie):
    page = text(client.get("/trajets"))
    assert "<caption>Calendrier des trajets, mai 2026</caption>" in page
    assert '<th scope="col">' in page
    # Wednesday 20 May is 58 h ahead at the latest hour: selectable.
    assert 'href="/trajets/2026-05-20"' in page
    # Tuesday 19 May: too soon; Sunday 24 May; Whit Monday 25 May: disabled, no link.
    for day, reason, full in [
        ("2026-05-19", "Délai de 48 h", rules.DELAY_MESSAGE),
        ("2026-05-24", "Dimanche", rules.SUNDAY_MESSAGE),
        (
            "2026-05-25",
            "Férié : Lundi de Pentecôte",
            rules.HOLIDAY_MESSAGE.format(name="Lundi de Pentecôte"),
        ),
        ("2026-05-15", "Passé", rules.PAST_MESSAGE),
    ]:
        assert f'href="/trajets/{day}"' not in page
        full = full.replace("'", "&#39;")
        cells = {
            re.search(r'aria-describedby="raison-([\d-]+)"', body).group(1): (title, body)
            for title, body in re.findall(
                r'<td class="day day-disabled[^"]*" title="([^"]+)">(.*?)</td>', page, re.S
            )
        }
        assert day in cells, day
        title, body = cells[day]
        # The cell's title gives the full reason on hover.
        assert title == full
        # The day is a disabled link described by the full reason (read by screen readers),
        # and the short reason is written in the cell.
        assert re.search(
            rf'<a class="day-link" role="link" aria-disabled="true" '
            rf'aria-describedby="raison-{day}"',
            body,
        ), day
        assert f'<span class="day-reason" aria-hidden="true">{reason}</span>' in body
        assert f'<span class="visually-hidden" id="raison-{day}">{full}</span>' in body
    # Today is marked for everyone.
    assert re.search(r'aria-current="date"><span class="day-number">18</span>', page)
    assert '<span class="day-mark">Aujourd\'hui</span>' in page


def _trip_counts_shown(page: str) -> list[str]:
    return re.findall(r'<span class="day-trips">([^<]+)</span>', page)


def test_calendar_shows_this_familys_trips_never_another_and_today_moves(
    app, client, other_client, auth, sophie, frozen_clock
):
    """A new trip shows in its family's calendar only, and « Aujourd'hui » moves with the
    clock."""
    first = text(client.get("/trajets"))
    assert _trip_counts_shown(first) == []

    ids = sophie
    add_trip(
        app,
        SOPHIE,
        child_id(app, "Maxime"),
        DAY,
        time(8, 30),
        ids["Maison"],
        ids["École Jules Ferry"],
    )
    with_trip = text(client.get("/trajets"))
    assert _trip_counts_shown(with_trip) == ["1 trajet"]

    auth.karim(other_client)
    karim = text(other_client.get("/trajets"))
    assert _trip_counts_shown(karim) == []
    assert "Sophie" not in karim

    frozen_clock.move_to(NOW + timedelta(days=1), tick=False)
    auth.login()  # sessions last 8 h
    tomorrow = text(client.get("/trajets"))
    assert re.search(r'aria-current="date"><span class="day-number">19</span>', tomorrow)
    assert not re.search(r'aria-current="date"><span class="day-number">18</span>', tomorrow)


def test_calendar_content_follows_the_application_root(app, client, sophie):
    page = text(client.get("/trajets", base_url="http://localhost/portail"))
    assert 'href="/portail/trajets/2026-05-20"' in page
    assert 'href="/trajets/2026-05-20"' not in page
    # The months' links too, as Flask's url_for writes them.
    with app.test_request_context("/", base_url="http://localhost/portail"):
        june = url_for("trips.calendar", mois="2026-06")
    assert june == "/portail/trajets?mois=2026-06"
    assert f'href="{june}" rel="next"' in page and f'<li><a href="{june}">' in page
    assert 'href="/trajets?mois=' not in page
    assert 'href="/trajets/2026-05-20"' in text(client.get("/trajets"))


def test_month_name_opens_the_list_of_months(client, sophie):
    page = text(client.get("/trajets"))
    picker = re.search(r'<details class="month-picker">(.*?)</details>', page, re.S).group(1)
    assert "<summary>" in picker and "Mai 2026" in picker
    assert 'href="/trajets?mois=2026-06"' in picker
    assert 'href="/trajets?mois=2027-04"' in picker
    assert 'rel="next"' in page and 'rel="prev"' in page
    june = text(client.get("/trajets?mois=2026-06"))
    assert "<caption>Calendrier des trajets, juin 2026</caption>" in june
    # The guarantees end on Monday 15 June.
    assert 'href="/trajets/2026-06-15"' in june
    assert 'href="/trajets/2026-06-16"' not in june
    assert '<span class="day-reason" aria-hidden="true">Hors garantie</span><span ' in june
    assert 'id="raison-2026-06-16">Ce jour est en dehors de la période de vos garanties' in june


def test_calendar_legend_links_to_the_faq_answer(app, client, sophie):
    page = text(client.get("/trajets"))
    legend = re.search(r'<section class="legend".*?</section>', page, re.S).group(0)
    assert "Pourquoi un jour n'est-il pas sélectionnable ?" in legend
    with app.test_request_context():
        from flask import url_for

        link = url_for("faq.answer", slug="jours-non-selectionnables")
    assert link == "/faq/jours-non-selectionnables"
    assert f'href="{link}"' in legend


def test_month_outside_every_guarantee_gives_the_two_possibilities(client, sophie):
    page = text(client.get("/trajets?mois=2026-07"))
    assert "Deux possibilités" in page
    assert "nous vous invitons dans ce cas à contacter" in page
    assert "01 23 45 67 89" in page
    assert 'href="/trajets?mois=2026-08"' in page
    assert 'href="/trajets/2026-07-' not in page
    # A month with bookable days does not show them.
    assert "Deux possibilités" not in text(client.get("/trajets"))


def test_month_without_a_selectable_day_gives_the_two_possibilities(
    client, auth, sophie, frozen_clock
):
    # Friday 29 May 2026, guarantees until 15 June: the 29th and 30th are less than 48 h
    # ahead and the 31st is a Sunday; no day of May is outside the guarantee, none selectable.
    frozen_clock.move_to(datetime(2026, 5, 29, 10, 0, tzinfo=PARIS), tick=False)
    auth.login()
    page = text(client.get("/trajets"))
    assert "<caption>Calendrier des trajets, mai 2026</caption>" in page
    assert 'href="/trajets/2026-05-' not in page
    assert "Deux possibilités" in page
    assert 'href="tel:0123456789">01 23 45 67 89</a>' in page
    help_box = re.search(r'<div class="notice".*?</div>', page, re.S).group(0)
    assert '<a href="/trajets?mois=2026-06">voir juin 2026</a>' in help_box
    # June has days to choose: no help there; a past month gives no help either.
    assert "Deux possibilités" not in text(client.get("/trajets?mois=2026-06"))
    assert "Deux possibilités" not in text(client.get("/trajets?mois=2026-04"))


def test_next_month_link_skips_months_without_a_selectable_day(
    app, client, auth, sophie, frozen_clock
):
    # A second file with « Conduite à l'école » in September: July's help points to it.
    from app.models import AssistanceFile, Guarantee, GuaranteeKind

    with app.app_context():
        first = db.session.scalar(
            sa.select(AssistanceFile).where(AssistanceFile.member_number == "AB123456")
        )
        september = AssistanceFile(
            insurer_id=first.insurer_id, member_number="AB123456", number="SEPT-2026"
        )
        september.guarantees.append(
            Guarantee(
                kind=GuaranteeKind.SCHOOL, starts_on=date(2026, 9, 1), ends_on=date(2026, 9, 30)
            )
        )
        db.session.add(september)
        db.session.commit()
    page = text(client.get("/trajets?mois=2026-07"))
    assert '<a href="/trajets?mois=2026-09">voir septembre 2026</a>' in page


def test_account_without_any_guarantee_is_told_to_call_the_assistance(app, client, sophie):
    from app.models import Guarantee

    with app.app_context():
        db.session.execute(sa.delete(Guarantee))
        db.session.commit()
    for url in ("/trajets", "/trajets?mois=2026-07", DAY_URL):
        page = text(client.get(url))
        assert "aucune garantie de transport n'est ouverte sur votre dossier" in page, url
        assert "contacter l'assistance" in page, url
        assert 'href="tel:0123456789">01 23 45 67 89</a>' in page, url
        assert "votre période de garantie est dépassée" not in page, url
        assert "Deux possibilités" not in page, url


@pytest.mark.parametrize(
    "url",
    [
        "/trajets?mois=0001-01",
        "/trajets?mois=2026-13",
        "/trajets?mois=2026-5",
        "/trajets?mois=mai",
        "/trajets/21-05-2026",
        "/trajets/2026-5-21",
        "/trajets/0001-01-01",
        "/trajets/2026-02-30",
        "/trajets/trajet/999999",
        "/trajets/trajet/999999/modifier",
        "/trajets/trajet/999999/annuler",
    ],
)
def test_malformed_dates_and_unknown_trips_give_404(client, sophie, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "Page introuvable" in text(response)


# --- Day page and booking -------------------------------------------------------------------


def test_day_page_shows_the_form_with_its_labels(client, sophie):
    page = text(client.get(DAY_URL))
    assert "Trajets du jeudi 21 mai 2026" in page
    assert "Ajouter un trajet" in page
    for label in ("Enfant", "Heure", "Départ", "Destination", "Motif"):
        assert re.search(rf"<label for=\"\w+\">{label}</label>", page), label
    # The hour is the browser's time control, from 6h00 to 20h00 by quarter hours.
    assert re.search(
        r'<input aria-describedby="hour-aide" id="hour" max="20:00" min="06:00" name="hour" '
        r'step="900" type="time" value="">',
        page,
    )
    assert '<option value="06:00"' not in page
    assert ">Maxime</option>" in page and ">Franck</option>" in page
    assert ">Lina</option>" not in page
    assert '<option value="ecole">École</option>' in page
    assert '<option value="examen">Examen</option>' in page


def _trip_form_token(page: str) -> str:
    form = page[page.index('<form method="post" class="stacked"') :]
    return CSRF_PATTERN.search(form).group(1)


def test_day_page_gives_each_browser_its_own_token_and_shows_new_trips_and_locks(
    app, client, sophie, frozen_clock
):
    """Two browsers of the same account get their own tokens; a trip booked in one shows
    in the other, and is locked 48 h before it."""
    first = text(client.get(DAY_URL))
    second_browser = app.test_client()
    Auth(app, second_browser).login()
    other = text(second_browser.get(DAY_URL))
    tokens = {_trip_form_token(first), _trip_form_token(other)}
    assert len(tokens) == 2
    assert CSRF_PATTERN.findall(first) == [_trip_form_token(first)] * 2

    maxime = child_id(app, "Maxime")
    booked = submit(
        client, DAY_URL, form(maxime, "08:30", sophie["Maison"], sophie["École Jules Ferry"])
    )
    assert booked.status_code == 302
    page = text(second_browser.get(DAY_URL))
    assert re.search(r'<tr id="trajet-\d+">', page) and "Maxime" in page
    assert "Envoyé au transporteur" not in page

    frozen_clock.move_to(NOW + timedelta(hours=23), tick=False)  # 47 h 30 before the trip
    Auth(app, second_browser).login()  # sessions last 8 h
    locked = text(second_browser.get(DAY_URL))
    assert "Envoyé au transporteur" in locked


def test_a_sent_forms_errors_do_not_show_on_the_next_page(app, client, sophie):
    page = text(submit(client, DAY_URL, {"child": "", "hour": "99:99"}))
    assert field_error(page, "hour") is not None
    assert field_error(text(client.get(DAY_URL)), "hour") is None


def test_the_form_lists_children_by_age_then_addresses_by_label(app, client, sophie):
    with app.app_context():
        children = db.session.scalars(
            sa.select(Member.first_name)
            .where(Member.member_number == "AB123456", Member.quality == Quality.ENFANT)
            .order_by(Member.birth_date)
        ).all()
    page = text(client.get(DAY_URL))
    child_select = page[
        page.index('id="child"') : page.index("</select>", page.index('id="child"'))
    ]
    assert re.findall(r'<option value="\d+">([^<]+)</option>', child_select) == children
    origin = page[page.index('id="from_address"') :]
    origin = origin[: origin.index("</select>")]
    labels = re.findall(r'<option value="\d+">([^<(]+) \(', origin)
    assert labels == ["Collège Victor Hugo", "École Jules Ferry", "Maison"]


def test_the_time_control_starts_48_hours_ahead_on_a_partly_open_day(client, sophie):
    page = text(client.get("/trajets/2026-05-20"))
    assert re.search(r'<input [^>]*id="hour" max="20:00" min="10:00" name="hour"', page)
    assert "au plus tôt à 10h00" in page
    # The control's own help, read with it, says where it starts.
    help = re.search(r'<p class="help" id="hour-aide">([^<]*)</p>', page).group(1)
    assert help == "Ce jour-là, de 10h00 à 20h00, par quart d&#39;heure (délai de 48 h)."
    # A day clear of the delay starts at 6h00.
    assert re.search(r'id="hour" max="20:00" min="06:00"', text(client.get(DAY_URL)))


def test_sophie_books_maxime_then_franck_then_an_exam(app, client, sophie):
    maxime, franck = child_id(app, "Maxime"), child_id(app, "Franck")
    home, primary, college = (
        sophie["Maison"],
        sophie["École Jules Ferry"],
        sophie["Collège Victor Hugo"],
    )
    response = submit(client, DAY_URL, form(maxime, "08:30", home, college))
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Trajet ajouté : Maxime, jeudi 21 mai 2026 à 8h30" in page

    response = submit(client, DAY_URL, form(franck, "09:30", home, primary))
    assert response.status_code == 302
    page = text(client.get(DAY_URL))
    assert "Trajet ajouté : Franck, jeudi 21 mai 2026 à 9h30" in page
    table = page[page.index('<table class="trips">') :]
    assert table.index("8h30") < table.index("9h30")
    assert "Collège Victor Hugo" in page and "École Jules Ferry" in page

    response = submit(client, "/trajets/2026-05-22", form(maxime, "13:45", home, college, "examen"))
    assert response.status_code == 302

    saved = trips(app)
    assert [(t.child_id, t.trip_date, t.trip_time, t.purpose) for t in saved] == [
        (maxime, DAY, time(8, 30), TripPurpose.SCHOOL),
        (franck, DAY, time(9, 30), TripPurpose.SCHOOL),
        (maxime, date(2026, 5, 22), time(13, 45), TripPurpose.EXAM),
    ]
    assert saved[0].from_address_id == home and saved[0].to_address_id == college

    listing = text(client.get("/trajets/mes-trajets"))
    upcoming = listing[listing.index("À venir") : listing.index("Passés")]
    assert upcoming.count('<tr id="trajet-') == 3
    assert "Examen" in upcoming
    calendar = text(client.get("/trajets"))
    assert "2 trajets" in calendar and "1 trajet<" in calendar


def test_karim_is_refused_an_exam_trip_with_the_exact_message(app, client, auth):
    auth.karim()
    addresses = add_addresses(app, KARIM)
    lina = child_id(app, "Lina")
    response = submit(
        client,
        DAY_URL,
        form(lina, "08:00", addresses["Maison"], addresses["Collège Victor Hugo"], "examen"),
    )
    assert response.status_code == 200
    assert field_error(text(response), "purpose") == EXAM_MESSAGE
    assert trips(app) == []
    # The same trip to school is accepted.
    response = submit(
        client,
        DAY_URL,
        form(lina, "08:00", addresses["Maison"], addresses["Collège Victor Hugo"]),
    )
    assert response.status_code == 302
    assert len(trips(app)) == 1


def test_double_submission_creates_one_trip(app, client, sophie):
    maxime = child_id(app, "Maxime")
    token = csrf_token(client, DAY_URL)
    data = {
        "csrf_token": token,
        **form(maxime, "08:30", sophie["Maison"], sophie["École Jules Ferry"]),
    }
    first = client.post(DAY_URL, data=data)
    second = client.post(DAY_URL, data=data)
    assert first.status_code == second.status_code == 302
    assert len(trips(app)) == 1
    trip_id = trips(app)[0].id
    assert second.headers["Location"].endswith(f"#trajet-{trip_id}")
    page = text(client.get(DAY_URL))
    assert "Ce trajet est déjà enregistré" in page
    assert page.count('<tr id="trajet-') == 1


def test_same_child_same_hour_refused_two_children_accepted(app, client, sophie):
    maxime, franck = child_id(app, "Maxime"), child_id(app, "Franck")
    home, primary, college = (
        sophie["Maison"],
        sophie["École Jules Ferry"],
        sophie["Collège Victor Hugo"],
    )
    assert submit(client, DAY_URL, form(maxime, "08:30", home, college)).status_code == 302
    response = submit(client, DAY_URL, form(maxime, "08:30", home, primary))
    assert response.status_code == 200
    assert field_error(text(response), "hour") == (
        "Maxime a déjà un trajet le 21/05/2026 à 8h30. Choisissez une autre heure."
    )
    assert submit(client, DAY_URL, form(franck, "08:30", home, primary)).status_code == 302
    assert len(trips(app)) == 2


def test_race_on_the_same_hour_is_settled_by_the_unique_index(app, client, sophie, monkeypatch):
    """Two requests checked at once: the database refuses the second, the page explains."""
    maxime = child_id(app, "Maxime")
    add_trip(app, SOPHIE, maxime, DAY, time(8, 30), sophie["Maison"], sophie["École Jules Ferry"])
    # Make both checks miss the trip already written, as a concurrent request would.
    monkeypatch.setattr(services, "busy_slots", lambda *args, **kwargs: set())
    monkeypatch.setattr(services, "trips_of_day", lambda *args, **kwargs: [])
    real_lookup = services.live_trip_at
    calls = []

    def first_lookup_misses(*args):
        calls.append(args)
        return None if len(calls) == 1 else real_lookup(*args)

    monkeypatch.setattr(services, "live_trip_at", first_lookup_misses)
    response = submit(
        client, DAY_URL, form(maxime, "08:30", sophie["Maison"], sophie["Collège Victor Hugo"])
    )
    assert response.status_code == 200
    assert field_error(text(response), "hour") == (
        "Maxime a déjà un trajet à cette heure-là. Choisissez une autre heure."
    )
    assert len(trips(app)) == 1 and len(calls) == 2


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/trajets/2026-05-24", "Aucun trajet n&#39;est organisé le dimanche."),
        (
            "/trajets/2026-05-25",
            "Aucun trajet n&#39;est organisé les jours fériés (Lundi de Pentecôte).",
        ),
        (
            "/trajets/2026-05-19",
            "Nous avons un délai de 48h entre la réception de votre demande et la mise en œuvre "
            "de la prestation auprès d&#39;un transporteur.",
        ),
        ("/trajets/2026-05-11", "Ce jour est passé"),
        ("/trajets/2026-07-01", "Deux possibilités"),
    ],
)
def test_a_day_that_cannot_be_booked_shows_why_and_no_form(app, client, sophie, path, message):
    page = text(client.get(path))
    assert message in page
    assert "Ajouter le trajet" not in page
    # A forged submission writes nothing.
    maxime = child_id(app, "Maxime")
    response = submit(
        client, path, form(maxime, "12:00", sophie["Maison"], sophie["Collège Victor Hugo"])
    )
    assert response.status_code == 200
    assert trips(app) == []


def test_outside_guarantee_day_gives_the_phone_and_next_month(client, sophie):
    page = text(client.get("/trajets/2026-07-01"))
    assert "01 23 45 67 89" in page
    assert 'href="/trajets?mois=2026-08"' in page


def _other_accounts_ids(app, auth):
    """Lina (Karim's child) and one of Karim's addresses: ids Sophie must not use."""
    auth.create_account("CD789012", "Karim", email=KARIM)
    karim_addresses = add_addresses(app, KARIM)
    return child_id(app, "Lina"), karim_addresses["Maison"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"hour": "25:00"}, "hour", rules.HOUR_MESSAGE),
        ({"hour": "08:10"}, "hour", rules.HOUR_MESSAGE),
        ({"hour": "05:45"}, "hour", rules.HOUR_MESSAGE),
        ({"hour": "08:30:15"}, "hour", rules.HOUR_MESSAGE),
        ({"hour": "  "}, "hour", "Ce champ est obligatoire."),
        ({"hour": ""}, "hour", "Ce champ est obligatoire."),
        ({"hour": "09:00"}, "hour", rules.DELAY_MESSAGE),
        ({"child": "lina"}, "child", rules.CHILD_MESSAGE),
        ({"child": "abc"}, "child", rules.CHILD_MESSAGE),
        ({"child": "１"}, "child", rules.CHILD_MESSAGE),
        ({"from_address": "karim"}, "from_address", rules.ADDRESS_MESSAGE),
        ({"to_address": "karim"}, "to_address", rules.ADDRESS_MESSAGE),
        ({"to_address": "same"}, "to_address", "La destination doit être différente du départ."),
        ({"purpose": "taxi"}, "purpose", rules.PURPOSE_MESSAGE),
        ({"purpose": ""}, "purpose", "Ce champ est obligatoire."),
        ({"child": "x" * 5000}, "child", rules.CHILD_MESSAGE),
    ],
)
def test_bad_input_is_refused_next_to_the_field(app, client, auth, sophie, changes, field, message):
    lina, karim_home = _other_accounts_ids(app, auth)
    data = form(child_id(app, "Maxime"), "08:30", sophie["Maison"], sophie["Collège Victor Hugo"])
    substitutes = {"lina": str(lina), "karim": str(karim_home), "same": data["from_address"]}
    data.update({key: substitutes.get(value, value) for key, value in changes.items()})
    day_url = "/trajets/2026-05-20" if changes.get("hour") == "09:00" else DAY_URL
    response = submit(client, day_url, data)
    assert response.status_code == 200
    page = text(response)
    assert field_error(page, field) == message
    assert 'aria-invalid="true"' in page
    assert trips(app) == []


# --- « Mes trajets », change and cancellation -----------------------------------------------


def test_cancel_a_trip_more_than_48_hours_ahead(app, client, sophie):
    maxime = child_id(app, "Maxime")
    trip_id = add_trip(
        app, SOPHIE, maxime, DAY, time(8, 30), sophie["Maison"], sophie["Collège Victor Hugo"]
    )
    page = text(client.get(f"/trajets/trajet/{trip_id}/annuler"))
    assert "Voulez-vous vraiment annuler le trajet de Maxime" in page
    assert trips(app)[0].cancelled_at is None  # a GET changes nothing
    response = submit(client, f"/trajets/trajet/{trip_id}/annuler")
    assert response.status_code == 302
    assert trips(app)[0].cancelled_at is not None
    listing = text(client.get("/trajets/mes-trajets"))
    assert "Trajet annulé : Maxime, jeudi 21 mai 2026 à 8h30" in listing
    assert "Aucun trajet à venir" in listing
    assert "Annulés" in listing
    # Cancelling twice changes nothing and says why.
    again = submit(client, f"/trajets/trajet/{trip_id}/annuler", form_url="/trajets/mes-trajets")
    assert again.status_code == 409
    assert "Ce trajet est déjà annulé" in text(again)
    # The hour is free again for Maxime.
    response = submit(
        client, DAY_URL, form(maxime, "08:30", sophie["Maison"], sophie["Collège Victor Hugo"])
    )
    assert response.status_code == 302
    assert len(trips(app)) == 2


def test_a_trip_less_than_48_hours_ahead_is_locked(app, client, auth, sophie, frozen_clock):
    maxime = child_id(app, "Maxime")
    trip_id = add_trip(
        app, SOPHIE, maxime, DAY, time(8, 30), sophie["Maison"], sophie["Collège Victor Hugo"]
    )
    assert f"/trajets/trajet/{trip_id}/annuler" in text(client.get("/trajets/mes-trajets"))
    # Tuesday 19 May at 8:31: 47 h 59 min before the trip.
    frozen_clock.move_to(datetime(2026, 5, 19, 8, 31, tzinfo=PARIS), tick=False)
    auth.login()  # the session of the day before has expired
    listing = text(client.get("/trajets/mes-trajets"))
    assert f"/trajets/trajet/{trip_id}/annuler" not in listing
    assert "Envoyé au transporteur" in listing
    page = text(client.get(f"/trajets/trajet/{trip_id}"))
    assert "il a été envoyé au transporteur" in page and "01 23 45 67 89" in page
    assert f"/trajets/trajet/{trip_id}/modifier" not in page
    edit_page = text(client.get(f"/trajets/trajet/{trip_id}/modifier"))
    assert "Enregistrer les modifications" not in edit_page
    # Forged change and cancellation are refused, nothing is written.
    response = submit(
        client,
        f"/trajets/trajet/{trip_id}/modifier",
        {
            "day": "2026-05-22",
            **form(maxime, "10:00", sophie["Maison"], sophie["École Jules Ferry"]),
        },
        form_url="/trajets/mes-trajets",
    )
    assert response.status_code == 409
    assert "envoyé au transporteur" in text(response)
    response = submit(client, f"/trajets/trajet/{trip_id}/annuler", form_url="/trajets/mes-trajets")
    assert response.status_code == 409
    [trip] = trips(app)
    assert trip.cancelled_at is None
    assert (trip.trip_date, trip.trip_time, trip.to_address_id) == (
        DAY,
        time(8, 30),
        sophie["Collège Victor Hugo"],
    )


def test_change_a_trip(app, client, sophie):
    maxime, franck = child_id(app, "Maxime"), child_id(app, "Franck")
    trip_id = add_trip(
        app, SOPHIE, maxime, DAY, time(8, 30), sophie["Maison"], sophie["Collège Victor Hugo"]
    )
    add_trip(
        app, SOPHIE, maxime, DAY, time(16, 30), sophie["Collège Victor Hugo"], sophie["Maison"]
    )
    url = f"/trajets/trajet/{trip_id}/modifier"
    page = text(client.get(url))
    assert 'value="2026-05-21"' in page
    assert 'name="hour" step="900" type="time" value="08:30"' in page
    # The child's other trip holds 16:30.
    response = submit(
        client,
        url,
        {
            "day": "2026-05-21",
            **form(maxime, "16:30", sophie["Maison"], sophie["École Jules Ferry"]),
        },
    )
    assert field_error(text(response), "hour").startswith("Maxime a déjà un trajet le 21/05/2026")
    response = submit(
        client,
        url,
        {
            "day": "24/05/2026",
            **form(maxime, "10:00", sophie["Maison"], sophie["École Jules Ferry"]),
        },
    )
    assert field_error(text(response), "day") == "Aucun trajet n'est organisé le dimanche."
    response = submit(
        client,
        url,
        {
            "day": "2026-5-22",
            **form(maxime, "10:00", sophie["Maison"], sophie["École Jules Ferry"]),
        },
    )
    assert field_error(text(response), "day") == "Indiquez une date valide, par exemple 21/05/2026."
    response = submit(
        client,
        url,
        {
            "day": "0001-01-01",
            **form(maxime, "10:00", sophie["Maison"], sophie["École Jules Ferry"]),
        },
    )
    assert field_error(text(response), "day") == "Indiquez une date valide, par exemple 21/05/2026."
    assert trips(app)[0].trip_time == time(8, 30)

    response = submit(
        client,
        url,
        {
            "day": "22/05/2026",
            **form(franck, "10:00", sophie["Maison"], sophie["École Jules Ferry"]),
        },
    )
    assert response.status_code == 302
    trip = trips(app)[0]
    assert (trip.child_id, trip.trip_date, trip.trip_time, trip.to_address_id) == (
        franck,
        date(2026, 5, 22),
        time(10, 0),
        sophie["École Jules Ferry"],
    )
    assert "Trajet modifié : Franck, vendredi 22 mai 2026 à 10h00" in text(
        client.get(response.headers["Location"])
    )


def test_the_change_form_shows_the_trip_and_then_only_what_was_posted(app, client, sophie):
    maxime = child_id(app, "Maxime")
    origin, destination = sophie["Maison"], sophie["Collège Victor Hugo"]
    trip_id = add_trip(app, SOPHIE, maxime, DAY, time(8, 30), origin, destination)
    url = f"/trajets/trajet/{trip_id}/modifier"
    page = text(client.get(url))
    for name, value in form(maxime, "08:30", origin, destination).items():
        select = re.search(rf'<select[^>]* name="{name}".*?</select>', page, re.S)
        if select:
            assert f'<option selected value="{value}">' in select.group(0), name
    # A form posted without its hour does not fall back on the booked one.
    posted = {"day": "2026-05-21", **form(maxime, "", origin, destination)}
    del posted["hour"]
    response = submit(client, url, posted)
    assert field_error(text(response), "hour") == "Ce champ est obligatoire."
    assert 'name="hour" step="900" type="time" value=""' in text(response)
    assert trips(app)[0].trip_time == time(8, 30)


def test_another_accounts_trip_is_not_found(app, client, other_client, auth, sophie):
    maxime = child_id(app, "Maxime")
    trip_id = add_trip(
        app, SOPHIE, maxime, DAY, time(8, 30), sophie["Maison"], sophie["Collège Victor Hugo"]
    )
    auth.karim(other_client)
    for url in (
        f"/trajets/trajet/{trip_id}",
        f"/trajets/trajet/{trip_id}/modifier",
        f"/trajets/trajet/{trip_id}/annuler",
    ):
        assert other_client.get(url).status_code == 404
    token = csrf_token(other_client, "/trajets")
    assert (
        other_client.post(
            f"/trajets/trajet/{trip_id}/annuler", data={"csrf_token": token}
        ).status_code
        == 404
    )
    response = other_client.post(
        f"/trajets/trajet/{trip_id}/modifier",
        data={"csrf_token": token, "day": "2026-05-22", **form(maxime, "10:00", 1, 2)},
    )
    assert response.status_code == 404
    assert trips(app)[0].cancelled_at is None
    # Each page is rendered for Sophie first: nothing of hers may be kept for the next visitor.
    for url in ("/trajets/mes-trajets", DAY_URL):
        assert "Maxime" in text(client.get(url))
        other = other_client.get(url)
        assert other.status_code == 200
        assert "Maxime" not in text(other) and "Collège Victor Hugo" not in text(other)


def test_cancel_needs_a_post_with_csrf(app, client, sophie):
    maxime = child_id(app, "Maxime")
    trip_id = add_trip(
        app, SOPHIE, maxime, DAY, time(8, 30), sophie["Maison"], sophie["Collège Victor Hugo"]
    )
    response = client.post(f"/trajets/trajet/{trip_id}/annuler")
    assert response.status_code == 400
    assert trips(app)[0].cancelled_at is None


def test_past_trips_are_listed_most_recent_first(app, client, auth, sophie, frozen_clock):
    maxime = child_id(app, "Maxime")
    home, college = sophie["Maison"], sophie["Collège Victor Hugo"]
    add_trip(app, SOPHIE, maxime, date(2026, 5, 20), time(8, 0), home, college)
    add_trip(app, SOPHIE, maxime, date(2026, 5, 21), time(8, 0), home, college)
    frozen_clock.move_to(datetime(2026, 5, 22, 9, 0, tzinfo=PARIS), tick=False)
    auth.login()
    listing = text(client.get("/trajets/mes-trajets"))
    past = listing[listing.index("<h2>Passés</h2>") :]
    assert past.index("jeudi 21 mai 2026") < past.index("mercredi 20 mai 2026")
    assert "Aucun trajet à venir" in listing


def test_export_holds_the_trips(app, client, sophie):
    maxime = child_id(app, "Maxime")
    add_trip(app, SOPHIE, maxime, DAY, time(8, 30), sophie["Maison"], sophie["Collège Victor Hugo"])
    data = json.loads(client.get("/mon-espace/mes-donnees").get_data())
    [trip] = data["trajets"]
    assert trip["enfant"] == "Maxime MARTIN"
    assert (trip["date"], trip["heure"], trip["motif"]) == ("2026-05-21", "08:30", "École")
    assert trip["destination"] == {
        "intitule": "Collège Victor Hugo",
        "adresse": "40 avenue Parmentier, 75011 Paris",
    }
    assert trip["annule_le"] is None


# --- A fixed number of queries --------------------------------------------------------------


def _add_many_trips(app, addresses, count):
    """`count` trips spread over May and June for both children (distinct child/day/hour)."""
    children = [child_id(app, "Maxime"), child_id(app, "Franck")]
    owner = account_id(app)
    with app.app_context():
        rows = []
        day = date(2026, 5, 2)
        while len(rows) < count:
            for hour in rules.HOURS[:25]:
                for child in children:
                    if len(rows) < count:
                        rows.append(
                            {
                                "account_id": owner,
                                "child_id": child,
                                "trip_date": day,
                                "trip_time": hour,
                                "purpose": TripPurpose.SCHOOL,
                                "from_address_id": addresses["Maison"],
                                "to_address_id": addresses["Collège Victor Hugo"],
                                "created_at": datetime(2026, 5, 1),
                                "updated_at": datetime(2026, 5, 1),
                            }
                        )
            day += timedelta(days=1)
        db.session.execute(sa.insert(Trip), rows)
        db.session.commit()


def test_my_trips_lists_the_50_most_recent_past_trips_with_a_note(app, client, sophie):
    _add_many_trips(app, sophie, 60)  # 50 on Saturday 2 May, 10 on Sunday 3 May
    maxime = child_id(app, "Maxime")
    home, college = sophie["Maison"], sophie["Collège Victor Hugo"]
    add_trip(app, SOPHIE, maxime, date(2026, 5, 18), time(8, 0), home, college)  # 2 h ago
    add_trip(app, SOPHIE, maxime, DAY, time(8, 0), home, college)  # to come
    listing = text(client.get("/trajets/mes-trajets"))
    upcoming = listing[listing.index("<h2>À venir</h2>") : listing.index("<h2>Passés</h2>")]
    past = listing[listing.index("<h2>Passés</h2>") :]
    assert upcoming.count('<tr id="trajet-') == 1
    assert past.count('<tr id="trajet-') == 50
    note = re.sub(r"\s+", " ", past)
    assert "Les 50 trajets passés les plus récents sont affichés, sur 61 au total." in note
    assert 'href="/mon-espace/mes-donnees"' in past
    assert past.index("lundi 18 mai 2026") < past.index("dimanche 3 mai 2026")
    assert past.index("dimanche 3 mai 2026") < past.index("samedi 2 mai 2026")
    assert past.count(">dimanche 3 mai 2026<") == 10
    assert past.count(">samedi 2 mai 2026<") == 39


def test_my_trips_shows_every_past_trip_under_the_limit_without_a_note(app, client, sophie):
    _add_many_trips(app, sophie, 3)
    listing = text(client.get("/trajets/mes-trajets"))
    past = listing[listing.index("<h2>Passés</h2>") :]
    assert past.count('<tr id="trajet-') == 3
    assert "les plus récents sont affichés" not in past


@pytest.mark.parametrize(
    "url",
    ["/trajets", "/trajets?mois=2026-06", "/trajets?mois=2026-07", "/trajets/mes-trajets", DAY_URL],
)
def test_pages_run_the_same_queries_with_1_or_500_trips(app, client, sophie, count_queries, url):
    _add_many_trips(app, sophie, 1)
    client.get(url)  # warm-up
    with count_queries() as few:
        assert client.get(url).status_code == 200
    with app.app_context():
        db.session.execute(sa.delete(Trip))
        db.session.commit()
    _add_many_trips(app, sophie, 500)
    assert len(trips(app)) == 500
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert many.count == few.count, many.statements
    # The identity (with the guarantees), then the page's own reads: each round trip costs
    # the most under load, so the count is pinned.
    assert few.count == QUERIES_PER_PAGE[url], few.statements


QUERIES_PER_PAGE = {
    "/trajets": 2,  # trip counts of the month
    "/trajets?mois=2026-06": 2,
    "/trajets?mois=2026-07": 2,  # outside every guarantee: the phone came with the identity
    "/trajets/mes-trajets": 3,  # upcoming and cancelled trips; the latest past ones
    DAY_URL: 3,  # the day's trips; the children and the addresses
}


def test_covers_are_read_when_the_identity_did_not_read_them(app, sophie):
    from app.auth_session import MemberRef

    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.member_number == "AB123456"))
        unread = MemberRef(member.id, member.insurer_id, member.member_number)
        assert unread.guarantees is None and not unread.read_by_identity
        assert services.covers_of(unread) == services.covers_of(member) != []
        assert services.assistance_phone(unread) == services.assistance_phone(member)
        assert services.assistance_phone(member) == "01 23 45 67 89"

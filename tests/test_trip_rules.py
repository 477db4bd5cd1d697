"""Trip rules with a frozen clock: 48 h delay across DST, guarantees, Sundays, holidays."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from app import clock
from app.clock import PARIS
from app.models import GuaranteeKind, TripPurpose
from app.trips import rules
from app.trips.rules import Booking, Cover, DayState

SCHOOL, EXAM = GuaranteeKind.SCHOOL, GuaranteeKind.EXAM
MAXIME, FRANCK, LINA = 11, 12, 21
HOME, SCHOOL_ADDRESS, OTHER_ACCOUNT_ADDRESS = 101, 102, 999
WHOLE_2026 = (
    Cover(SCHOOL, date(2026, 1, 1), date(2026, 12, 31)),
    Cover(EXAM, date(2026, 1, 1), date(2026, 12, 31)),
)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def frozen(time_machine):
    """Freeze the application clock at a Paris time and return `clock.now()`."""

    def freeze(moment: datetime) -> datetime:
        time_machine.move_to(moment, tick=False)
        return clock.now()

    return freeze


def booking(day, hour, *, child=MAXIME, origin=HOME, destination=SCHOOL_ADDRESS, purpose=None):
    return Booking(
        child_id=child,
        day=day,
        hour=hour,
        from_address_id=origin,
        to_address_id=destination,
        purpose=purpose or TripPurpose.SCHOOL,
    )


def problems(b: Booking, now: datetime, covers=WHOLE_2026, busy=()):
    return rules.booking_problems(
        b,
        now=now,
        covers=covers,
        child_ids={MAXIME, FRANCK},
        address_ids={HOME, SCHOOL_ADDRESS},
        busy=busy,
        child_names={MAXIME: "Maxime", FRANCK: "Franck"},
    )


# --- The 48 h delay -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "day", "hour", "accepted"),
    [
        # Exactly 48 h ahead is accepted, one minute less is not.
        (paris(2026, 5, 18, 8, 30), date(2026, 5, 20), time(8, 30), True),
        (paris(2026, 5, 18, 8, 31), date(2026, 5, 20), time(8, 30), False),
        (paris(2026, 5, 18, 8, 30, 0, 1), date(2026, 5, 20), time(8, 30), False),
        (paris(2026, 5, 18, 8, 15), date(2026, 5, 20), time(8, 30), True),
        # Spring forward (Sunday 29 March 2026, 2:00 -> 3:00): the night lasts an hour less,
        # so Saturday 8:30 -> Monday 8:30 is only 47 real hours.
        (paris(2026, 3, 28, 8, 30), date(2026, 3, 30), time(8, 30), False),
        (paris(2026, 3, 28, 8, 30), date(2026, 3, 30), time(9, 15), False),
        (paris(2026, 3, 28, 8, 30), date(2026, 3, 30), time(9, 30), True),
        # Fall back (Sunday 25 October 2026, 3:00 -> 2:00): the night lasts an hour more,
        # so Saturday 8:30 -> Monday 7:30 is already 48 real hours.
        (paris(2026, 10, 24, 8, 30), date(2026, 10, 26), time(7, 30), True),
        (paris(2026, 10, 24, 8, 30), date(2026, 10, 26), time(7, 15), False),
        (paris(2026, 10, 24, 8, 31), date(2026, 10, 26), time(7, 30), False),
    ],
)
def test_trip_needs_48_hours_of_real_time(frozen, now, day, hour, accepted):
    now = frozen(now)
    found = problems(booking(day, hour), now)
    if accepted:
        assert found == {}
    else:
        assert found == {"hour": rules.DELAY_MESSAGE}
        assert rules.DELAY_MESSAGE == (
            "Nous avons un délai de 48h entre la réception de votre demande et la mise en "
            "œuvre de la prestation auprès d'un transporteur."
        )


def test_clock_is_read_in_paris_whatever_the_machine_zone(frozen):
    now = frozen(datetime(2026, 3, 28, 7, 30, tzinfo=UTC))
    assert now.utcoffset().total_seconds() == 3600
    assert now.hour == 8 and now.minute == 30


def test_locked_trips_are_those_less_than_48_hours_ahead(frozen):
    now = frozen(paris(2026, 10, 24, 8, 30))
    assert not rules.is_locked(now, date(2026, 10, 26), time(7, 30))
    assert rules.is_locked(now, date(2026, 10, 26), time(7, 15))
    assert rules.is_locked(now, date(2026, 10, 1), time(8, 0))


# --- Days -----------------------------------------------------------------------------------

GUARANTEE = (Cover(SCHOOL, date(2026, 5, 4), date(2026, 6, 12)),)


@pytest.mark.parametrize(
    ("day", "state", "reason"),
    [
        (date(2026, 5, 4), DayState.SELECTABLE, None),  # first day of the guarantee (Monday)
        (date(2026, 6, 12), DayState.SELECTABLE, None),  # last day of the guarantee (Friday)
        (date(2026, 6, 13), DayState.OUTSIDE_GUARANTEE, rules.OUTSIDE_GUARANTEE_MESSAGE),
        (date(2026, 5, 2), DayState.OUTSIDE_GUARANTEE, rules.OUTSIDE_GUARANTEE_MESSAGE),
        (date(2026, 5, 17), DayState.SUNDAY, "Aucun trajet n'est organisé le dimanche."),
        (
            date(2026, 5, 8),
            DayState.HOLIDAY,
            "Aucun trajet n'est organisé les jours fériés (Fête de la Victoire).",
        ),
        (
            date(2026, 5, 25),
            DayState.HOLIDAY,
            "Aucun trajet n'est organisé les jours fériés (Lundi de Pentecôte).",
        ),
    ],
)
def test_day_states_around_a_guarantee(frozen, day, state, reason):
    now = frozen(paris(2026, 4, 20, 10, 0))
    status = rules.day_status(day, now, GUARANTEE)
    assert status.state is state
    assert status.reason == reason
    assert status.selectable is (state is DayState.SELECTABLE)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 7, 14), "Fête nationale"),
        (date(2026, 4, 6), "Lundi de Pâques"),
        (date(2026, 12, 25), "Noël"),
        (date(2027, 3, 29), "Lundi de Pâques"),
    ],
)
def test_public_holidays_cannot_be_booked(frozen, day, name):
    now = frozen(paris(2026, 1, 5, 9, 0))
    covers = (Cover(SCHOOL, date(2026, 1, 1), date(2027, 12, 31)),)
    status = rules.day_status(day, now, covers)
    assert status.state is DayState.HOLIDAY
    assert status.short_reason == f"Férié : {name}"
    assert problems(booking(day, time(8, 30)), now, covers) == {
        "day": f"Aucun trajet n'est organisé les jours fériés ({name})."
    }


def test_only_metropolitan_national_holidays_count():
    # Good Friday and 26 December are holidays in Alsace-Moselle only.
    assert rules.public_holiday(date(2026, 4, 3)) is None
    assert rules.public_holiday(date(2026, 12, 26)) is None
    assert rules.public_holiday(date(2026, 11, 11)) == "Armistice"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 6, 12), {}),
        (date(2026, 6, 13), {"day": rules.OUTSIDE_GUARANTEE_MESSAGE}),
        (date(2026, 6, 15), {"day": rules.OUTSIDE_GUARANTEE_MESSAGE}),
        (date(2026, 5, 17), {"day": rules.SUNDAY_MESSAGE}),
        (date(2026, 4, 1), {"day": rules.PAST_MESSAGE}),
    ],
)
def test_booking_refused_outside_the_guarantee_or_on_sundays(frozen, day, expected):
    now = frozen(paris(2026, 4, 20, 10, 0))
    assert problems(booking(day, time(8, 30)), now, GUARANTEE) == expected


@pytest.mark.parametrize(
    ("now", "day", "state"),
    [
        (paris(2026, 5, 18, 10, 0), date(2026, 5, 18), DayState.TOO_SOON),
        (paris(2026, 5, 18, 10, 0), date(2026, 5, 19), DayState.TOO_SOON),
        (paris(2026, 5, 18, 10, 0), date(2026, 5, 20), DayState.SELECTABLE),
        # The day stays selectable while its last hour (20:00) is 48 h or more ahead.
        (paris(2026, 5, 18, 20, 0), date(2026, 5, 20), DayState.SELECTABLE),
        (paris(2026, 5, 18, 20, 1), date(2026, 5, 20), DayState.TOO_SOON),
        (paris(2026, 5, 18, 10, 0), date(2026, 5, 15), DayState.PAST),
    ],
)
def test_a_day_is_selectable_while_one_of_its_hours_is_48_hours_ahead(frozen, now, day, state):
    now = frozen(now)
    assert rules.day_status(day, now, WHOLE_2026).state is state


@pytest.mark.parametrize(
    "now",
    [
        paris(2026, 3, 26, 23, 59),  # the spring change (29 March) three days on
        paris(2026, 3, 27, 20, 1),
        paris(2026, 10, 22, 20, 1),  # and the autumn one (25 October)
        paris(2026, 10, 23, 23, 59),
        paris(2026, 12, 1, 0, 0),
    ],
)
def test_days_past_the_delay_are_told_selectable_without_computing_it(frozen, now):
    """Only days less than three days ahead are checked against the 48 h delay: further
    ones always are past it, daylight-saving changes included."""
    now = frozen(now)
    for ahead in range(10):
        day = now.date() + timedelta(days=ahead)
        status = rules.day_status(day, now, WHOLE_2026)
        if status.state in (DayState.SELECTABLE, DayState.TOO_SOON):
            expected = rules.far_enough(now, day, rules.LAST_HOUR)
            assert (status.state is DayState.SELECTABLE) is expected, (now, day)


def test_bookable_hours_of_a_partly_open_day(frozen):
    now = frozen(paris(2026, 5, 18, 10, 5))
    hours = rules.bookable_hours(now, date(2026, 5, 20))
    assert hours[0] == time(10, 15)
    assert hours[-1] == time(20, 0)
    assert rules.bookable_hours(now, date(2026, 5, 19)) == []


def test_month_days_and_weeks(frozen):
    now = frozen(paris(2026, 5, 18, 10, 0))
    days = rules.month_days(2026, 5, now, GUARANTEE)
    assert len(days) == 31
    states = {d.day.day: d.state for d in days}
    assert states[1] is DayState.PAST
    assert states[19] is DayState.TOO_SOON
    assert states[20] is DayState.SELECTABLE
    assert states[24] is DayState.SUNDAY
    assert states[25] is DayState.HOLIDAY
    weeks = rules.month_weeks(days)
    assert all(len(week) == 7 for week in weeks)
    assert weeks[0][:4] == [None, None, None, None]  # 1 May 2026 is a Friday
    assert weeks[0][4].day == date(2026, 5, 1)
    assert rules.month_has_selectable_day(2026, 5, now, GUARANTEE)
    assert rules.month_has_selectable_day(2026, 6, now, GUARANTEE)
    assert not rules.month_has_selectable_day(2026, 7, now, GUARANTEE)
    assert not rules.month_has_selectable_day(2026, 4, now, GUARANTEE)


# Guarantees that start or end near a month's edge, on a Sunday, a holiday, or one day long.
EDGE_COVERS = [
    (),
    GUARANTEE,
    (Cover(SCHOOL, date(2026, 3, 29), date(2026, 3, 29)),),  # a Sunday (DST change)
    (Cover(SCHOOL, date(2026, 10, 31), date(2026, 11, 1)),),  # Saturday, All Saints' Day
    (Cover(EXAM, date(2026, 7, 14), date(2026, 7, 15)),),
    (
        Cover(SCHOOL, date(2026, 2, 27), date(2026, 3, 2)),
        Cover(EXAM, date(2026, 12, 31), date(2027, 1, 4)),
    ),
]


@pytest.mark.parametrize("covers", EDGE_COVERS)
@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 2, 25, 23, 59, tzinfo=PARIS),
        datetime(2026, 3, 27, 20, 1, tzinfo=PARIS),  # the spring DST weekend
        datetime(2026, 3, 28, 19, 59, tzinfo=PARIS),
        datetime(2026, 7, 12, 0, 0, tzinfo=PARIS),
        datetime(2026, 10, 24, 21, 0, tzinfo=PARIS),  # the autumn DST weekend
        datetime(2026, 10, 28, 20, 0, tzinfo=PARIS),
        datetime(2026, 12, 28, 12, 0, tzinfo=PARIS),
    ],
)
def test_month_has_selectable_day_agrees_with_every_day_of_the_month(now, covers):
    """Months clear of the 48 h delay are answered from the covers alone (and kept): the
    answer is the one every day of the month gives."""
    for delta in range(-1, 13):
        year, month = rules.add_months(now.year, now.month, delta)
        days = rules.month_days(year, month, now, covers)
        expected = any(day.selectable for day in days)
        assert rules.month_has_selectable_day(year, month, now, covers) is expected, (year, month)


def test_hours_list_runs_from_6_to_20_every_quarter_hour():
    assert rules.HOURS[0] == time(6, 0)
    assert rules.HOURS[-1] == time(20, 0)
    assert len(rules.HOURS) == 57
    assert time(8, 30) in rules.HOURS and time(8, 10) not in rules.HOURS


# --- Guarantees and purposes ----------------------------------------------------------------

SCHOOL_ONLY = (Cover(SCHOOL, date(2026, 5, 4), date(2026, 6, 12)),)
BOTH = SCHOOL_ONLY + (Cover(EXAM, date(2026, 5, 4), date(2026, 6, 12)),)
EXAM_ONLY = (Cover(EXAM, date(2026, 5, 4), date(2026, 6, 12)),)


@pytest.mark.parametrize(
    ("covers", "purpose", "expected"),
    [
        (BOTH, TripPurpose.EXAM, {}),
        (BOTH, TripPurpose.SCHOOL, {}),
        (
            SCHOOL_ONLY,
            TripPurpose.EXAM,
            {
                "purpose": "La garantie à mettre en jeu est « Transport aux examens scolaires ». "
                "Si vous ne disposez pas de cette garantie alors cela ne sera pas possible."
            },
        ),
        (EXAM_ONLY, TripPurpose.SCHOOL, {"purpose": rules.SCHOOL_GUARANTEE_MESSAGE}),
        (EXAM_ONLY, TripPurpose.EXAM, {}),
    ],
)
def test_each_purpose_needs_its_guarantee(frozen, covers, purpose, expected):
    now = frozen(paris(2026, 5, 18, 10, 0))
    assert problems(booking(date(2026, 5, 21), time(8, 0), purpose=purpose), now, covers) == (
        expected
    )


def test_exam_guarantee_must_cover_the_day_itself(frozen):
    now = frozen(paris(2026, 5, 18, 10, 0))
    covers = SCHOOL_ONLY + (Cover(EXAM, date(2026, 6, 1), date(2026, 6, 12)),)
    refused = problems(
        booking(date(2026, 5, 21), time(8, 0), purpose=TripPurpose.EXAM), now, covers
    )
    assert refused == {"purpose": rules.EXAM_GUARANTEE_MESSAGE}
    accepted = problems(
        booking(date(2026, 6, 2), time(8, 0), purpose=TripPurpose.EXAM), now, covers
    )
    assert accepted == {}


# --- Children, hours and addresses ----------------------------------------------------------


def test_same_child_same_hour_refused_two_children_same_hour_accepted(frozen):
    now = frozen(paris(2026, 5, 18, 10, 0))
    day = date(2026, 5, 21)
    busy = {(MAXIME, day, time(8, 30))}
    assert problems(booking(day, time(8, 30), child=MAXIME), now, busy=busy) == {
        "hour": "Maxime a déjà un trajet le 21/05/2026 à 8h30. Choisissez une autre heure."
    }
    assert problems(booking(day, time(8, 30), child=FRANCK), now, busy=busy) == {}
    assert problems(booking(day, time(9, 30), child=MAXIME), now, busy=busy) == {}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"child": LINA}, {"child": rules.CHILD_MESSAGE}),
        ({"child": None}, {"child": rules.CHILD_MESSAGE}),
        ({"hour": time(8, 10)}, {"hour": rules.HOUR_MESSAGE}),
        ({"hour": time(5, 45)}, {"hour": rules.HOUR_MESSAGE}),
        ({"hour": time(20, 15)}, {"hour": rules.HOUR_MESSAGE}),
        ({"hour": None}, {"hour": rules.HOUR_MESSAGE}),
        ({"destination": HOME}, {"to_address": "La destination doit être différente du départ."}),
        ({"origin": OTHER_ACCOUNT_ADDRESS}, {"from_address": rules.ADDRESS_MESSAGE}),
        ({"destination": OTHER_ACCOUNT_ADDRESS}, {"to_address": rules.ADDRESS_MESSAGE}),
    ],
)
def test_children_hours_and_addresses_must_be_the_accounts(frozen, changes, expected):
    now = frozen(paris(2026, 5, 18, 10, 0))
    values = {"hour": time(8, 30), **changes}
    hour = values.pop("hour")
    assert problems(booking(date(2026, 5, 21), hour, **values), now) == expected


def test_missing_purpose_is_refused(frozen):
    now = frozen(paris(2026, 5, 18, 10, 0))
    b = Booking(MAXIME, date(2026, 5, 21), time(8, 30), HOME, SCHOOL_ADDRESS, None)
    assert problems(b, now) == {"purpose": rules.PURPOSE_MESSAGE}


# --- Parsing what comes from URLs and forms -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-21", date(2026, 5, 21)),
        ("21-05-2026", None),
        ("21/05/2026", None),
        ("2026-5-21", None),
        ("0001-01-01", None),
        ("9999-12-31", None),
        ("2026-02-30", None),
        ("２０２６-05-21", None),
        ("", None),
        ("2026-05-21x", None),
    ],
)
def test_parse_day(text, expected):
    assert rules.parse_day(text) == expected


def test_parse_typed_day_accepts_the_french_form():
    assert rules.parse_typed_day("21/05/2026") == date(2026, 5, 21)
    assert rules.parse_typed_day("2026-05-21") == date(2026, 5, 21)
    assert rules.parse_typed_day("31/02/2026") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05", (2026, 5)),
        ("2026-13", None),
        ("2026-00", None),
        ("0001-01", None),
        ("05-2026", None),
        ("2026-5", None),
        ("２０２６-05", None),
    ],
)
def test_parse_month(text, expected):
    assert rules.parse_month(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:30", time(8, 30)),
        ("20:00", time(20, 0)),
        ("06:00", time(6, 0)),
        ("08:10", None),
        ("05:45", None),
        ("20:15", None),
        ("25:00", None),
        ("8:30", None),
        ("08h30", None),
        ("", None),
        ("08:30:00", time(8, 30)),  # a time control may send seconds
        ("08:30:15", None),
        ("08:30:0", None),
        ("08:30:00.000", None),
        ("08:30.00", None),
        ("08:30,00", None),
    ],
)
def test_parse_hour(text, expected):
    assert rules.parse_hour(text) == expected


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 3, 27, 7, 10, tzinfo=PARIS),  # the day after tomorrow is the DST Sunday
        datetime(2026, 3, 27, 15, 0, tzinfo=PARIS),
        datetime(2026, 10, 23, 12, 5, tzinfo=PARIS),
        datetime(2026, 5, 18, 19, 59, tzinfo=PARIS),
        datetime(2026, 10, 23, 6, 0, tzinfo=PARIS),  # the day after tomorrow ends summer time
        datetime(2026, 5, 18, 8, 37, tzinfo=PARIS),  # between two quarter hours
    ],
)
def test_bookable_hours_are_always_the_last_ones_of_the_list(now):
    """The bisection finds exactly the hours 48 h or more ahead, one by one, across clock
    changes; the day page's time control starts at the first of them."""
    for days_ahead in range(4):
        day = now.date() + timedelta(days=days_ahead)
        expected = [hour for hour in rules.HOURS if rules.far_enough(now, day, hour)]
        assert rules.bookable_hours(now, day) == expected, day
        assert expected == list(rules.HOURS[len(rules.HOURS) - len(expected) :]), day

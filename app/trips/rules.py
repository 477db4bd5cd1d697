"""Trip booking rules: which days can be chosen, and whether a trip can be booked.

Plain functions with no Flask and no database: callers pass what they loaded (the
account's guarantee periods, children, addresses and trips) and `clock.now()`.
Dates and hours are Paris local times; the 48 h delay is measured in real elapsed time,
so it stays right across the daylight-saving changes.
"""

from __future__ import annotations

import calendar
import enum
from bisect import bisect_left
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

import holidays

from app.clock import PARIS
from app.models.roster import GuaranteeKind
from app.models.trips import TripPurpose

BOOKING_DELAY = timedelta(hours=48)
FIRST_HOUR = time(6, 0)
LAST_HOUR = time(20, 0)
HOUR_STEP_MINUTES = 15
# Every hour a trip can start at: 06:00, 06:15, … 20:00.
HOURS: tuple[time, ...] = tuple(
    time(minutes // 60, minutes % 60)
    for minutes in range(
        FIRST_HOUR.hour * 60 + FIRST_HOUR.minute,
        LAST_HOUR.hour * 60 + LAST_HOUR.minute + 1,
        HOUR_STEP_MINUTES,
    )
)
# Dates the portal accepts at all (a URL for year 0001 or 9999 is not a calendar day here).
MIN_YEAR, MAX_YEAR = 2000, 2100

# The guarantee a trip of each purpose calls on.
GUARANTEE_FOR = {TripPurpose.SCHOOL: GuaranteeKind.SCHOOL, TripPurpose.EXAM: GuaranteeKind.EXAM}

DELAY_MESSAGE = (
    "Nous avons un délai de 48h entre la réception de votre demande et la mise en œuvre de la "
    "prestation auprès d'un transporteur."
)
EXAM_GUARANTEE_MESSAGE = (
    "La garantie à mettre en jeu est « Transport aux examens scolaires ». Si vous ne disposez "
    "pas de cette garantie alors cela ne sera pas possible."
)
SCHOOL_GUARANTEE_MESSAGE = (
    "La garantie à mettre en jeu est « Conduite à l'école ». Elle ne couvre pas ce jour : "
    "ce trajet n'est pas possible."
)
PAST_MESSAGE = "Ce jour est passé : il n'est plus possible d'y réserver un trajet."
SUNDAY_MESSAGE = "Aucun trajet n'est organisé le dimanche."
HOLIDAY_MESSAGE = "Aucun trajet n'est organisé les jours fériés ({name})."
OUTSIDE_GUARANTEE_MESSAGE = (
    "Ce jour est en dehors de la période de vos garanties « Conduite à l'école » et "
    "« Transport aux examens scolaires »."
)
HOUR_MESSAGE = "Indiquez une heure entre 6h00 et 20h00, par quart d'heure, par exemple 08:30."
CHILD_MESSAGE = "Choisissez un enfant parmi les bénéficiaires de votre contrat."
ADDRESS_MESSAGE = "Choisissez une de vos adresses."
SAME_ADDRESS_MESSAGE = "La destination doit être différente du départ."
PURPOSE_MESSAGE = "Choisissez le motif du trajet : École ou Examen."
CHILD_BUSY_MESSAGE = "{child} a déjà un trajet le {day} à {hour}. Choisissez une autre heure."


class DayState(enum.StrEnum):
    """Why a calendar day can or cannot be chosen (short labels shown in the cells)."""

    SELECTABLE = "selectable"
    PAST = "past"
    SUNDAY = "sunday"
    HOLIDAY = "holiday"
    OUTSIDE_GUARANTEE = "outside_guarantee"
    TOO_SOON = "too_soon"


SHORT_REASONS = {
    DayState.PAST: "Passé",
    DayState.SUNDAY: "Dimanche",
    DayState.HOLIDAY: "Férié",
    DayState.OUTSIDE_GUARANTEE: "Hors garantie",
    DayState.TOO_SOON: "Délai de 48 h",
}


@dataclass(frozen=True)
class Cover:
    """The period of one guarantee of the account's assistance files."""

    kind: GuaranteeKind
    starts_on: date
    ends_on: date

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


class Day(NamedTuple):
    """A calendar day with its state; `reason` is the full sentence when it is disabled.

    A named tuple: a month builds some 35 of them per calendar page.
    """

    day: date
    state: DayState
    reason: str | None = None
    holiday: str | None = None

    @property
    def selectable(self) -> bool:
        return self.state is DayState.SELECTABLE

    @property
    def short_reason(self) -> str | None:
        if self.state is DayState.HOLIDAY:
            return f"Férié : {self.holiday}"
        return SHORT_REASONS.get(self.state)


@dataclass(frozen=True)
class Booking:
    """What a parent asks for: a child, a day and hour, two addresses and a purpose."""

    child_id: int | None
    day: date
    hour: time | None
    from_address_id: int | None
    to_address_id: int | None
    purpose: TripPurpose | None


# --- Time -----------------------------------------------------------------------------------


def starts_at(day: date, hour: time) -> datetime:
    """The aware instant of a trip given as a Paris local date and hour."""
    return datetime.combine(day, hour, tzinfo=PARIS)


def hours_between(now: datetime, day: date, hour: time) -> timedelta:
    """Real time from now to the trip, computed in UTC.

    Python compares two datetimes sharing one tzinfo by their wall clocks, which is off by
    an hour across a daylight-saving change: both sides go through UTC first.
    """
    return starts_at(day, hour).astimezone(UTC) - now.astimezone(UTC)


def far_enough(now: datetime, day: date, hour: time) -> bool:
    """Whether the trip starts at least 48 h after now."""
    return hours_between(now, day, hour) >= BOOKING_DELAY


def is_locked(now: datetime, day: date, hour: time) -> bool:
    """A trip less than 48 h ahead (or past) was sent to the transporter: no change, no
    cancellation."""
    return not far_enough(now, day, hour)


def bookable_hours(now: datetime, day: date) -> list[time]:
    """The hours of the list that are still 48 h or more ahead on that day.

    They are always the last ones of the list (the real time to a later hour of the same
    day is longer, 6h00 to 20h00 never falling in a clock change), so the first of them is
    found by bisection: 6 instant computations instead of 57."""
    first = bisect_left(HOURS, True, key=lambda hour: far_enough(now, day, hour))
    return list(HOURS[first:])


# --- Public holidays ------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> dict[date, str]:
    """France's public holidays (metropolitan, national list) of a year, in French."""
    return dict(holidays.country_holidays("FR", years=year, language="fr").items())


def public_holiday(day: date) -> str | None:
    """The French name of the public holiday on that day, if any."""
    return _holidays_of(day.year).get(day)


# --- Days -----------------------------------------------------------------------------------


def in_range(day: date) -> bool:
    return MIN_YEAR <= day.year <= MAX_YEAR


def day_status(day: date, now: datetime, covers: Iterable[Cover]) -> Day:
    """Whether a day can be chosen in the calendar, and why not when it cannot."""
    if day < now.date():
        return Day(day, DayState.PAST, PAST_MESSAGE)
    if day.weekday() == calendar.SUNDAY:
        return Day(day, DayState.SUNDAY, SUNDAY_MESSAGE)
    holiday = public_holiday(day)
    if holiday:
        return Day(day, DayState.HOLIDAY, HOLIDAY_MESSAGE.format(name=holiday), holiday)
    if not any(cover.covers(day) for cover in covers):
        return Day(day, DayState.OUTSIDE_GUARANTEE, OUTSIDE_GUARANTEE_MESSAGE)
    if day < now.date() + CLEAR_OF_DELAY and not far_enough(now, day, LAST_HOUR):
        return Day(day, DayState.TOO_SOON, DELAY_MESSAGE)
    return Day(day, DayState.SELECTABLE)


def month_days(year: int, month: int, now: datetime, covers: Iterable[Cover]) -> list[Day]:
    """Every day of a month with its state."""
    covers = tuple(covers)
    last = calendar.monthrange(year, month)[1]
    return [day_status(date(year, month, d), now, covers) for d in range(1, last + 1)]


def month_weeks(days: list[Day]) -> list[list[Day | None]]:
    """The month's days as weeks from Monday to Sunday, padded with None."""
    lead = days[0].day.weekday()
    cells: list[Day | None] = [None] * lead + list(days)
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def month_has_selectable_day(year: int, month: int, now: datetime, covers: Iterable[Cover]) -> bool:
    """Whether a month offers at least one day to choose (cheap: only covered days are tried)."""
    covers = tuple(covers)
    if date(year, month, 1) >= now.date() + CLEAR_OF_DELAY:
        return _later_month_has_selectable_day(year, month, covers)
    return _has_selectable_day(year, month, now, covers)


# A day this far ahead is clear of the 48 h delay whatever the hour now (even across a
# daylight-saving change): from today at 23:59 to that day at 20:00 is over 68 h.
CLEAR_OF_DELAY = timedelta(days=3)


def _later_month_has_selectable_day(year: int, month: int, covers: tuple[Cover, ...]) -> bool:
    """For a month clear of the delay, the answer depends on the covers only. Not kept: the
    covers are a family's guarantee periods, and the search stops at the first open day."""
    start = datetime.combine(date(year, month, 1) - CLEAR_OF_DELAY, time(0), PARIS)
    return _has_selectable_day(year, month, start, covers)


def _has_selectable_day(year: int, month: int, now: datetime, covers: tuple[Cover, ...]) -> bool:
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    for cover in covers:
        day = max(first, cover.starts_on, now.date())
        end = min(last, cover.ends_on)
        while day <= end:
            if day_status(day, now, covers).selectable:
                return True
            day += timedelta(days=1)
    return False


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


# --- Booking --------------------------------------------------------------------------------


def booking_problems(
    booking: Booking,
    *,
    now: datetime,
    covers: Iterable[Cover],
    child_ids: Collection[int],
    address_ids: Collection[int],
    busy: Collection[tuple[int, date, time]] = (),
    child_names: dict[int, str] | None = None,
) -> dict[str, str]:
    """Why a trip cannot be booked, as {field: French message}; empty when it can.

    Fields: "day" (the day itself), "child", "hour", "from_address", "to_address",
    "purpose". `busy` holds the (child, day, hour) of the account's other live trips.
    """
    covers = tuple(covers)
    problems: dict[str, str] = {}
    status = day_status(booking.day, now, covers)
    if status.state in (
        DayState.PAST,
        DayState.SUNDAY,
        DayState.HOLIDAY,
        DayState.OUTSIDE_GUARANTEE,
    ):
        problems["day"] = status.reason or ""

    if booking.child_id is None or booking.child_id not in child_ids:
        problems["child"] = CHILD_MESSAGE

    if booking.hour is None or booking.hour not in HOURS:
        problems["hour"] = HOUR_MESSAGE
    elif "day" not in problems and not far_enough(now, booking.day, booking.hour):
        problems["hour"] = DELAY_MESSAGE

    if booking.from_address_id is None or booking.from_address_id not in address_ids:
        problems["from_address"] = ADDRESS_MESSAGE
    if booking.to_address_id is None or booking.to_address_id not in address_ids:
        problems["to_address"] = ADDRESS_MESSAGE
    elif booking.to_address_id == booking.from_address_id:
        problems["to_address"] = SAME_ADDRESS_MESSAGE

    if booking.purpose is None:
        problems["purpose"] = PURPOSE_MESSAGE
    elif "day" not in problems:
        needed = GUARANTEE_FOR[booking.purpose]
        if not any(c.kind == needed and c.covers(booking.day) for c in covers):
            problems["purpose"] = (
                EXAM_GUARANTEE_MESSAGE
                if booking.purpose is TripPurpose.EXAM
                else SCHOOL_GUARANTEE_MESSAGE
            )

    if (
        "child" not in problems
        and "hour" not in problems
        and (booking.child_id, booking.day, booking.hour) in busy
    ):
        name = (child_names or {}).get(booking.child_id, "Cet enfant")
        problems["hour"] = CHILD_BUSY_MESSAGE.format(
            child=name, day=booking.day.strftime("%d/%m/%Y"), hour=format_hour(booking.hour)
        )
    return problems


def parse_hour(value: str | None) -> time | None:
    """A quarter hour from 6h00 to 20h00 from its form value "HH:MM" (or "HH:MM:SS", as a
    browser's time control may send it), else None."""
    if not value or not value.isascii() or len(value) not in (5, 8) or value[2] != ":":
        return None
    if len(value) == 8 and value[5] != ":":
        return None
    try:
        hour = time.fromisoformat(value)
    except ValueError:
        return None
    return hour if hour in HOURS else None


def parse_day(value: str | None) -> date | None:
    """A day from its URL form "AAAA-MM-JJ" (exactly), inside the years the portal knows."""
    if not value or not value.isascii() or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    if not (value[:4] + value[5:7] + value[8:]).isdigit():
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if in_range(day) else None


def parse_typed_day(value: str | None) -> date | None:
    """A day typed in a form: "AAAA-MM-JJ" (date inputs) or "JJ/MM/AAAA" (typed by hand)."""
    if value and len(value) == 10 and value[2] == "/" and value[5] == "/":
        value = f"{value[6:]}-{value[3:5]}-{value[:2]}"
    return parse_day(value)


def parse_month(value: str | None) -> tuple[int, int] | None:
    """A month from "AAAA-MM", inside the years the portal knows."""
    if not value or not value.isascii() or len(value) != 7 or value[4] != "-":
        return None
    year, month = value[:4], value[5:]
    if not (year.isdigit() and month.isdigit()):
        return None
    year_n, month_n = int(year), int(month)
    if not (MIN_YEAR <= year_n <= MAX_YEAR and 1 <= month_n <= 12):
        return None
    return year_n, month_n


def format_hour(hour: time) -> str:
    """8h30, 14h00: how French write an hour."""
    return f"{hour.hour}h{hour.minute:02d}"

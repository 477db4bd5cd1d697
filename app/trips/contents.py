"""The calendar's and the day page's contents, rendered from a view and kept.

A view is a named tuple of everything a content shows, read from the database on each
request: the days and their states, trip counts, the month list, a day's trips and the
choices of its form. Equal views give the same HTML, so a rendered content is kept (bounded
LRU) under its view: the same parent coming back to a month or a day, or parents in the
same situation, get it without rendering. A view names no account, and the templates read
nothing but the view (tests/test_trips.py checks them); the day page's CSRF token is left
out of what is kept and put in for each session (app/layout.py). Each application keeps its
own contents, since its templates and settings (CSRF on or off) made them.
"""

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from flask import Flask, current_app, render_template, url_for
from markupsafe import Markup

from app.layout import blank_form, with_token_slot
from app.trips import rules, services
from app.trips.calendar_grid import calendar_rows
from app.trips.forms import TripForm
from app.trips.french import month_name

# About 12 kB each.
CALENDAR_BODIES_KEPT = 256
# About 10 kB each.
DAY_BODIES_KEPT = 256


def month_url(year: int, month: int, base: str | None = None) -> str | None:
    """The calendar of a month; `base` (the calendar's URL) spares a url_for per link."""
    if not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
        return None
    return f"{base or url_for('trips.calendar')}?mois={year:04d}-{month:02d}"


class OutsideHelp(NamedTuple):
    """The FAQ's two possibilities when the day or month shown has nothing to choose."""

    phone: str | None
    no_guarantee: bool
    guarantees_over: bool
    next_month_url: str | None
    next_month_name: str
    faq_link: str | None


class MonthItem(NamedTuple):
    """A month of the month list opened from the month's name."""

    name: str
    url: str | None
    current: bool
    open: bool


class CalendarView(NamedTuple):
    """Everything the calendar's content shows; equal views give the same HTML."""

    calendar_url: str  # carries the application's root
    year: int
    month: int
    today: date
    days: tuple[rules.Day, ...]
    counts: tuple[tuple[date, int], ...]  # live trips per day, for the days that have some
    months: tuple[MonthItem, ...]
    help: OutsideHelp | None
    faq_link: str | None


def calendar_body(view: CalendarView) -> Markup:
    """The calendar's content for this view, kept."""
    return kept_contents(current_app).calendar(view)


def _render_calendar_body(view: CalendarView) -> Markup:
    year, month, base = view.year, view.month, view.calendar_url
    previous, following = rules.add_months(year, month, -1), rules.add_months(year, month, 1)
    html = render_template(
        "trips/_calendar_body.html",
        year=year,
        month=month,
        rows=calendar_rows(list(view.days), dict(view.counts), view.today, base),
        months=view.months,
        previous_url=month_url(*previous, base),
        previous_name=month_name(*previous),
        next_url=month_url(*following, base),
        next_name=month_name(*following),
        help=view.help,
        faq_link=view.faq_link,
    )
    return Markup(html)  # noqa: S704 - rendered by an autoescaped template


class BookingChoices(NamedTuple):
    """What « Ajouter un trajet » offers on a day that can be booked."""

    children: tuple[services.Child, ...]
    addresses: tuple[services.AddressChoice, ...]
    too_soon: tuple  # hours listed but disabled: less than 48 h ahead
    first_hour: object  # the first bookable hour (a time), None when none is left
    addresses_url: str | None


class DayView(NamedTuple):
    """Everything the day page's content shows; equal views give the same HTML."""

    month_url: str | None  # carries the application's root
    day: date
    status: rules.Day
    trips: tuple[services.DayTrip, ...]
    locked: tuple[bool, ...]  # for each trip: sent to the transporter
    help: OutsideHelp | None = None
    booking: BookingChoices | None = None


def render_day_body(view: DayView, form: TripForm | None) -> str:
    locked = dict(zip((trip.id for trip in view.trips), view.locked, strict=True))
    choices = view.booking
    return render_template(
        "trips/_day_body.html",
        day=view.day,
        status=view.status,
        trips=view.trips,
        locked=lambda trip: locked[trip.id],
        month_url=view.month_url,
        help=view.help,
        form=form,
        children=choices.children if choices else (),
        addresses=choices.addresses if choices else (),
        addresses_url=choices.addresses_url if choices else None,
        first_hour=choices.first_hour if choices else None,
        earliest_hour=rules.FIRST_HOUR,
    )


def blank_day_body(view: DayView) -> tuple[str, ...]:
    """The day page's content with a blank form for this view, kept, cut where the CSRF
    token goes (`app.layout.fill_token_slot` puts the session's in)."""
    return kept_contents(current_app).day(view)


def _render_blank_day_body(view: DayView) -> tuple[str, ...]:
    form = None
    if view.booking is not None:
        choices = view.booking
        form = blank_form(
            TripForm,
            children=choices.children,
            addresses=choices.addresses,
            disabled_hours=choices.too_soon,
        )
    return with_token_slot(render_day_body(view, form))


class KeptContents(NamedTuple):
    """One application's kept contents (its templates and settings made them)."""

    calendar: Callable[[CalendarView], Markup]
    day: Callable[[DayView], tuple[str, ...]]


_EXTENSION_KEY = "cartable_trip_contents"


def kept_contents(app: Flask) -> KeptContents:
    """The application's LRUs, made on first use; nothing is kept while templates reload
    (development), so that a template edit shows at once."""
    kept = app.extensions.get(_EXTENSION_KEY)
    if kept is None:
        reloading = app.jinja_env.auto_reload
        kept = KeptContents(
            calendar=lru_cache(maxsize=0 if reloading else CALENDAR_BODIES_KEPT)(
                _render_calendar_body
            ),
            day=lru_cache(maxsize=0 if reloading else DAY_BODIES_KEPT)(_render_blank_day_body),
        )
        app.extensions[_EXTENSION_KEY] = kept
    return kept

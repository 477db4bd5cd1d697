"""« Mes trajets »: the month calendar, the day page, the list, change and cancellation."""

from datetime import UTC, date, datetime, time
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from app import clock
from app.auth_session import signed_in
from app.email import public_url
from app.forms import row_id
from app.models import Trip, TripPurpose, TripStatus
from app.read_only import read_only
from app.trips import agenda, bp, rules, services
from app.trips.forms import CancelTripForm, EditTripForm, TripForm
from app.trips.french import HELPERS, long_day, month_name

# How many months the month list offers, from the current one.
MONTH_LIST_LENGTH = 12
LOCKED_MESSAGE = (
    "Ce trajet a lieu dans moins de 48 heures : il a été envoyé au transporteur et ne peut "
    "plus être modifié ni annulé."
)
CANCELLED_MESSAGE = "Ce trajet est déjà annulé : il ne peut plus être modifié ni annulé."
RACE_MESSAGE = "{child} a déjà un trajet à cette heure-là. Choisissez une autre heure."


@bp.context_processor
def french_dates():
    return HELPERS


def month_url(calendar_url: str, year: int, month: int) -> str | None:
    """The calendar of a month: the calendar's own URL, built once per page, and the month
    in `mois` (digits and a dash, nothing to quote); None outside the years it shows."""
    if not rules.MIN_YEAR <= year <= rules.MAX_YEAR:
        return None
    return f"{calendar_url}?mois={year:04d}-{month:02d}"


class OutsideHelp(NamedTuple):
    """The FAQ's two possibilities when the day or month shown has nothing to choose."""

    phone: str | None
    no_guarantee: bool
    guarantees_over: bool
    next_month_url: str | None
    next_month_name: str


class GridDay(NamedTuple):
    """A day of the calendar's grid with what its cell writes, computed once here: a call
    from the template costs several times a call from Python."""

    status: rules.Day
    iso: str
    name: str  # « jeudi 21 mai 2026 », for screen readers and the list of days
    trips: int
    today: bool


def calendar_weeks(
    days: list[rules.Day], counts: dict[date, int], today: date
) -> list[list[GridDay | None]]:
    """The month's weeks, Monday to Sunday, None outside the month (trips/_calendar_rows)."""
    return [
        [
            None
            if cell is None
            else GridDay(
                cell,
                cell.day.isoformat(),
                long_day(cell.day),
                counts.get(cell.day, 0),
                cell.day == today,
            )
            for cell in week
        ]
        for week in rules.month_weeks(days)
    ]


class MonthItem(NamedTuple):
    """A month of the month list opened from the month's name."""

    name: str
    url: str | None
    current: bool
    open: bool


def _next_open_month(year, month, now, covers) -> tuple[int, int] | None:
    """The first month after this one with a day to choose, if any in the next months."""
    for delta in range(1, MONTH_LIST_LENGTH + 1):
        candidate = rules.add_months(year, month, delta)
        if rules.month_has_selectable_day(*candidate, now, covers):
            return candidate
    return None


def _outside_help(year, month, now, covers) -> OutsideHelp:
    """What the parent can do; with no guarantee at all on the file, only the assistance."""
    next_month = _next_open_month(year, month, now, covers) or rules.add_months(year, month, 1)
    return OutsideHelp(
        phone=services.assistance_phone(signed_in().member),
        no_guarantee=not covers,
        guarantees_over=bool(covers) and all(cover.ends_on < now.date() for cover in covers),
        next_month_url=month_url(url_for("trips.calendar"), *next_month),
        next_month_name=month_name(*next_month),
    )


def _month_page(year: int, month: int, now: datetime) -> dict:
    """What the calendar of a month shows: its days and their states, trip counts, the
    month list, and the way out when the month has nothing to choose."""
    account = signed_in()
    covers = services.covers_of(account.member)
    days = rules.month_days(year, month, now, covers)
    counts = services.trip_counts(account, days[0].day, days[-1].day)
    calendar_url = url_for("trips.calendar")
    months = []
    for delta in range(MONTH_LIST_LENGTH):
        item = rules.add_months(now.year, now.month, delta)
        is_open = rules.month_has_selectable_day(*item, now, covers)
        url = month_url(calendar_url, *item)
        months.append(MonthItem(month_name(*item), url, item == (year, month), is_open))
    # Nothing to choose in a month that is not over yet: say what the parent can do.
    stuck = not any(day.selectable for day in days) and (year, month) >= (now.year, now.month)
    previous, following = rules.add_months(year, month, -1), rules.add_months(year, month, 1)
    return {
        "year": year,
        "month": month,
        "weeks": calendar_weeks(days, counts, now.date()),
        "calendar_url": calendar_url,
        "months": months,
        "previous_url": month_url(calendar_url, *previous),
        "previous_name": month_name(*previous),
        "next_url": month_url(calendar_url, *following),
        "next_name": month_name(*following),
        "help": _outside_help(year, month, now, covers) if stuck else None,
    }


@bp.get("")
@read_only
@login_required
def calendar():
    """The month calendar: selectable days link to their day page, the others say why not."""
    now = clock.now()
    shown = (now.year, now.month)
    if "mois" in request.args:
        shown = rules.parse_month(request.args["mois"]) or abort(404)
    return render_template("trips/calendar.html", **_month_page(*shown, now))


def _booking(form: TripForm, day: date) -> rules.Booking:
    """What the form asks for, ids and hour parsed (None when not one of the choices)."""
    purpose = form.purpose.data
    return rules.Booking(
        child_id=row_id(form.child.data),
        day=day,
        hour=rules.parse_hour(form.hour.data),
        from_address_id=row_id(form.from_address.data),
        to_address_id=row_id(form.to_address.data),
        purpose=TripPurpose(purpose) if purpose in set(TripPurpose) else None,
    )


def _show_problems(form: TripForm, problems: dict[str, str]) -> None:
    for name, message in problems.items():
        field = form.field_for(name)
        if field is None:
            form.form_errors.append(message)
        elif message not in field.errors:
            field.errors = [*field.errors, message]


def _describe(trip: Trip | services.DayTrip) -> str:
    return _sentence(
        trip.child.first_name,
        trip.trip_date,
        trip.trip_time,
        trip.from_address.label,
        trip.to_address.label,
    )


def _describe_booking(booking: rules.Booking, choices: services.Choices) -> str:
    """A trip just saved, told from the form's choices: nothing read back."""
    child = next(child for child in choices.children if child.id == booking.child_id)
    labels = {address.id: address.label for address in choices.addresses}
    return _sentence(
        child.first_name,
        booking.day,
        booking.hour,
        labels[booking.from_address_id],
        labels[booking.to_address_id],
    )


def _sentence(child: str, day: date, hour: time, origin: str, destination: str) -> str:
    return (
        f"{child}, {long_day(day)} à {rules.format_hour(hour)}, de « {origin} » à « {destination} »"
    )


class DayPage(NamedTuple):
    """What a day page shows; `form` is None when the day cannot be booked."""

    day: date
    status: rules.Day
    trips: list[services.DayTrip]
    locked: set[int]  # ids of the trips sent to the transporter
    help: OutsideHelp | None
    choices: services.Choices | None  # None when the day cannot be booked
    first_hour: time | None  # the first bookable hour when the 48 h delay took earlier ones
    form: TripForm | None


def _day_page(day: date, now: datetime) -> DayPage:
    """The day's trips, and the form « Ajouter un trajet » when the day can be booked."""
    account = signed_in()
    covers = services.covers_of(account.member)
    status = rules.day_status(day, now, covers)
    trips = services.trips_of_day(account, day)
    locked = {trip.id for trip in trips if rules.is_locked(now, trip.trip_date, trip.trip_time)}
    if not status.selectable:
        stuck = status.state is rules.DayState.OUTSIDE_GUARANTEE
        help = _outside_help(day.year, day.month, now, covers) if stuck else None
        return DayPage(day, status, trips, locked, help, None, None, None)
    choices = services.booking_choices(account.member, account)
    bookable = rules.bookable_hours(now, day)
    # The day's first hours may be less than 48 h ahead: the time control starts later.
    first_hour = bookable[0] if bookable and bookable[0] != rules.HOURS[0] else None
    form = TripForm(children=choices.children, addresses=choices.addresses, first_hour=first_hour)
    return DayPage(day, status, trips, locked, None, choices, first_hour, form)


def _book(page: DayPage, now: datetime):
    """Save the trip the form asks for and go to it, or put the problems on the form."""
    account = signed_in()
    booking = _booking(page.form, page.day)
    anchor = url_for("trips.day", day_text=page.day.isoformat()) + "#trajet-{}"
    for trip in page.trips:
        if (trip.child_id, trip.trip_time) == (booking.child_id, booking.hour) and (
            services.same_trip(trip, account, booking)
        ):
            # The same form sent twice: the trip exists, show it.
            flash(f"Ce trajet est déjà enregistré : {_describe(trip)}.", "info")
            return redirect(anchor.format(trip.id))
    covers = services.covers_of(account.member)
    problems = _booking_problems(booking, now, covers, page.choices)
    if not problems:
        saved = services.create_trip(account, booking, page.choices)
        if saved is not None:
            if saved.existing is None:
                flash(f"Trajet ajouté : {_describe_booking(booking, page.choices)}.", "success")
            else:
                flash(f"Ce trajet est déjà enregistré : {_describe(saved.existing)}.", "info")
            return redirect(anchor.format(saved.trip_id))
        problems = _race(booking, page.choices)
    _show_problems(page.form, problems)
    return None


def _race(booking: rules.Booking, choices: services.Choices) -> dict[str, str]:
    """The problem when another request booked the child's hour between check and save."""
    names = {child.id: child.first_name for child in choices.children}
    return {"hour": RACE_MESSAGE.format(child=names[booking.child_id])}


@bp.route("/<day_text>", methods=["GET", "POST"])
@read_only
@login_required
def day(day_text: str):
    """A day: its trips, and « Ajouter un trajet » when the day can be booked."""
    day = rules.parse_day(day_text)
    if day is None:
        abort(404)
    now = clock.now()
    page = _day_page(day, now)
    if page.form is not None and page.form.validate_on_submit():
        booked = _book(page, now)
        if booked is not None:
            return booked
    return render_template("trips/day.html", **page._asdict())


@bp.get("/mes-trajets")
@read_only
@login_required
def trip_list():
    """« Mes trajets »: upcoming trips, the most recent past ones, cancelled ones."""
    now = clock.now()
    account = signed_in()
    listing = services.trip_list(account, now)
    # Shown beside a cancellation by the assistance, the only status that needs it.
    cancelled_by_assistance = any(
        trip.status is TripStatus.CANCELLED_BY_ASSISTANCE for trip in listing.cancelled
    )
    return render_template(
        "trips/list.html",
        assistance_phone=services.assistance_phone(account.member)
        if cancelled_by_assistance
        else None,
        upcoming=listing.upcoming,
        past=listing.past,
        past_total=listing.past_total,
        cancelled=listing.cancelled,
        locked={
            trip.id
            for trip in listing.upcoming
            if rules.is_locked(now, trip.trip_date, trip.trip_time)
        },
    )


def _trip_page(trip: Trip, *, error: str | None = None, status: int = 200):
    account = signed_in()
    now = clock.now()
    locked = rules.is_locked(now, trip.trip_date, trip.trip_time)
    assistance_cancelled = trip.status is TripStatus.CANCELLED_BY_ASSISTANCE
    return render_template(
        "trips/trip.html",
        trip=trip,
        locked=locked,
        past=rules.hours_between(now, trip.trip_date, trip.trip_time).total_seconds() <= 0,
        phone=services.assistance_phone(account.member) if locked or assistance_cancelled else None,
        error=error,
        locked_message=LOCKED_MESSAGE,
    ), status


@bp.get("/trajet/<int:trip_id>")
@read_only
@login_required
def trip(trip_id: int):
    """One trip, with « Modifier » and « Annuler » until 48 h before it."""
    return _trip_page(services.trip_or_404(signed_in(), trip_id))


@bp.get("/trajet/<int:trip_id>/agenda.ics")
@login_required
def calendar_file(trip_id: int):
    """« Ajouter à mon agenda »: the trip as an .ics file; another account's trip is a 404."""
    trip = services.trip_or_404(signed_in(), trip_id)
    event = agenda.TripEvent(
        trip_id=trip.id,
        child=trip.child.first_name,
        day=trip.trip_date,
        hour=trip.trip_time,
        from_label=trip.from_address.label,
        from_line=trip.from_address.one_line,
        to_label=trip.to_address.label,
        to_line=trip.to_address.one_line,
        cancelled=trip.cancelled_at is not None,
        sequence=int((trip.updated_at - trip.created_at).total_seconds()),
        trip_url=public_url(url_for("trips.trip", trip_id=trip.id)),
    )
    domain = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "cartable"
    body = agenda.calendar_file(event, domain=domain, stamp=clock.now().astimezone(UTC))
    return body, {
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": f'attachment; filename="trajet-{trip.trip_date}-{trip.id}.ics"',
    }


def _booking_problems(booking, now, covers, choices, except_trip=None) -> dict:
    """The booking's problems against the account's children, addresses and busy slots."""
    child_ids = [child.id for child in choices.children]
    return rules.booking_problems(
        booking,
        now=now,
        covers=covers,
        child_ids=child_ids,
        address_ids={address.id for address in choices.addresses},
        busy=services.busy_slots(child_ids, booking.day, except_trip=except_trip),
        child_names={child.id: child.first_name for child in choices.children},
    )


def _refusal(trip: Trip) -> str | None:
    """Why a trip can no longer be changed or cancelled, if it cannot."""
    if trip.cancelled_at is not None:
        return CANCELLED_MESSAGE
    if rules.is_locked(clock.now(), trip.trip_date, trip.trip_time):
        return LOCKED_MESSAGE
    return None


def _trip_to_change(trip_id: int):
    """(account, trip, None), or the trip's page saying why it can no longer change.

    A form sent anyway (a forged or stale POST) gets a 409 with that page.
    """
    account = signed_in()
    trip = services.trip_or_404(account, trip_id, lock=request.method == "POST")
    refusal = _refusal(trip)
    if refusal is None:
        return account, trip, None
    status = 409 if request.method == "POST" else 200
    return account, trip, _trip_page(trip, error=refusal, status=status)


def _booked_values(trip: Trip) -> dict[str, str]:
    """What the change form shows first: the trip as it is booked."""
    return {
        "child": str(trip.child_id),
        "day": trip.trip_date.isoformat(),
        "hour": trip.trip_time.strftime("%H:%M"),
        "from_address": str(trip.from_address_id),
        "to_address": str(trip.to_address_id),
        "purpose": trip.purpose.value,
    }


@bp.route("/trajet/<int:trip_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(trip_id: int):
    """Change a trip's child, date, hour, addresses or purpose until 48 h before it."""
    account, trip, refused = _trip_to_change(trip_id)
    if refused:
        return refused
    choices = services.booking_choices(account.member, account)
    booked = _booked_values(trip) if request.method == "GET" else None
    form = EditTripForm(children=choices.children, addresses=choices.addresses, data=booked)
    if form.validate_on_submit():
        booking = _booking(form, rules.parse_typed_day(form.day.data))
        covers = services.covers_of(account.member)
        problems = _booking_problems(booking, clock.now(), covers, choices, trip)
        if not problems:
            if services.update_trip(trip, booking, choices):
                flash(f"Trajet modifié : {_describe_booking(booking, choices)}.", "success")
                return redirect(url_for("trips.trip", trip_id=trip_id))
            problems = _race(booking, choices)
        _show_problems(form, problems)
    return render_template("trips/edit.html", form=form, trip=trip)


@bp.route("/trajet/<int:trip_id>/annuler", methods=["GET", "POST"])
@login_required
def cancel(trip_id: int):
    """Cancel a trip, after confirmation, until 48 h before it."""
    _, trip, refused = _trip_to_change(trip_id)
    if refused:
        return refused
    form = CancelTripForm()
    if form.validate_on_submit():
        services.cancel_trip(trip)
        flash(f"Trajet annulé : {_describe(trip)}.", "success")
        return redirect(url_for("trips.trip_list"))
    return render_template("trips/cancel.html", form=form, trip=trip)

"""« Mes trajets »: the month calendar, the day page, the list, change and cancellation."""

from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from app import clock
from app.layout import fill_token_slot
from app.models import Trip, TripPurpose
from app.trips import bp, rules, services
from app.trips.contents import (
    BookingChoices,
    CalendarView,
    DayView,
    MonthItem,
    OutsideHelp,
    blank_day_body,
    calendar_body,
    month_url,
    render_day_body,
)
from app.trips.forms import CancelTripForm, EditTripForm, TripForm
from app.trips.french import HELPERS, long_day, month_name

# The FAQ answer about days that cannot be selected.
DAYS_HELP_SLUG = "jours-non-selectionnables"
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


def _account():
    """The logged-in identity: ids of the account and its member, no ORM object."""
    return current_user._get_current_object()


def _faq_link() -> str | None:
    if "faq.answer" in current_app.view_functions:
        return url_for("faq.answer", slug=DAYS_HELP_SLUG)
    return None


def _addresses_url() -> str | None:
    if "addresses.index" in current_app.view_functions:
        return url_for("addresses.index")
    return None


def _next_open_month(year, month, now, covers) -> tuple[int, int] | None:
    """The first month after this one with a day to choose, if any in the next months."""
    for delta in range(1, MONTH_LIST_LENGTH + 1):
        candidate = rules.add_months(year, month, delta)
        if rules.month_has_selectable_day(*candidate, now, covers):
            return candidate
    return None


def _outside_help(member, year, month, now, covers) -> OutsideHelp:
    """What the parent can do; with no guarantee at all on the file, only the assistance."""
    next_month = _next_open_month(year, month, now, covers) or rules.add_months(year, month, 1)
    return OutsideHelp(
        phone=services.assistance_phone(member),
        no_guarantee=not covers,
        guarantees_over=bool(covers) and all(cover.ends_on < now.date() for cover in covers),
        next_month_url=month_url(*next_month),
        next_month_name=month_name(*next_month),
        faq_link=_faq_link(),
    )


@bp.get("")
@login_required
def calendar():
    """The month calendar: selectable days link to their day page, the others say why not."""
    account = _account()
    now = clock.now()
    if "mois" in request.args:
        shown = rules.parse_month(request.args["mois"])
        if shown is None:
            abort(404)
    else:
        shown = (now.year, now.month)
    year, month = shown
    base = url_for("trips.calendar")
    covers = services.covers_of(account.member)
    days = tuple(rules.month_days(year, month, now, covers))
    counts = services.trip_counts(account, days[0].day, days[-1].day)
    months = []
    for delta in range(MONTH_LIST_LENGTH):
        item = rules.add_months(now.year, now.month, delta)
        is_open = rules.month_has_selectable_day(*item, now, covers)
        months.append(MonthItem(month_name(*item), month_url(*item, base), item == shown, is_open))
    # Nothing to choose in a month that is not over yet: say what the parent can do.
    stuck = not any(day.selectable for day in days) and (year, month) >= (now.year, now.month)
    body = calendar_body(
        CalendarView(
            calendar_url=base,
            year=year,
            month=month,
            today=now.date(),
            days=days,
            counts=tuple(sorted(counts.items())),
            months=tuple(months),
            help=_outside_help(account.member, year, month, now, covers) if stuck else None,
            faq_link=_faq_link(),
        )
    )
    return render_template("trips/calendar.html", year=year, month=month, body=body)


def _booking(form: TripForm, day: date) -> rules.Booking:
    """What the form asks for, ids and hour parsed (None when not one of the choices)."""

    def as_id(value):
        return int(value) if value and value.isascii() and value.isdigit() else None

    purpose = form.purpose.data
    return rules.Booking(
        child_id=as_id(form.child.data),
        day=day,
        hour=rules.parse_hour(form.hour.data),
        from_address_id=as_id(form.from_address.data),
        to_address_id=as_id(form.to_address.data),
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
    return (
        f"{trip.child.first_name}, {long_day(trip.trip_date)} à "
        f"{rules.format_hour(trip.trip_time)}, de « {trip.from_address.label} » "
        f"à « {trip.to_address.label} »"
    )


def _day_page(view: DayView, form: TripForm | None = None):
    """The day page: a sent form with its errors, or the kept content with this session's
    CSRF token."""
    if form is None:
        body = fill_token_slot(blank_day_body(view))
    else:
        body = Markup(render_day_body(view, form))  # noqa: S704 - an autoescaped template
    return render_template("trips/day.html", day=view.day, body=body)


@bp.route("/<day_text>", methods=["GET", "POST"])
@login_required
def day(day_text: str):
    """A day: its trips, and « Ajouter un trajet » when the day can be booked."""
    day = rules.parse_day(day_text)
    if day is None:
        abort(404)
    account = _account()
    member = account.member
    now = clock.now()
    covers = services.covers_of(member)
    status = rules.day_status(day, now, covers)
    trips = services.trips_of_day(account, day)
    view = DayView(
        month_url=month_url(day.year, day.month),
        day=day,
        status=status,
        trips=tuple(trips),
        locked=tuple(rules.is_locked(now, trip.trip_date, trip.trip_time) for trip in trips),
    )
    if not status.selectable:
        if status.state is rules.DayState.OUTSIDE_GUARANTEE:
            view = view._replace(help=_outside_help(member, day.year, day.month, now, covers))
        return _day_page(view)

    children, addresses = services.booking_choices(member, account)
    # Later hours of a day are further ahead: when the first is far enough, all are, and
    # the hours still bookable are always the last ones of the list.
    if rules.far_enough(now, day, rules.HOURS[0]):
        bookable = list(rules.HOURS)
    else:
        bookable = rules.bookable_hours(now, day)
    too_soon = tuple(rules.HOURS[: len(rules.HOURS) - len(bookable)])
    view = view._replace(
        booking=BookingChoices(
            children=tuple(children),
            addresses=tuple(addresses),
            too_soon=too_soon,
            first_hour=bookable[0] if bookable else None,
            addresses_url=_addresses_url(),
        )
    )
    if request.method != "POST":
        return _day_page(view)
    form = TripForm(children=children, addresses=addresses, disabled_hours=too_soon)
    if form.validate_on_submit():
        booking = _booking(form, day)
        for trip in trips:
            if (trip.child_id, trip.trip_time) == (booking.child_id, booking.hour) and (
                services.same_trip(trip, account, booking)
            ):
                # The same form sent twice: the trip exists, show it.
                flash(f"Ce trajet est déjà enregistré : {_describe(trip)}.", "info")
                return redirect(
                    url_for("trips.day", day_text=day.isoformat()) + f"#trajet-{trip.id}"
                )
        problems = _booking_problems(booking, now, covers, children, addresses)
        if not problems:
            saved = services.create_trip(account, booking)
            if saved is None:
                names = {child.id: child.first_name for child in children}
                problems = {"hour": RACE_MESSAGE.format(child=names[booking.child_id])}
            else:
                if saved.created:
                    flash(f"Trajet ajouté : {_describe(saved.trip)}.", "success")
                else:
                    flash(f"Ce trajet est déjà enregistré : {_describe(saved.trip)}.", "info")
                anchor = f"#trajet-{saved.trip.id}"
                return redirect(url_for("trips.day", day_text=day.isoformat()) + anchor)
        _show_problems(form, problems)
    return _day_page(view, form)


@bp.get("/mes-trajets")
@login_required
def trip_list():
    """« Mes trajets »: upcoming trips, the most recent past ones, cancelled ones."""
    now = clock.now()
    listing = services.trip_list(_account(), now)
    return render_template(
        "trips/list.html",
        upcoming=listing.upcoming,
        past=listing.past,
        past_total=listing.past_total,
        cancelled=listing.cancelled,
        locked=lambda trip: rules.is_locked(now, trip.trip_date, trip.trip_time),
    )


def _trip_page(trip: Trip, *, error: str | None = None, status: int = 200):
    account = _account()
    now = clock.now()
    locked = rules.is_locked(now, trip.trip_date, trip.trip_time)
    return render_template(
        "trips/trip.html",
        trip=trip,
        locked=locked,
        past=rules.hours_between(now, trip.trip_date, trip.trip_time).total_seconds() <= 0,
        phone=services.assistance_phone(account.member) if locked else None,
        error=error,
        locked_message=LOCKED_MESSAGE,
    ), status


@bp.get("/trajet/<int:trip_id>")
@login_required
def trip(trip_id: int):
    """One trip, with « Modifier » and « Annuler » until 48 h before it."""
    return _trip_page(services.trip_or_404(_account(), trip_id))


def _booking_problems(booking, now, covers, children, addresses, except_trip=None) -> dict:
    """The booking's problems against the account's children, addresses and busy slots."""
    child_ids = [child.id for child in children]
    return rules.booking_problems(
        booking,
        now=now,
        covers=covers,
        child_ids=child_ids,
        address_ids={address.id for address in addresses},
        busy=services.busy_slots(child_ids, booking.day, except_trip=except_trip),
        child_names={child.id: child.first_name for child in children},
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
    account = _account()
    trip = services.trip_or_404(account, trip_id)
    refusal = _refusal(trip)
    if refusal is None:
        return account, trip, None
    status = 409 if request.method == "POST" else 200
    return account, trip, _trip_page(trip, error=refusal, status=status)


@bp.route("/trajet/<int:trip_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(trip_id: int):
    """Change a trip's child, date, hour, addresses or purpose until 48 h before it."""
    account, trip, refused = _trip_to_change(trip_id)
    if refused:
        return refused
    member = account.member
    children, addresses = services.booking_choices(member, account)
    form = EditTripForm(children=children, addresses=addresses)
    if request.method == "GET":
        form.child.data = str(trip.child_id)
        form.day.data = trip.trip_date.isoformat()
        form.hour.data = trip.trip_time.strftime("%H:%M")
        form.from_address.data = str(trip.from_address_id)
        form.to_address.data = str(trip.to_address_id)
        form.purpose.data = trip.purpose.value
    elif form.validate_on_submit():
        booking = _booking(form, rules.parse_typed_day(form.day.data))
        problems = _booking_problems(
            booking, clock.now(), services.covers_of(member), children, addresses, trip
        )
        if not problems:
            if services.update_trip(trip, booking):
                trip = services.trip_or_404(account, trip_id)
                flash(f"Trajet modifié : {_describe(trip)}.", "success")
                return redirect(url_for("trips.trip", trip_id=trip.id))
            names = {child.id: child.first_name for child in children}
            problems = {"hour": RACE_MESSAGE.format(child=names[booking.child_id])}
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

"""« Mes adresses »: list, add, view, edit and delete the family's addresses."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy.exc import IntegrityError

from app.addresses import bp, rules, services
from app.addresses.forms import AddressForm, ConfirmDeleteForm
from app.auth_session import signed_in
from app.clock import now
from app.extensions import db
from app.former_addresses import redirect_slash_to_index
from app.read_only import read_only
from app.trips.french import format_hour, short_day
from app.trips.services import assistance_phone

FAQ_DELETE_SLUG = "supprimer-une-adresse"


@bp.context_processor
def french_dates():
    """Trips are written as on the trip pages: « 21/05/2026 à 8h30 »."""
    return {"format_hour": format_hour, "short_day": short_day}


def _phone() -> str | None:
    return assistance_phone(signed_in().member)


def kept_message(count: int, phone: str | None) -> str:
    """What the parent must know when locked trips keep the previous address."""
    if count == 1:
        text = (
            "1 trajet déjà transmis au transporteur garde l'ancienne adresse : "
            "pour le modifier, contactez l'assistance"
        )
    else:
        text = (
            f"{count} trajets déjà transmis au transporteur gardent l'ancienne adresse : "
            "pour les modifier, contactez l'assistance"
        )
    return f"{text} au {phone}." if phone else f"{text}."


def sent_again_message(count: int) -> str:
    """What the parent must know when trips still changeable follow the corrected place."""
    if count == 1:
        return (
            "Le trajet à venir qui utilise cette adresse est envoyé de nouveau à l'assistance, "
            "avec l'adresse modifiée : il repasse à l'état « Demandé »."
        )
    return (
        f"Les {count} trajets à venir qui utilisent cette adresse sont envoyés de nouveau à "
        "l'assistance, avec l'adresse modifiée : ils repassent à l'état « Demandé »."
    )


def _faq_link() -> str:
    """The FAQ answer about deleting an address."""
    return url_for("faq.answer", slug=FAQ_DELETE_SLUG)


def _label_taken(form, template: str, **context):
    """A label taken meanwhile (two tabs, a double click): nothing is saved, and the label
    gets the message."""
    db.session.rollback()
    form.label.errors.append(rules.LABEL_TAKEN_MESSAGE)
    return render_template(template, form=form, **context)


redirect_slash_to_index(bp)


@bp.get("")
@read_only
@login_required
def index():
    """The account's current addresses."""
    addresses = services.current_addresses(signed_in().id)
    return render_template("addresses/index.html", addresses=addresses)


@bp.route("/ajouter", methods=["GET", "POST"])
@login_required
def create():
    """« Ajouter une adresse »."""
    form = AddressForm(account_id=signed_in().id)
    if form.validate_on_submit():
        try:
            address = services.create(signed_in().id, form)
            db.session.commit()
        except IntegrityError:
            return _label_taken(form, "addresses/form.html", address=None)
        flash(f"L'adresse « {address.label} » est enregistrée.", "success")
        return redirect(url_for("addresses.index"))
    return render_template("addresses/form.html", form=form, address=None)


@bp.get("/<int:address_id>")
@read_only
@login_required
def show(address_id: int):
    """One address, with the trips still to come that use it and how many past ones did."""
    address = services.address_or_404(signed_in().id, address_id)
    moment = now()
    upcoming = services.upcoming_trips(services.trips_ahead(address, moment), moment)
    return render_template(
        "addresses/show.html",
        address=address,
        upcoming=upcoming,
        past_count=services.past_trip_count(address, moment),
    )


@bp.route("/<int:address_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(address_id: int):
    """« Modifier »: changeable trips follow the change; past and locked ones keep the old one."""
    address = services.address_or_404(signed_in().id, address_id)
    # The stored address fills the form on GET only: a POST holds what was posted.
    stored = address if request.method == "GET" else None
    form = AddressForm(obj=stored, account_id=signed_in().id, address_id=address.id)
    if stored is not None:
        form.kind.data = address.kind.value
    if form.validate_on_submit():
        try:
            edited = services.update(address, form, now())
            db.session.commit()
        except IntegrityError:
            return _label_taken(form, "addresses/form.html", address=address, phone=_phone())
        flash(f"L'adresse « {edited.address.label} » est modifiée.", "success")
        if edited.sent_again:
            flash(sent_again_message(edited.sent_again), "info")
        if edited.kept_by_imminent_trips:
            flash(kept_message(edited.kept_by_imminent_trips, _phone()), "info")
        return redirect(url_for("addresses.index"))
    return render_template("addresses/form.html", form=form, address=address, phone=_phone())


@bp.route("/<int:address_id>/supprimer", methods=["GET", "POST"])
@login_required
def delete(address_id: int):
    """« Supprimer », after confirmation; refused while a trip still to come uses it."""
    address = services.address_or_404(signed_in().id, address_id)
    moment = now()
    blocking = services.upcoming_trips(services.trips_ahead(address, moment), moment)
    form = ConfirmDeleteForm()
    if not blocking and form.validate_on_submit():
        services.archive(address)
        db.session.commit()
        flash(f"L'adresse « {address.label} » est supprimée.", "success")
        return redirect(url_for("addresses.index"))
    return render_template(
        "addresses/delete.html",
        address=address,
        form=form,
        blocking=blocking,
        blocked_message=rules.DELETE_BLOCKED_MESSAGE,
        imminent_ids={trip.id for trip in services.imminent_trips(blocking, moment)},
        phone=_phone() if blocking else None,
        faq_link=_faq_link(),
    )

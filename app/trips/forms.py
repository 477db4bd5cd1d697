"""Forms of the trip pages: « Ajouter un trajet », its change, and cancellation."""

from datetime import time

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import ValidationError
from wtforms.widgets import TimeInput

from app.forms import REQUIRED, strip
from app.models import TRIP_PURPOSE_LABELS, TripPurpose
from app.trips import rules


class ChoiceField(SelectField):
    """A select whose values stay strings and whose messages are French.

    WTForms' own choice check speaks English; the view turns values into ids and the
    booking rules say what is wrong with them.
    """

    def __init__(self, label=None, validators=None, *, invalid_message: str, **kwargs):
        super().__init__(label, validators, coerce=str, validate_choice=False, **kwargs)
        self.invalid_message = invalid_message

    def pre_validate(self, form):
        if not self.data:
            raise ValidationError(REQUIRED)
        if self.data not in {value for value, _ in self.choices if value}:
            raise ValidationError(self.invalid_message)


def _choices(placeholder: str, options) -> list[tuple[str, str]]:
    """An empty first option that asks for a choice, then the options (value, label)."""
    return [("", placeholder), *options]


class HourField(StringField):
    """The trip's hour, typed or picked in the browser's own time control.

    The browser's control offers the quarter hours from 6h00 to 20h00 (`step` of 900 s) and
    sends "HH:MM"; the booking rules say what is wrong with any other value. One control
    instead of a list of 57 quarter hours, as the trip's date is the browser's date control.
    """

    widget = TimeInput()

    def __init__(self, label=None, validators=None, *, render_kw=None, **kwargs):
        first, last = rules.HOURS[0], rules.HOURS[-1]
        render_kw = {
            "min": first.strftime("%H:%M"),
            "max": last.strftime("%H:%M"),
            "step": rules.HOUR_STEP_MINUTES * 60,
            **(render_kw or {}),
        }
        super().__init__(label, validators, filters=[strip], render_kw=render_kw, **kwargs)

    def pre_validate(self, form):
        if not self.data:
            raise ValidationError(REQUIRED)
        if rules.parse_hour(self.data) is None:
            raise ValidationError(rules.HOUR_MESSAGE)

    def start_at(self, first_hour: time) -> None:
        """The day's first bookable hour, when the 48 h delay took the earlier ones: the
        control starts there, and its help (read with it by screen readers) says so."""
        self.render_kw = {**self.render_kw, "min": first_hour.strftime("%H:%M")}
        self.description = (
            f"Ce jour-là, de {rules.format_hour(first_hour)} à "
            f"{rules.format_hour(rules.HOURS[-1])}, par quart d'heure (délai de 48 h)."
        )


class TripForm(FlaskForm):
    child = ChoiceField("Enfant", invalid_message=rules.CHILD_MESSAGE)
    hour = HourField(
        "Heure",
        description="De 6h00 à 20h00, par quart d'heure, au moins 48 h à l'avance.",
    )
    from_address = ChoiceField("Départ", invalid_message=rules.ADDRESS_MESSAGE)
    to_address = ChoiceField("Destination", invalid_message=rules.ADDRESS_MESSAGE)
    purpose = ChoiceField(
        "Motif",
        invalid_message=rules.PURPOSE_MESSAGE,
        choices=_choices(
            "Choisissez un motif",
            [(purpose.value, TRIP_PURPOSE_LABELS[purpose]) for purpose in TripPurpose],
        ),
    )
    submit = SubmitField("Ajouter le trajet")

    def __init__(self, *args, children=(), addresses=(), first_hour=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.child.choices = _choices(
            "Choisissez un enfant", [(str(child.id), child.first_name) for child in children]
        )
        addresses = [
            (str(address.id), f"{address.label} ({address.kind.label})") for address in addresses
        ]
        self.from_address.choices = _choices("Choisissez une adresse", addresses)
        self.to_address.choices = _choices("Choisissez une adresse", addresses)
        if first_hour is not None:
            self.hour.start_at(first_hour)

    def field_for(self, problem: str):
        """The field next to which a booking problem is shown."""
        return {
            "child": self.child,
            "hour": self.hour,
            "from_address": self.from_address,
            "to_address": self.to_address,
            "purpose": self.purpose,
        }.get(problem)


class EditTripForm(TripForm):
    day = StringField(
        "Date",
        filters=[strip],
        description="Au format JJ/MM/AAAA.",
        render_kw={"type": "date"},
    )
    submit = SubmitField("Enregistrer les modifications")

    def validate_day(self, field):
        if not field.data:
            raise ValidationError(REQUIRED)
        if rules.parse_typed_day(field.data) is None:
            raise ValidationError(DAY_MESSAGE)

    def field_for(self, problem: str):
        if problem == "day":
            return self.day
        return super().field_for(problem)


DAY_MESSAGE = "Indiquez une date valide, par exemple 21/05/2026."


class CancelTripForm(FlaskForm):
    submit = SubmitField("Confirmer l'annulation")

"""« Mes adresses » forms, with their French messages."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from app.addresses import rules, services
from app.forms import REQUIRED
from app.models import ADDRESS_KIND_LABELS

KIND_MESSAGE = "Choisissez le type d'adresse dans la liste."
KIND_CHOICES = [("", "Choisissez un type")] + [
    (kind.value, label) for kind, label in ADDRESS_KIND_LABELS.items()
]
KIND_VALUES = {kind.value for kind in ADDRESS_KIND_LABELS}


def _too_long(max_length: int, what: str) -> Length:
    return Length(max=max_length, message=f"{what} ne doit pas dépasser {max_length} caractères.")


class AddressForm(FlaskForm):
    label = StringField(
        "Intitulé",
        description=(
            "Il vous permet de reconnaître l'adresse lors de la planification des trajets, "
            "par exemple « Maison » ou « École Jules Ferry »."
        ),
        filters=[rules.clean_text],
        validators=[
            DataRequired(message=REQUIRED),
            _too_long(rules.LABEL_MAX_LENGTH, "L'intitulé"),
        ],
        render_kw={"maxlength": rules.LABEL_MAX_LENGTH},
    )
    kind = SelectField("Type", choices=KIND_CHOICES, validate_choice=False)
    street = StringField(
        "Adresse",
        description="Le numéro et le nom de la voie, par exemple 12 rue des Lilas.",
        filters=[rules.clean_text],
        validators=[
            DataRequired(message=REQUIRED),
            _too_long(rules.STREET_MAX_LENGTH, "L'adresse"),
        ],
        render_kw={"maxlength": rules.STREET_MAX_LENGTH},
    )
    complement = StringField(
        "Complément d'adresse",
        description="Facultatif : bâtiment, escalier, étage, code d'accès…",
        filters=[rules.clean_text],
        validators=[_too_long(rules.COMPLEMENT_MAX_LENGTH, "Le complément d'adresse")],
        render_kw={"maxlength": rules.COMPLEMENT_MAX_LENGTH},
    )
    postal_code = StringField(
        "Code postal",
        description="5 chiffres, par exemple 75011.",
        filters=[rules.clean_text],
        validators=[DataRequired(message=REQUIRED)],
        render_kw={"inputmode": "numeric", "maxlength": 6},
    )
    city = StringField(
        "Ville",
        filters=[rules.clean_text],
        validators=[DataRequired(message=REQUIRED), _too_long(rules.CITY_MAX_LENGTH, "La ville")],
        render_kw={"maxlength": rules.CITY_MAX_LENGTH},
    )
    submit = SubmitField("Enregistrer l'adresse")

    def __init__(self, *args, account_id: int, address_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._account_id = account_id
        self._address_id = address_id

    def validate_label(self, field):
        if field.errors:  # too long already: no need to ask the database
            return
        if services.label_taken(self._account_id, field.data, except_id=self._address_id):
            raise ValidationError(rules.LABEL_TAKEN_MESSAGE)

    def validate_kind(self, field):
        if not field.data:
            raise ValidationError(REQUIRED)
        if field.data not in KIND_VALUES:
            raise ValidationError(KIND_MESSAGE)

    def validate_postal_code(self, field):
        problem = rules.postal_code_problem(field.data)
        if problem:
            raise ValidationError(problem)


class ConfirmDeleteForm(FlaskForm):
    submit = SubmitField("Supprimer l'adresse")

"""Forms of registration, login and passwords, with their French messages."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.auth import rules
from app.auth.validators import Email
from app.forms import REQUIRED, row_id, strip

NAME_LENGTH = Length(max=100, message="Ce champ ne doit pas dépasser 100 caractères.")
EMAIL_LENGTH = Length(max=254, message="L'adresse e-mail ne doit pas dépasser 254 caractères.")
PASSWORDS_DIFFER = "Les deux mots de passe ne sont pas identiques."
# A password typed to prove who one is (login, confirmation): required, and not absurdly long.
PASSWORD_LENGTH = Length(max=rules.PASSWORD_MAX_LENGTH, message=rules.PASSWORD_TOO_LONG_MESSAGE)
TYPED_PASSWORD = [DataRequired(message=REQUIRED), PASSWORD_LENGTH]

MEMBER_NUMBER_HELP = (
    "Le numéro présent sur votre carte de tiers payant. Il peut contenir des chiffres et/ou "
    "des lettres en fonction de votre mutuelle."
)
NAME_HELP = (
    "Le {what} de la personne présente sur votre carte de mutuelle avec la qualité "
    "« Adhérent » / « Souscripteur » du contrat."
)
PASSWORD_HELP = (
    "Au moins 8 caractères dont une majuscule, une minuscule et un chiffre. Évitez un mot de "
    "passe que vous utilisez déjà ailleurs ou trop évident (prénom, lieu de résidence, "
    "« 0000 », « 1234 »…)."
)


class NewPasswordMixin:
    """A new password and its confirmation; `personal_data()` lists what it must not contain,
    by default the `personal` words the view passes (names, member number)."""

    def __init__(self, *args, personal: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._personal = personal or []

    password = PasswordField(
        "Mot de passe",
        description=PASSWORD_HELP,
        validators=[DataRequired(message=REQUIRED)],
        render_kw={"maxlength": 128},
    )
    password_confirm = PasswordField(
        "Confirmation du mot de passe",
        validators=[
            DataRequired(message=REQUIRED),
            EqualTo("password", message=PASSWORDS_DIFFER),
        ],
    )

    def personal_data(self) -> list[str]:
        return self._personal

    def validate_password(self, field):
        problem = rules.password_problem(field.data or "", self.personal_data())
        if problem:
            raise ValidationError(problem)


class RegistrationForm(NewPasswordMixin, FlaskForm):
    insurer = SelectField("Votre mutuelle", coerce=row_id, validate_choice=False)
    member_number = StringField(
        "Numéro adhérent",
        description=MEMBER_NUMBER_HELP,
        filters=[strip],
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=32, message="Le numéro adhérent ne doit pas dépasser 32 caractères."),
        ],
    )
    first_name = StringField(
        "Prénom",
        description=NAME_HELP.format(what="prénom"),
        filters=[strip],
        validators=[DataRequired(message=REQUIRED), NAME_LENGTH],
    )
    last_name = StringField(
        "Nom",
        description=NAME_HELP.format(what="nom"),
        filters=[strip],
        validators=[DataRequired(message=REQUIRED), NAME_LENGTH],
    )
    email = EmailField(
        "Adresse e-mail",
        filters=[strip],
        validators=[DataRequired(message=REQUIRED), EMAIL_LENGTH, Email()],
    )
    phone = StringField(
        "Téléphone portable",
        description="Un numéro de portable français, par exemple 06 12 34 56 78.",
        filters=[strip],
        validators=[DataRequired(message=REQUIRED), Length(max=30, message=rules.PHONE_MESSAGE)],
    )
    submit = SubmitField("Créer mon compte")

    def validate_insurer(self, field):
        if field.data not in {value for value, _ in field.choices}:
            raise ValidationError("Choisissez votre mutuelle dans la liste.")

    def validate_member_number(self, field):
        if rules.normalize_member_number(field.data or "") is None:
            raise ValidationError(rules.MEMBER_NUMBER_MESSAGE)

    def validate_phone(self, field):
        if rules.normalize_phone(field.data or "") is None:
            raise ValidationError(rules.PHONE_MESSAGE)

    def personal_data(self) -> list[str]:
        return [
            self.first_name.data or "",
            self.last_name.data or "",
            self.member_number.data or "",
        ]


class LoginForm(FlaskForm):
    email = EmailField(
        "Adresse e-mail", filters=[strip], validators=[DataRequired(message=REQUIRED), EMAIL_LENGTH]
    )
    password = PasswordField("Mot de passe", validators=TYPED_PASSWORD)
    submit = SubmitField("Se connecter")


class EmailRequestForm(FlaskForm):
    """Asks for an e-mail address (forgotten password, confirmation sent again)."""

    email = EmailField(
        "Adresse e-mail",
        filters=[strip],
        validators=[DataRequired(message=REQUIRED), EMAIL_LENGTH, Email()],
    )
    submit = SubmitField("Envoyer")


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    submit = SubmitField("Enregistrer le nouveau mot de passe")

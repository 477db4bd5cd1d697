"""« Mon Espace » forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from app.auth import rules
from app.auth.forms import EMAIL_LENGTH, NewPasswordMixin
from app.auth.validators import Email
from app.forms import REQUIRED, strip


class EditAccountForm(FlaskForm):
    email = EmailField(
        "Adresse e-mail",
        description="Une nouvelle adresse ne remplace l'actuelle qu'une fois confirmée par e-mail.",
        filters=[strip],
        validators=[DataRequired(message=REQUIRED), EMAIL_LENGTH, Email()],
    )
    phone = StringField(
        "Téléphone portable",
        description="Un numéro de portable français, par exemple 06 12 34 56 78.",
        filters=[strip],
        validators=[DataRequired(message=REQUIRED), Length(max=30, message=rules.PHONE_MESSAGE)],
    )
    current_password = PasswordField(
        "Mot de passe actuel",
        description="Demandé seulement pour changer d'adresse e-mail.",
        validators=[Length(max=rules.PASSWORD_MAX_LENGTH, message=rules.PASSWORD_TOO_LONG_MESSAGE)],
    )
    submit = SubmitField("Enregistrer")

    def validate_phone(self, field):
        if rules.normalize_phone(field.data or "") is None:
            raise ValidationError(rules.PHONE_MESSAGE)


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(
        "Mot de passe actuel",
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=rules.PASSWORD_MAX_LENGTH, message=rules.PASSWORD_TOO_LONG_MESSAGE),
        ],
    )
    submit = SubmitField("Changer mon mot de passe")

    def __init__(self, *args, personal: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._personal = personal or []
        self.password.label.text = "Nouveau mot de passe"
        self.password_confirm.label.text = "Confirmation du nouveau mot de passe"

    def personal_data(self) -> list[str]:
        return self._personal


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Mot de passe",
        description="Pour confirmer la suppression, saisissez votre mot de passe.",
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=rules.PASSWORD_MAX_LENGTH, message=rules.PASSWORD_TOO_LONG_MESSAGE),
        ],
    )
    submit = SubmitField("Supprimer définitivement mon compte")


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        "Mot de passe",
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=rules.PASSWORD_MAX_LENGTH, message=rules.PASSWORD_TOO_LONG_MESSAGE),
        ],
    )
    submit = SubmitField("Continuer")

"""« Mon Espace » forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from app.auth import rules
from app.auth.forms import EMAIL_LENGTH, PASSWORD_LENGTH, TYPED_PASSWORD, NewPasswordMixin
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
        validators=[PASSWORD_LENGTH],
    )
    submit = SubmitField("Enregistrer")

    def validate_phone(self, field):
        if rules.normalize_phone(field.data or "") is None:
            raise ValidationError(rules.PHONE_MESSAGE)


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField("Mot de passe actuel", validators=TYPED_PASSWORD)
    submit = SubmitField("Changer mon mot de passe")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.password.label.text = "Nouveau mot de passe"
        self.password_confirm.label.text = "Confirmation du nouveau mot de passe"


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Mot de passe",
        description="Pour confirmer la suppression, saisissez votre mot de passe.",
        validators=TYPED_PASSWORD,
    )
    submit = SubmitField("Supprimer définitivement mon compte")


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField("Mot de passe", validators=TYPED_PASSWORD)
    submit = SubmitField("Continuer")

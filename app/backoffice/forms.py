"""The back-office's forms, with their French messages."""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.auth.forms import EMAIL_LENGTH, TYPED_PASSWORD, NewPasswordMixin
from app.auth.validators import Email
from app.forms import REQUIRED, row_id, strip
from app.models import REIMBURSEMENT_STATUS_LABELS, ReimbursementStatus
from app.reimbursements.rules import same_status_problem

CODE_HELP = (
    "Les 6 chiffres affichés par votre application d'authentification, ou l'un de vos codes "
    "de secours."
)
DATE_MESSAGE = "Saisissez une date valide, par exemple 2026-05-21."


class StaffLoginForm(FlaskForm):
    email = EmailField(
        "Adresse e-mail",
        filters=[strip],
        validators=[DataRequired(message=REQUIRED), EMAIL_LENGTH, Email()],
    )
    password = PasswordField("Mot de passe", validators=TYPED_PASSWORD)
    code = StringField(
        "Code de vérification",
        description=CODE_HELP,
        filters=[strip],
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=20, message="Le code ne doit pas dépasser 20 caractères."),
        ],
        render_kw={"inputmode": "numeric", "maxlength": 20},
    )
    submit = SubmitField("Se connecter")


class StaffPasswordForm(NewPasswordMixin, FlaskForm):
    submit = SubmitField("Enregistrer le mot de passe")


class SecondFactorForm(FlaskForm):
    code = StringField(
        "Code à 6 chiffres",
        description="Le code affiché par votre application après avoir scanné le QR code.",
        filters=[strip],
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=10, message="Le code compte 6 chiffres."),
        ],
        render_kw={"inputmode": "numeric", "maxlength": 10},
    )
    submit = SubmitField("Activer la double authentification")


class StatusForm(FlaskForm):
    status = SelectField(
        "Nouveau statut",
        choices=[(status.value, label) for status, label in REIMBURSEMENT_STATUS_LABELS.items()],
        validators=[DataRequired(message=REQUIRED)],
        validate_choice=False,
    )
    comment = TextAreaField(
        "Commentaire",
        description="Visible par l'adhérent dans l'historique et dans l'e-mail.",
        filters=[strip],
        validators=[
            Length(max=1000, message="Le commentaire ne doit pas dépasser 1000 caractères.")
        ],
    )
    submit = SubmitField("Enregistrer le statut")

    def __init__(self, *args, current: ReimbursementStatus, **kwargs):
        super().__init__(*args, **kwargs)
        self.current = current

    def validate_status(self, field):
        if field.data not in {status.value for status in REIMBURSEMENT_STATUS_LABELS}:
            raise ValidationError("Choisissez un statut de la liste.")
        problem = same_status_problem(
            self.current, ReimbursementStatus(field.data), self.comment.data
        )
        if problem:
            raise ValidationError(problem)


class JournalFilterForm(FlaskForm):
    """Filters of the access log, read from the query string."""

    class Meta:
        csrf = False

    staff = SelectField("Membre du personnel", coerce=row_id, validate_choice=False)
    member = StringField(
        "Numéro adhérent",
        filters=[strip],
        validators=[Optional(), Length(max=32, message="32 caractères au plus.")],
    )
    start = DateField("Du", validators=[Optional()], format="%Y-%m-%d")
    end = DateField("Au", validators=[Optional()], format="%Y-%m-%d")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in (self.start, self.end):
            if field.errors:
                field.errors[:] = [DATE_MESSAGE]
        if valid and self.start.data and self.end.data and self.start.data > self.end.data:
            self.end.errors.append("La date de fin doit suivre la date de début.")
            return False
        return valid

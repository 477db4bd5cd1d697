"""« Nouvelle demande » and « Compléter ma demande » forms, with their French messages."""

from datetime import date

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    StopValidation,
    ValidationError,
)

from app.forms import REQUIRED, row_id, strip
from app.models import AssistanceFile
from app.reimbursements import rules, storage
from app.reimbursements.services import first_guarantee_start, requests_sent_today, stored_bytes
from app.reimbursements.storage import Upload

DATE_INVALID_MESSAGE = "Saisissez une date valide, par exemple 14/03/2026."
FILE_CHOICE_MESSAGE = "Choisissez l'un de vos dossiers d'assistance."
DOCUMENTS_HELP = (
    "PDF, JPEG ou PNG uniquement (une photo prise avec votre téléphone convient), 10 Mo au "
    "plus par fichier, 5 fichiers au plus par demande. Vous pouvez en choisir plusieurs à la fois."
)
ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"


class ExpenseDateField(DateField):
    """A date from the browser's date picker (or typed JJ/MM/AAAA); blank means missing."""

    def process_formdata(self, valuelist):
        typed = " ".join(valuelist or []).strip()
        if not typed:
            self.data = None
            return
        try:
            super().process_formdata([typed])
        except ValueError:
            raise ValueError(DATE_INVALID_MESSAGE) from None


class DocumentsMixin:
    """Supporting documents, inspected by content; `existing` counts those already stored."""

    documents = MultipleFileField(
        "Justificatifs",
        description=DOCUMENTS_HELP,
        render_kw={"accept": ACCEPT},
    )
    existing_documents = 0
    account_id: int

    def validate_documents(self, field):
        files = field.data or []
        if not files:
            raise ValidationError(rules.DOCUMENTS_REQUIRED_MESSAGE)
        problem = rules.document_count_problem(self.existing_documents, len(files))
        if problem:
            raise ValidationError(problem)
        self.uploads: list[Upload] = [storage.inspect(f) for f in files]
        problems = [upload.problem for upload in self.uploads if upload.problem]
        # One message per refused file, so the member knows which ones to replace.
        field.errors.extend(problems)
        if not problems:
            added = sum(upload.size for upload in self.uploads)
            problem = rules.storage_problem(stored_bytes(self.account_id), added)
            if problem:
                raise ValidationError(problem)


class ReimbursementForm(DocumentsMixin, FlaskForm):
    assistance_file = SelectField(
        "Dossier d'assistance", coerce=row_id, validate_choice=False, choices=[]
    )
    nature = StringField(
        "Nature de la dépense",
        description="Par exemple : Frais de taxi avancés.",
        filters=[strip],
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=200, message="La nature de la dépense ne doit pas dépasser 200 caractères."),
        ],
    )
    expense_date = ExpenseDateField(
        "Date de la dépense",
        format=["%Y-%m-%d", "%d/%m/%Y"],
        # InputRequired, not DataRequired: it keeps the « date valide » error of a bad value.
        validators=[InputRequired(message=REQUIRED)],
    )
    amount = StringField(
        "Montant",
        description="En euros, par exemple 35,50. 10 000 € au plus.",
        filters=[strip],
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=20, message=rules.AMOUNT_FORMAT_MESSAGE),
        ],
        render_kw={"inputmode": "decimal"},
    )
    holder_name = StringField(
        "Titulaire du compte",
        description="Le nom de la personne titulaire du compte bancaire à créditer.",
        filters=[strip],
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=140, message="Le nom du titulaire ne doit pas dépasser 140 caractères."),
        ],
    )
    iban = StringField(
        "IBAN",
        description="Tel qu'il figure sur votre relevé d'identité bancaire (RIB), par exemple "
        "FR76 3000 6000 0112 3456 7890 189.",
        filters=[strip],
        validators=[
            DataRequired(message=REQUIRED),
            Length(max=60, message=rules.IBAN_FORMAT_MESSAGE),
        ],
        render_kw={"autocapitalize": "characters", "spellcheck": "false"},
    )
    submit = SubmitField("Envoyer ma demande")

    def __init__(self, *args, files: list[AssistanceFile], today: date, account_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_id = account_id
        self._files = {file.id: file for file in files}
        self._today = today
        self.assistance_file.choices = [(file.id, file.number) for file in files]
        if len(files) == 1 and not self.is_submitted():  # the only file, chosen already
            self.assistance_file.data = files[0].id

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        problem = rules.daily_requests_problem(requests_sent_today(self.account_id))
        if problem:
            self.form_errors.append(problem)
            return False
        return True

    @property
    def chosen_file(self) -> AssistanceFile | None:
        return self._files.get(self.assistance_file.data)

    def validate_assistance_file(self, field):
        if self.chosen_file is None:
            raise ValidationError(FILE_CHOICE_MESSAGE)

    def validate_expense_date(self, field):
        if field.data is None:
            # Blank once stripped: InputRequired let it through, since something was sent.
            if not field.errors:
                raise StopValidation(REQUIRED)
            return
        file = self.chosen_file
        start = first_guarantee_start(file) if file else None
        problem = rules.expense_date_problem(field.data, self._today, start)
        if problem:
            raise ValidationError(problem)

    def validate_amount(self, field):
        if field.errors:  # too long already: the same message once is enough
            return
        try:
            self.amount_cents = rules.parse_amount(field.data)
        except rules.RuleError as error:
            raise ValidationError(error.message) from None

    def validate_iban(self, field):
        if field.errors:  # too long already
            return
        try:
            self.iban_compact = rules.normalize_iban(field.data)
        except rules.RuleError as error:
            raise ValidationError(error.message) from None


class CompletionForm(DocumentsMixin, FlaskForm):
    submit = SubmitField("Ajouter ces justificatifs")

    def __init__(self, *args, account_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_id = account_id  # existing_documents is set once the request is read

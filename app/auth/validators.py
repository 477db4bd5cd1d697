"""WTForms validators shared by several forms."""

from email_validator import EmailNotValidError, validate_email
from wtforms.validators import ValidationError

EMAIL_MESSAGE = "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr."


def normalize_email(value: str) -> str | None:
    """The address in lower case once its syntax is checked, or None (no DNS lookup)."""
    try:
        result = validate_email(value or "", check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


class Email:
    """Checks the syntax of an e-mail address and stores it in lower case."""

    def __call__(self, form, field):
        normalized = normalize_email(field.data or "")
        if normalized is None:
            raise ValidationError(EMAIL_MESSAGE)
        field.data = normalized

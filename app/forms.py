"""What the forms of every package share: French messages and the input filter."""

REQUIRED = "Ce champ est obligatoire."
EMAIL_TAKEN = "Cette adresse e-mail est déjà utilisée par un autre compte."


def strip(value):
    """A WTForms filter: the text typed, without surrounding spaces."""
    return value.strip() if isinstance(value, str) else value

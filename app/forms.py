"""What the forms of every package share: French messages and the input filter."""

REQUIRED = "Ce champ est obligatoire."
EMAIL_TAKEN = "Cette adresse e-mail est déjà utilisée par un autre compte."


def strip(value):
    """A WTForms filter: the text typed, without surrounding spaces."""
    return value.strip() if isinstance(value, str) else value


def row_id(value) -> int | None:
    """A select's `coerce`: the chosen row's id, None for anything else (blank, letters).

    WTForms answers a value its `coerce=int` cannot read with an English message; None lets
    the form's own check say in French that nothing valid was chosen.
    """
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

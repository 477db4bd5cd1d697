"""Every form's fields, read from the pages themselves: WTForms renders each control and the
one `field` macro (_form.html) gives it its label, its help and its error, tied to it for
assistive technology. Checked on each form page as it opens and after an empty POST: every
control has an id and exactly one label, what `aria-describedby` names exists, a field in
error says so (`aria-invalid`) and points at its message, and the messages are French."""

from html.parser import HTMLParser

import pytest

from tests.conftest import submit
from tests.test_reimbursements import post_multipart
from tests.test_trips import add_addresses, bookable_day

CONTROLS = {"input", "select", "textarea"}
NOT_FIELDS = {"hidden", "submit", "button"}
# WTForms' own messages, which the forms must never show.
ENGLISH = ("This field", "Not a valid", "Invalid", "must be", "required")


class FormPage(HTMLParser):
    """The controls of a page, its labels, and the text of its elements that have an id."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[dict[str, str]] = []
        self.labels: list[tuple[str, str]] = []  # (for, text)
        self.texts: dict[str, str] = {}  # id -> text, for labels, paragraphs and spans
        self.ids: list[str] = []
        self._open: list[tuple[str, dict, list[str]]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag in CONTROLS and attributes.get("type") not in NOT_FIELDS:
            self.controls.append(attributes)
        if tag in {"label", "p", "span", "div"}:
            self._open.append((tag, attributes, []))

    def handle_endtag(self, tag):
        if not self._open or self._open[-1][0] != tag:
            return
        _, attributes, parts = self._open.pop()
        text = " ".join("".join(parts).split())
        if self._open:
            self._open[-1][2].append(text)
        if tag == "label":
            self.labels.append((attributes.get("for", ""), text))
        if "id" in attributes:
            self.texts[attributes["id"]] = text

    def handle_data(self, data):
        if self._open:
            self._open[-1][2].append(data)

    def fields(self) -> list[dict[str, str]]:
        """The controls a member fills in (the honeypot of a form, if any, is not one)."""
        return [control for control in self.controls if control.get("tabindex") != "-1"]


def check_fields(markup: str) -> FormPage:
    page = FormPage(markup)
    assert page.fields(), "no field on the page"
    duplicates = {value for value in page.ids if page.ids.count(value) > 1}
    assert not duplicates, f"ids used twice: {duplicates}"
    for control in page.fields():
        field_id = control.get("id")
        assert field_id, f"a control without id: {control}"
        labels = [text for target, text in page.labels if target == field_id]
        assert len(labels) == 1 and labels[0], f"{field_id}: labels {labels}"
        for described_by in control.get("aria-describedby", "").split():
            assert page.texts.get(described_by), f"{field_id}: nothing at #{described_by}"
    return page


def emptied(page: FormPage) -> dict[str, str]:
    """What a browser sends when every field was left blank."""
    return {control["name"]: "" for control in page.fields() if control.get("type") != "file"}


def check_errors(markup: str) -> list[str]:
    """The page after a bad POST: the fields in error and their messages."""
    page = check_fields(markup)
    in_error = [c for c in page.fields() if c.get("aria-invalid") == "true"]
    assert in_error, "no field says it is in error"
    messages = []
    for control in in_error:
        error_id = f"{control['id']}-erreur"
        assert error_id in control.get("aria-describedby", "").split(), control
        message = page.texts[error_id]
        assert message and not any(word in message for word in ENGLISH), message
        messages.append(message)
    # And no error message hangs loose, tied to no field.
    errors = [value for value in page.ids if value.endswith("-erreur")]
    assert sorted(errors) == sorted(f"{c['id']}-erreur" for c in in_error)
    return messages


# (form page, whether it is a member's), each with nothing but its fields to fill in.
FORMS = [
    ("/inscription", False),
    ("/connexion", False),
    ("/mot-de-passe-oublie", False),
    ("/inscription/renvoyer-confirmation", False),
    ("/gestion/connexion", False),
    ("/adresses/ajouter", True),
    ("/mon-espace/modifier", True),
    ("/mon-espace/mot-de-passe", True),
    ("/mon-espace/supprimer", True),
    ("/mon-espace/confirmer-mot-de-passe", True),
]


REQUIRED = "Ce champ est obligatoire."
# What each form shows, as members read it: its fields' ids and labels in order, and the
# message beside each field after an empty POST. Taken from the pages as they were before
# WTForms rendered the fields (1fc8ca2^, with app/widgets.py) and unchanged since, except
# the reimbursement form's « Dossier d'assistance », which said « Invalid Choice: could not
# coerce. » then.
SHOWN = {
    "/inscription": (
        [
            ("member_number", "Numéro adhérent"),
            ("first_name", "Prénom"),
            ("last_name", "Nom"),
            ("email", "Adresse e-mail"),
            ("phone", "Téléphone portable"),
            ("password", "Mot de passe"),
            ("password_confirm", "Confirmation du mot de passe"),
        ],
        dict.fromkeys(
            ["member_number", "first_name", "last_name", "email", "phone", "password"]
            + ["password_confirm"],
            REQUIRED,
        ),
    ),
    "/connexion": (
        [("email", "Adresse e-mail"), ("password", "Mot de passe")],
        {"email": REQUIRED, "password": REQUIRED},
    ),
    "/mot-de-passe-oublie": ([("email", "Adresse e-mail")], {"email": REQUIRED}),
    "/inscription/renvoyer-confirmation": ([("email", "Adresse e-mail")], {"email": REQUIRED}),
    "/adresses/ajouter": (
        [
            ("label", "Intitulé"),
            ("kind", "Type"),
            ("street", "Adresse"),
            ("complement", "Complément d'adresse"),
            ("postal_code", "Code postal"),
            ("city", "Ville"),
        ],
        dict.fromkeys(["label", "kind", "street", "postal_code", "city"], REQUIRED),
    ),
    "/mon-espace/modifier": (
        [
            ("email", "Adresse e-mail"),
            ("phone", "Téléphone portable"),
            ("current_password", "Mot de passe actuel"),
        ],
        {"email": REQUIRED, "phone": REQUIRED},
    ),
    "/mon-espace/mot-de-passe": (
        [
            ("current_password", "Mot de passe actuel"),
            ("password", "Nouveau mot de passe"),
            ("password_confirm", "Confirmation du nouveau mot de passe"),
        ],
        dict.fromkeys(["current_password", "password", "password_confirm"], REQUIRED),
    ),
    "/mon-espace/supprimer": ([("password", "Mot de passe")], {"password": REQUIRED}),
    # Built after that change, pinned as they are.
    "/mon-espace/confirmer-mot-de-passe": ([("password", "Mot de passe")], {"password": REQUIRED}),
    "/gestion/connexion": (
        [
            ("email", "Adresse e-mail"),
            ("password", "Mot de passe"),
            ("code", "Code de vérification"),
        ],
        dict.fromkeys(["email", "password", "code"], REQUIRED),
    ),
    "/remboursements/nouvelle-demande": (
        [
            ("assistance_file", "Dossier d'assistance"),
            ("nature", "Nature de la dépense"),
            ("expense_date", "Date de la dépense"),
            ("amount", "Montant"),
            ("holder_name", "Titulaire du compte"),
            ("iban", "IBAN"),
            ("documents", "Justificatifs"),
        ],
        {
            "assistance_file": "Choisissez l'un de vos dossiers d'assistance.",
            **dict.fromkeys(["nature", "expense_date", "amount", "holder_name", "iban"], REQUIRED),
            "documents": "Joignez au moins un justificatif (PDF, JPEG ou PNG).",
        },
    ),
    "day": (
        [
            ("child", "Enfant"),
            ("hour", "Heure"),
            ("from_address", "Départ"),
            ("to_address", "Destination"),
            ("purpose", "Motif"),
        ],
        dict.fromkeys(["child", "hour", "from_address", "to_address", "purpose"], REQUIRED),
    ),
}


def shown(page: FormPage) -> list[tuple[str, str]]:
    """The fields as a member reads them: id and label, in order."""
    labels = dict(page.labels)
    return [(control["id"], labels[control["id"]]) for control in page.fields()]


def errors_shown(markup: str) -> dict[str, str]:
    """The message beside each field in error, checked as `check_errors` does."""
    check_errors(markup)
    page = FormPage(markup)
    return {
        control["id"]: page.texts[f"{control['id']}-erreur"]
        for control in page.fields()
        if control.get("aria-invalid") == "true"
    }


@pytest.mark.parametrize(("url", "member"), FORMS)
def test_forms_tie_labels_help_and_errors_to_their_fields(client, auth, url, member):
    if member:
        auth.sophie()
    page = check_fields(client.get(url).get_data(as_text=True))
    response = submit(client, url, emptied(page))
    assert response.status_code == 200
    errors = errors_shown(response.get_data(as_text=True))
    assert (shown(page), errors) == SHOWN[url]


def test_the_day_page_form_ties_labels_help_and_errors_to_its_fields(app, client, auth):
    auth.sophie()
    add_addresses(app)
    url = f"/trajets/{bookable_day().isoformat()}"
    page = check_fields(client.get(url).get_data(as_text=True))
    errors = errors_shown(submit(client, url, emptied(page)).get_data(as_text=True))
    assert (shown(page), errors) == SHOWN["day"]


def test_the_reimbursement_form_ties_labels_help_and_errors_to_its_fields(client, auth):
    auth.sophie()
    url = "/remboursements/nouvelle-demande"
    page = check_fields(client.get(url).get_data(as_text=True))
    response = post_multipart(client, url, emptied(page))
    assert response.status_code == 200
    errors = errors_shown(response.get_data(as_text=True))
    assert (shown(page), errors) == SHOWN[url]

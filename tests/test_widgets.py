"""app/widgets.py writes the same HTML as WTForms: this guards a WTForms upgrade."""

import pytest
from wtforms import SelectChoice

from app.account.forms import ChangePasswordForm, EditAccountForm
from app.addresses.forms import AddressForm
from app.auth.forms import LoginForm, RegistrationForm
from app.widgets import hidden_tag, render_widget

HOSTILE = "\"<b>&'é"
ATTRIBUTE_SETS = [
    {},
    {"autocomplete": "email", "aria-invalid": "true", "aria-describedby": "x-aide x-erreur"},
    {"class_": "button", "type": "tel", "data_x": HOSTILE},
]


def _forms():
    registration = RegistrationForm(
        data={"member_number": HOSTILE, "first_name": "Zoé", "email": "a@b.fr"}
    )
    registration.insurer.choices = [SelectChoice(1, "Mutuelle Démo"), SelectChoice(2, HOSTILE)]
    registration.insurer.data = 2
    return [
        registration,
        LoginForm(data={"email": HOSTILE, "password": "secret"}),
        EditAccountForm(data={"email": "a@b.fr", "phone": "06 12 34 56 78"}),
        ChangePasswordForm(),
        AddressForm(data={"label": HOSTILE, "postal_code": "75011"}, account_id=1),
    ]


@pytest.mark.parametrize("attrs", ATTRIBUTE_SETS)
def test_render_widget_matches_wtforms(app, attrs):
    with app.test_request_context("/"):
        for form in _forms():
            for field in form:
                assert str(render_widget(field, dict(attrs))) == str(field(**attrs)), field.name


def test_hidden_tag_matches_flask_wtf(app):
    with app.test_request_context("/"):
        form = LoginForm()
        assert str(hidden_tag(form)) == str(form.hidden_tag())

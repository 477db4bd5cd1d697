"""app/widgets.py writes the same HTML as WTForms: this guards a WTForms upgrade."""

import re

import pytest
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, Form, SelectChoice, SelectField
from wtforms.validators import DataRequired

from app.account.forms import ChangePasswordForm, EditAccountForm
from app.addresses.forms import AddressForm
from app.auth.forms import LoginForm, RegistrationForm
from app.widgets import hidden_tag, render_field, render_widget

HOSTILE = "\"<b>&'é"
ATTRIBUTE_SETS = [
    {},
    {"autocomplete": "email", "aria-invalid": "true", "aria-describedby": "x-aide x-erreur"},
    {"class_": "button", "type": "tel", "data_x": HOSTILE},
]


class ConsentForm(FlaskForm):
    consent = BooleanField("J'accepte « les conditions »", validators=[DataRequired()])


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
        ConsentForm(),
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


# The Jinja macro `render_field` replaced, kept as the reference for its markup.
FIELD_MACRO = """
{% macro field(f, help=None, autocomplete=None, type=None, extra_class="") %}
  {% set help = help or f.description %}
  {% set described = [] %}
  {% if help %}{% set _ = described.append(f.id ~ '-aide') %}{% endif %}
  {% if f.errors %}{% set _ = described.append(f.id ~ '-erreur') %}{% endif %}
  {% set attrs = {} %}
  {% if described %}
    {% set _ = attrs.update({'aria-describedby': described | join(' ')}) %}{% endif %}
  {% if f.errors %}{% set _ = attrs.update({'aria-invalid': 'true'}) %}{% endif %}
  {% if autocomplete %}{% set _ = attrs.update({'autocomplete': autocomplete}) %}{% endif %}
  {% if type %}{% set _ = attrs.update({'type': type}) %}{% endif %}
  {% if f.flags.required %}{% set _ = attrs.update({'aria-required': 'true'}) %}{% endif %}
  <div class="field{% if f.errors %} field-error{% endif %} {{ extra_class }}">
    {% if f.type == 'BooleanField' %}
      {{ render_widget(f, attrs) }} <label for="{{ f.label.field_id }}">{{ f.label.text }}</label>
    {% else %}
      <label for="{{ f.label.field_id }}">{{ f.label.text }}</label>
      {% if help %}<p class="help" id="{{ f.id }}-aide">{{ help }}</p>{% endif %}
      {{ render_widget(f, attrs) }}
    {% endif %}
    {% if f.errors %}
      <p class="error" id="{{ f.id }}-erreur">
        {% for error in f.errors %}{{ error }}{% if not loop.last %} {% endif %}{% endfor %}
      </p>
    {% endif %}
  </div>
{% endmacro %}
"""


def _collapsed(html) -> str:
    """Markup without the whitespace a template leaves between and inside tags."""
    return (
        re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(html)))
        .replace("> ", ">")
        .replace(" <", "<")
        .strip()
    )


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"help": "Une aide <b>", "autocomplete": "username"},
        {"type": "tel", "extra_class": "field-wide"},
        {"help": HOSTILE, "extra_class": HOSTILE},
    ],
)
def test_render_field_matches_the_former_macro(app, options):
    with app.test_request_context("/"):
        macro = app.jinja_env.from_string(FIELD_MACRO).module.field
        for form in _forms():
            form.validate()  # errors on some fields, none on others
            for field in form:
                if field.type in ("CSRFTokenField", "SubmitField"):
                    continue
                expected = macro(field, **options)
                assert _collapsed(render_field(field, **options)) == _collapsed(expected), (
                    field.name
                )


def test_options_are_escaped_whatever_was_rendered_before(app):
    class Choice(Form):
        pick = SelectField(choices=[])

    with app.test_request_context("/"):
        trusted, typed = Choice(), Choice()
        trusted.pick.choices = [SelectChoice("1", Markup("<b>gras</b>"))]
        typed.pick.choices = [SelectChoice("1", "<b>gras</b>")]
        assert "<b>gras</b>" in str(render_widget(trusted.pick, {}))
        assert "&lt;b&gt;gras&lt;/b&gt;" in str(render_widget(typed.pick, {}))
        odd = Choice()
        odd.pick.choices = [SelectChoice("1", "Un", {"data-x": ["a"]})]
        assert str(render_widget(odd.pick, {})) == str(odd.pick())


@pytest.mark.parametrize(
    "first, second",
    [
        ({"disabled": 1}, {"disabled": True}),
        ({"data-n": False}, {"data-n": 0}),
        ({"title": Markup("a &amp; b")}, {"title": "a &amp; b"}),
    ],
)
def test_option_attributes_equal_in_value_but_not_in_type_render_as_wtforms(app, first, second):
    class Choice(Form):
        pick = SelectField(choices=[])

    with app.test_request_context("/"):
        for order in ([first, second], [second, first]):
            for render_kw in order:
                form = Choice()
                form.pick.choices = [SelectChoice("1", "Un", dict(render_kw))]
                assert str(render_widget(form.pick, {})) == str(form.pick()), render_kw

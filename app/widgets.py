"""Fast HTML for the common form widgets, the same markup as WTForms' own.

WTForms builds each attribute through `Markup.format`, which costs more than the rest of a
form page: text, e-mail, password, hidden and submit inputs and plain selects are written
here directly, in the same attribute order (sorted) and with the same escaping. Any other
widget, a select with groups or several values, or a field with a datalist, goes through
WTForms.
"""

from functools import lru_cache

from markupsafe import Markup, escape
from wtforms.widgets import (
    EmailInput,
    HiddenInput,
    PasswordInput,
    Select,
    SubmitInput,
    TextInput,
)
from wtforms.widgets.core import clean_key

_INPUTS = (TextInput, EmailInput, PasswordInput, HiddenInput, SubmitInput)


def _quoted(value) -> str:
    """An attribute value escaped as WTForms does (a Markup value may still hold quotes)."""
    return str(escape(value)).replace('"', "&quot;")


def _attributes(params: dict) -> str:
    """`html_params`: sorted attributes, True as a bare name, False left out."""
    parts = []
    for key, value in sorted(params.items()):
        if value is True:
            parts.append(key)
        elif value is not False:
            parts.append(f'{key}="{_quoted(value)}"')
    return " ".join(parts)


def _merged(field, attrs: dict) -> dict:
    """The field's render_kw overridden by the template's attributes, keys cleaned."""
    params = {clean_key(k): v for k, v in field.render_kw.items()} if field.render_kw else {}
    for key, value in attrs.items():
        params[clean_key(key)] = value
    return params


def _input(field, widget, attrs: dict) -> Markup:
    params = _merged(field, attrs)
    params.setdefault("id", field.id)
    params.setdefault("type", widget.input_type)
    if isinstance(widget, PasswordInput) and widget.hide_value:
        params["value"] = ""
    elif isinstance(widget, SubmitInput):
        params.setdefault("value", field.label.text)
    elif "value" not in params:
        params["value"] = field._value()
    flags = vars(field.flags)  # the flags set on the field, as WTForms' dir(flags)
    for name in widget.validation_attrs:
        if name not in params and name in flags:
            value = flags[name]
            params[name] = value() if callable(value) else value
    params["name"] = field.name
    return Markup(f"<input {_attributes(params)}>")  # noqa: S704 - values escaped above


def _option(choice) -> str:
    value = choice.value
    if isinstance(value, bool):
        value = str(value)
    label = choice.label or choice.value
    # The types are part of the key: a Markup text equals the same text as a str, and True
    # equals 1 but renders as a bare attribute.
    extra = (
        tuple((key, item, type(item)) for key, item in choice.render_kw.items())
        if choice.render_kw
        else ()
    )
    key = (value, type(value), label, type(label), bool(choice.selected), extra)
    try:
        return _option_html(*key)
    except TypeError:  # an attribute value that cannot be a key (a list, a dict)
        return _option_html.__wrapped__(*key)


@lru_cache(maxsize=4096)
def _option_html(value, value_type, label, label_type, selected: bool, extra: tuple) -> str:
    """One `<option>`; lists such as the day page's 57 hours repeat the same ones."""
    label = escape(label)
    if extra:
        params = {"value": value, **{key: item for key, item, _ in extra}}
        if selected:
            params["selected"] = True
        return f"<option {_attributes(params)}>{label}</option>"
    selected_attribute = "selected " if selected else ""
    return f'<option {selected_attribute}value="{_quoted(value)}">{label}</option>'


def _select(field, widget, attrs: dict) -> Markup:
    params = _merged(field, attrs)
    params.setdefault("id", field.id)
    flags = vars(field.flags)
    for name in widget.validation_attrs:
        if name not in params and name in flags:
            params[name] = flags[name]
    params["name"] = field.name
    options = "".join(_option(choice) for choice in field._iter_choices_normalized())
    return Markup(f"<select {_attributes(params)}>{options}</select>")  # noqa: S704 - escaped


def render_widget(field, attrs: dict) -> Markup:
    """The field's control with the given attributes, as `field(**attrs)` renders it."""
    widget = field.widget
    if getattr(field, "_datalist", None) is None:
        if type(widget) in _INPUTS:
            return _input(field, widget, attrs)
        if type(widget) is Select and not widget.multiple and not field.has_groups():
            return _select(field, widget, attrs)
    return field(**attrs)


def hidden_tag(form) -> Markup:
    """The form's hidden fields (the CSRF token), as Flask-WTF's `form.hidden_tag()`."""
    return Markup("\n").join(
        render_widget(f, {}) for f in form if isinstance(f.widget, HiddenInput)
    )


def render_field(field, help=None, autocomplete=None, type=None, extra_class="") -> Markup:
    """A field with its label, help text and errors, linked for assistive technology.

    The `field` macro of `_form.html` calls this: the same markup as the macro it replaced
    (guarded by tests/test_widgets.py), without Jinja's per-node cost on every form page.
    """
    help = help or field.description
    errors = field.errors
    described = []
    if help:
        described.append(f"{field.id}-aide")
    if errors:
        described.append(f"{field.id}-erreur")
    attrs = {}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if errors:
        attrs["aria-invalid"] = "true"
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    if type:
        attrs["type"] = type
    if field.flags.required:
        attrs["aria-required"] = "true"
    label = f'<label for="{escape(field.label.field_id)}">{escape(field.label.text)}</label>'
    control = render_widget(field, attrs)
    if field.type == "BooleanField":
        body = f"{control} {label}"
    else:
        help_text = (
            f'<p class="help" id="{escape(field.id)}-aide">{escape(help)}</p>' if help else ""
        )
        body = f"{label}{help_text}{control}"
    if errors:
        messages = " ".join(str(escape(error)) for error in errors)
        body += f'<p class="error" id="{escape(field.id)}-erreur">{messages}</p>'
    classes = f"field{' field-error' if errors else ''} {escape(extra_class)}"
    return Markup(f'<div class="{classes}">{body}</div>')  # noqa: S704 - every value escaped

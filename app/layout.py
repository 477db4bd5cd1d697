"""Page parts rendered once and kept: the header's navigation, the footer's links, and
blank forms (the login page's).

They change only with the application's root path and the values they are given. The one
per-session value in them, the CSRF token, is rendered as a placeholder and put in place on
each page (escaped), so a kept part never holds anybody's token.
"""

from collections.abc import Callable

from flask import current_app, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

_CACHE_KEY = "cartable_layout_fragments"
# A character no template writes, so that splitting on it finds only the placeholder.
TOKEN_SLOT = "\x00csrf-token\x00"  # noqa: S105 - a placeholder, not a secret
# A bound, should a server ever hand out many application roots.
_CACHE_SIZE = 64


def layout_fragment(template: str, **values: bool | int | str | None) -> Markup:
    """`template` rendered with `values` (kept per root), with this session's CSRF token."""
    return _kept(
        (template, tuple(sorted(values.items()))),
        lambda: render_template(template, csrf_slot=TOKEN_SLOT, **values),
    )


def blank_form_part(template: str, form_class: type[FlaskForm], **values: str | None) -> Markup:
    """`template` rendered with a blank `form_class` as `form` (kept per root), with this
    session's CSRF token: the part of a page holding a form nobody has sent yet."""

    def render() -> str:
        form = blank_form(form_class)
        html = render_template(template, form=form, **values)
        if form.meta.csrf and TOKEN_SLOT not in html:
            # Kept, the token would be handed to every visitor: never keep it.
            raise RuntimeError(f"{template} does not render the CSRF token of its form")
        return html

    return _kept((template, form_class, tuple(sorted(values.items()))), render)


def blank_form(form_class: type[FlaskForm], **kwargs) -> FlaskForm:
    """A form with no data, its CSRF token field rendering `TOKEN_SLOT`."""
    form = form_class(formdata=None, **kwargs)
    field_name = form.meta.csrf_field_name
    if form.meta.csrf and field_name in form:  # no field where CSRF is switched off
        form[field_name].current_token = TOKEN_SLOT
    return form


def _kept(key: tuple, render: Callable[[], str]) -> Markup:
    key = (request.script_root, *key)
    cache = current_app.extensions[_CACHE_KEY]
    parts = cache.get(key)
    if parts is None:
        parts = with_token_slot(render())
        # Nothing is kept while templates reload (development): an edit shows at once.
        if len(cache) < _CACHE_SIZE and not current_app.jinja_env.auto_reload:
            cache[key] = parts
    return fill_token_slot(parts)


def with_token_slot(html: str) -> tuple[str, ...]:
    """HTML rendered with `TOKEN_SLOT` for the CSRF token, cut where the token goes."""
    return tuple(html.split(TOKEN_SLOT))


def fill_token_slot(parts: tuple[str, ...]) -> Markup:
    """The HTML again, with this session's CSRF token (escaped) where the slot was."""
    # The parts come from an autoescaped template; the token is escaped here.
    if len(parts) == 1:
        return Markup(parts[0])  # noqa: S704
    return Markup(str(escape(generate_csrf())).join(parts))  # noqa: S704


def init_app(app) -> None:
    app.extensions[_CACHE_KEY] = {}
    app.jinja_env.globals["layout_fragment"] = layout_fragment

"""The application as served for the benchmark, plus two baseline routes.

Neither exists in the real application:
- `/bench-hello` measures what waitress and Flask cost by themselves in the same process,
  so that page figures read as a ratio;
- `/bench-plancher` is the floor of every logged-in page: the session, the account loaded
  by Flask-Login and the layout around an empty content, with no query of its own. A page's
  ratio cannot go above this one's.
"""

from flask import render_template
from flask_login import login_required

from app import create_app

app = create_app()

_EMPTY_PAGE = app.jinja_env.from_string(
    "{% extends 'base.html' %}{% block content %}<h1>Plancher</h1>{% endblock %}"
)


@app.get("/bench-hello")
def bench_hello():
    return "hello"


@app.get("/bench-plancher")
@login_required
def bench_floor():
    return render_template(_EMPTY_PAGE)

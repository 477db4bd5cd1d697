"""The README's production steps, followed as written, give a portal that serves every answer.

The `flask --app wsgi …` commands of the README's « Production » section run in that order,
as separate processes in production mode, on a new database; the portal built on that
database then serves each question of the FAQ file with its answer.
"""

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.faq import content
from app.faq.render import render_text
from config import TestingConfig

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FLASK = Path(sys.executable).parent / "flask"


DATABASE_STEPS = ("db upgrade", "faq load")


def production_commands() -> list[str]:
    """The database steps of the README's « Déploiement » section, in the README's order."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Déploiement\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "the README has a « Déploiement » section"
    found = re.findall(r"flask --app wsgi (db upgrade|faq load)`", section.group(1))
    return [f"flask --app wsgi {step}" for step in dict.fromkeys(found)]


def test_the_production_steps_migrate_then_load_the_faq():
    assert production_commands() == [f"flask --app wsgi {step}" for step in DATABASE_STEPS]


@pytest.fixture
def production_database_url() -> Iterator[str]:
    """A new, empty PostgreSQL database beside the suite's (production refuses SQLite)."""
    test_url = os.environ.get("TEST_DATABASE_URL")
    if not test_url or not test_url.startswith("postgresql"):
        pytest.skip("production runs on PostgreSQL: set TEST_DATABASE_URL")
    url = sa.engine.make_url(test_url)
    name = f"{url.database}_readme_steps"
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def prepared_by_the_readme(tmp_path, production_database_url) -> str:
    """A new database prepared only by the README's production commands."""
    env = {
        **os.environ,
        "CARTABLE_ENV": "production",
        "SECRET_KEY": "a-long-random-secret-for-this-test-only",
        "PUBLIC_URL": "https://portail.example",
        "DATABASE_URL": production_database_url,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/14",
        "MAIL_SERVER": "smtp.example.fr",  # as cartable.env.example; these commands send none
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
    }
    for command in production_commands():
        argv = [str(FLASK), *shlex.split(command)[1:]]
        done = subprocess.run(  # noqa: S603 - the README's own commands, no shell
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return production_database_url


def test_a_database_prepared_by_the_readme_serves_every_faq_answer(prepared_by_the_readme):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=prepared_by_the_readme)
    client = app.test_client()
    try:
        index = client.get("/faq").get_data(as_text=True)
        assert "pas encore disponibles" not in index
        questions = [q for theme in content.read() for q in theme.questions]
        assert index.count('<details class="faq-question"') == len(questions)
        for question in questions:
            response = client.get(f"/faq/{question.slug}")
            assert response.status_code == 200, question.slug
            assert str(render_text(question.answer)) in response.get_data(as_text=True)
    finally:
        with app.app_context():
            db.engine.dispose()

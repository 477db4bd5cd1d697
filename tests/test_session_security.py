"""The security review's findings on sessions and logins: timing, idle sessions, recent
password entry, confirmation links, stale forms."""

import pytest
from argon2 import PasswordHasher

from app.auth.routes import LOGIN_FAILED
from tests.conftest import DEFAULT_PASSWORD, submit

SOPHIE = "sophie.martin@example.fr"


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Login timing -------------------------------------------------------------------------


@pytest.fixture
def hashing_work(monkeypatch):
    """Counts argon2 hashes and verifications, whoever calls them."""
    work = {"hash": 0, "verify": 0}
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def counted_hash(self, *args, **kwargs):
        work["hash"] += 1
        return real_hash(self, *args, **kwargs)

    def counted_verify(self, *args, **kwargs):
        work["verify"] += 1
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counted_hash)
    monkeypatch.setattr(PasswordHasher, "verify", counted_verify)
    return work


def _failed_login_work(client, work, email) -> dict:
    before = dict(work)
    response = submit(client, "/connexion", {"email": email, "password": "Mauvais2026!"})
    assert LOGIN_FAILED in text(response)
    return {kind: work[kind] - before[kind] for kind in work}


def test_unknown_and_known_emails_cost_the_same_hashing_work(client, auth, hashing_work):
    auth.create_account()
    _failed_login_work(client, hashing_work, "personne@example.fr")  # the dummy is made once
    unknown = _failed_login_work(client, hashing_work, "quelqu.un@example.fr")
    known = _failed_login_work(client, hashing_work, SOPHIE)
    assert unknown == known == {"hash": 0, "verify": 1}


def test_the_dummy_hash_has_the_parameters_of_real_hashes(app, auth, hashing_work):
    from argon2 import extract_parameters

    from app.auth.passwords import DUMMY_HASH_KEY, hash_password, verify_password

    with app.test_request_context():
        assert verify_password(None, "dummy-password-for-timing") is False
        assert verify_password(None, DEFAULT_PASSWORD) is False
        dummy = app.extensions[DUMMY_HASH_KEY]
        assert extract_parameters(dummy) == extract_parameters(hash_password("Autre2026!"))
    assert hashing_work["hash"] == 2  # the dummy once, then the real one

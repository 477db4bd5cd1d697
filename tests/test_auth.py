"""Registration, confirmation, login, logout and forgotten password over HTTP."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.auth import rules
from app.auth.routes import LOGIN_FAILED
from app.auth.services import MATCH_FAILED, MEMBER_HAS_ACCOUNT
from app.auth.tokens import EXPIRED_MESSAGE
from app.clock import PARIS
from app.extensions import db, limiter
from app.forms import EMAIL_TAKEN
from app.models import (
    Account,
    AssistanceFile,
    AuthEvent,
    AuthEventKind,
    Guarantee,
    GuaranteeKind,
    Insurer,
)
from tests.conftest import CSRF_PATTERN, DEFAULT_PASSWORD, csrf_token, submit

SOPHIE = {
    "member_number": "AB123456",
    "first_name": "Sophie",
    "last_name": "MARTIN",
    "email": "sophie.martin@example.fr",
    "phone": "06 12 34 56 78",
    "password": DEFAULT_PASSWORD,
    "password_confirm": DEFAULT_PASSWORD,
}


def register(client, **changes):
    return submit(client, "/inscription", {**SOPHIE, **changes})


def text(response) -> str:
    return response.get_data(as_text=True)


def accounts(app) -> list[Account]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Account)))


def events(app) -> list[AuthEventKind]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuthEvent.kind).order_by(AuthEvent.id)))


def path_of(link: str) -> str:
    assert link.startswith("http://portail.test/"), link
    return link.removeprefix("http://portail.test")


def confirm_sophie(client, mailbox):
    """Open the e-mailed link, then press its « Confirmer mon adresse e-mail » button."""
    link = path_of(mailbox.links(mailbox.last("sophie.martin@example.fr"))[0])
    return submit(client, link)


# --- Registration -------------------------------------------------------------------------


def test_registration_page_has_the_labels_and_card_help(client, demo):
    page = text(client.get("/inscription"))
    for label in [
        "Numéro adhérent",
        "Prénom",
        "Nom",
        "Adresse e-mail",
        "Téléphone portable",
        "Mot de passe",
        "Confirmation du mot de passe",
    ]:
        assert f">{label}</label>" in page
    assert "carte de tiers payant" in page
    assert "« Adhérent » / « Souscripteur »" in page
    # A single insurer: no need to choose it.
    assert "Votre mutuelle" not in page


def test_insurer_select_shown_when_several_insurers(app, client, demo):
    with app.app_context():
        db.session.add(Insurer(slug="autre", name="Autre Mutuelle"))
        db.session.commit()
    page = text(client.get("/inscription"))
    assert ">Votre mutuelle</label>" in page
    assert "Autre Mutuelle" in page and "Mutuelle Démo" in page


@pytest.mark.parametrize(
    ("number", "first", "last"),
    [
        ("ab123456", "Sophie", "MARTIN"),
        ("AB123456", " sophie ", "martin"),
        ("AB 123 456", "SOPHIE", "Martin"),
        ("ab123456", "sophie", "  MARTIN  "),
    ],
)
def test_sophie_registers_with_her_card_as_typed(app, client, demo, mailbox, number, first, last):
    response = register(client, member_number=number, first_name=first, last_name=last)
    assert response.status_code == 200
    assert "Confirmez votre adresse e-mail" in text(response)
    [account] = accounts(app)
    assert account.email == "sophie.martin@example.fr"
    assert account.phone == "06 12 34 56 78"
    assert account.confirmed_at is None
    assert account.password_hash.startswith("$argon2id$")
    message = mailbox.last("sophie.martin@example.fr")
    assert message["Subject"] == "Confirmez votre inscription à Cartable"
    assert "/inscription/confirmer/" in mailbox.links(message)[0]


def test_email_with_capitals_is_stored_in_lower_case(app, client, demo):
    register(client, email="Sophie.MARTIN@Example.FR")
    assert accounts(app)[0].email == "sophie.martin@example.fr"


def test_hyphenated_and_accented_names_match_the_roster(app, client, demo, runner):
    with app.app_context():
        insurer = db.session.get(Insurer, demo)
        from app.models import Member, Offer, Quality
        from app.text import fold_name

        member = Member(
            insurer_id=insurer.id,
            member_number="ZZ0001",
            quality=Quality.SOUSCRIPTEUR,
            last_name="LE-GALL DUPRE",
            first_name="JEAN PIERRE",
            last_name_key=fold_name("LE-GALL DUPRE"),
            first_name_key=fold_name("JEAN PIERRE"),
            birth_date=datetime(1980, 5, 4).date(),
        )
        member.offers.append(Offer(starts_on=datetime(2020, 1, 1), ends_on=datetime(2099, 1, 1)))
        db.session.add(member)
        db.session.commit()
    response = register(
        client,
        member_number="zz0001",
        first_name="Jean-Pierre",
        last_name="Le Gall  Dupré",
        email="jp@example.fr",
    )
    assert "Confirmez votre adresse e-mail" in text(response)


@pytest.mark.parametrize(
    "changes",
    [
        {"member_number": "AB999999"},
        {"first_name": "Sophia"},
        {"last_name": "MARTINEZ"},
        {"member_number": "CD789012"},  # exists, but not with these names
        {"first_name": "Maxime"},  # a child cannot register
    ],
)
def test_failed_match_does_not_reveal_which_field_was_wrong(app, client, demo, changes):
    response = register(client, **changes)
    page = text(response)
    assert response.status_code == 200
    assert MATCH_FAILED.replace("'", "&#39;") in page
    assert page.count('aria-invalid="true"') == 0
    assert accounts(app) == []


def test_offer_ended_refuses_registration(app, client, demo, mailbox):
    response = register(
        client,
        member_number="EF345678",
        first_name="Hélène",
        last_name="LEROY",
        email="helene@example.fr",
    )
    assert rules.OFFER_MESSAGE.replace("'", "&#39;") in text(response)
    assert accounts(app) == []
    assert mailbox.all() == []


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"password": "Abc123", "password_confirm": "Abc123"}, "password", None),
        ({"password": "abcdefg12", "password_confirm": "abcdefg12"}, "password", None),
        ({"password_confirm": "Autre2026!"}, "password_confirm", None),
        ({"phone": "01 23 45 67 89"}, "phone", rules.PHONE_MESSAGE),
        ({"phone": "0612"}, "phone", rules.PHONE_MESSAGE),
        ({"email": "pas-une-adresse"}, "email", None),
        ({"password": "Password1", "password_confirm": "Password1"}, "password", None),
        ({"password": "Sophie2026x", "password_confirm": "Sophie2026x"}, "password", None),
        ({"member_number": "AB<12>"}, "member_number", rules.MEMBER_NUMBER_MESSAGE),
    ],
)
def test_bad_registration_input_gets_a_message_next_to_the_field(
    app, client, demo, changes, field_id, message
):
    response = register(client, **changes)
    page = text(response)
    assert response.status_code == 200
    assert f'id="{field_id}-erreur"' in page
    assert f'id="{field_id}" ' in page or f'id="{field_id}"' in page
    if message:
        assert message in page
    assert accounts(app) == []


def test_password_policy_message_is_exact(client, demo):
    page = text(register(client, password="abc", password_confirm="abc"))
    assert (
        "Le mot de passe doit contenir au minimum 8 caractères dont au moins une majuscule, "
        "une minuscule et un chiffre."
    ) in page


def test_empty_form_names_every_required_field(app, client, demo):
    response = submit(client, "/inscription", {})
    page = text(response)
    assert response.status_code == 200
    assert page.count("Ce champ est obligatoire.") == 7
    assert accounts(app) == []


def test_huge_fields_are_refused_cleanly(app, client, demo):
    huge = "A" * 10_000
    response = register(client, member_number=huge, first_name=huge, last_name=huge, email=huge)
    assert response.status_code == 200
    assert "ne doit pas dépasser" in text(response)
    assert accounts(app) == []


def test_html_and_sql_in_names_are_shown_as_text_and_match_nothing(app, client, demo):
    response = register(
        client, first_name="<script>alert(1)</script>", last_name="MARTIN' OR '1'='1"
    )
    page = text(response)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert MATCH_FAILED.replace("'", "&#39;") in page
    assert accounts(app) == []


def test_unknown_insurer_is_refused(app, client, demo):
    with app.app_context():
        db.session.add(Insurer(slug="autre", name="Autre Mutuelle"))
        db.session.commit()
    response = register(client, insurer="999")
    assert "Choisissez votre mutuelle dans la liste." in text(response)
    response = register(client, insurer="pas-un-nombre")
    assert response.status_code == 200
    assert "Choisissez votre mutuelle dans la liste." in text(response)
    assert "coerce" not in text(response)  # WTForms' English message for a non-number
    assert accounts(app) == []


def test_second_account_for_the_same_member_is_refused(app, client, demo):
    register(client)
    response = register(client, email="autre@example.fr")
    assert MEMBER_HAS_ACCOUNT.replace("'", "&#39;") in text(response)
    assert len(accounts(app)) == 1


def test_second_account_with_the_same_email_is_refused(app, client, demo):
    register(client)
    response = register(
        client,
        member_number="CD789012",
        first_name="Karim",
        last_name="DUPONT",
        email="SOPHIE.martin@example.fr",
    )
    page = text(response)
    assert 'id="email-erreur"' in page and EMAIL_TAKEN in page
    assert len(accounts(app)) == 1


def test_post_without_csrf_token_is_refused(app, client, demo):
    response = client.post("/inscription", data=SOPHIE)
    assert response.status_code == 400
    assert "Le formulaire a expiré" in text(response)
    assert accounts(app) == []


def test_a_token_from_any_page_of_the_session_is_accepted(app, client, auth, other_client):
    auth.sophie()
    first = CSRF_PATTERN.findall(text(client.get("/trajets")))[0]
    later = CSRF_PATTERN.findall(text(client.get("/adresses/ajouter")))[0]
    auth.karim(other_client)
    assert CSRF_PATTERN.findall(text(other_client.get("/trajets")))[0] not in (first, later)
    for token in (first, later):
        response = client.post("/adresses/ajouter", data={"csrf_token": token, "label": ""})
        assert response.status_code == 200, token  # the form's own error, not a CSRF 400


def test_a_stale_token_is_refused_in_french_and_nothing_is_written(app, client, demo, time_machine):
    """Tokens expire with the longest a session lasts (WTF_CSRF_TIME_LIMIT, 8 h), and so
    does the visitor's session cookie that holds their pair: Flask drops it first, with the
    shipped settings. The form comes back blank with the French message."""
    from app.clock import utcnow
    from app.main.errors import FORM_EXPIRED

    time_machine.move_to(utcnow(), tick=False)
    token = csrf_token(client, "/inscription")
    time_machine.shift(app.config["WTF_CSRF_TIME_LIMIT"] + 60)
    response = client.post("/inscription", data={**SOPHIE, "csrf_token": token})
    assert response.status_code == 303
    assert response.location == "/inscription"
    page = text(client.get(response.location))
    assert FORM_EXPIRED.replace("'", "&#39;") in page
    assert 'name="member_number"' in page and SOPHIE["member_number"] not in page
    assert accounts(app) == []


def test_a_post_without_the_session_cookie_is_refused_without_touching_the_session(
    app, client, other_client, demo
):
    """Another site's POST comes without the member's cookie (SameSite): a plain refusal
    in French, nothing written, and no new cookie that would replace (log out) theirs."""
    token = csrf_token(other_client, "/inscription")
    response = client.post("/inscription", data={**SOPHIE, "csrf_token": token})
    assert response.status_code == 400
    assert "Le formulaire a expiré ou n&#39;a pas pu être vérifié" in text(response)
    assert "Set-Cookie" not in response.headers
    assert accounts(app) == []


# --- Confirmation -------------------------------------------------------------------------


def test_unconfirmed_account_cannot_log_in_until_the_link_is_followed(app, client, demo, mailbox):
    register(client)
    response = submit(
        client, "/connexion", {"email": SOPHIE["email"], "password": DEFAULT_PASSWORD}
    )
    assert LOGIN_FAILED in text(response)
    response = confirm_sophie(client, mailbox)
    assert response.status_code == 302
    assert "confirmée" in text(client.get(response.location))
    response = submit(
        client, "/connexion", {"email": SOPHIE["email"], "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert response.location == "/mon-espace"


def test_confirmation_link_is_single_use_and_superseded_by_a_new_one(app, client, demo, mailbox):
    register(client)
    first_link = path_of(mailbox.links(mailbox.last())[0])
    response = submit(client, "/inscription/renvoyer-confirmation", {"email": SOPHIE["email"]})
    assert response.status_code == 200
    assert len(mailbox.to(SOPHIE["email"])) == 2
    second_link = path_of(mailbox.links(mailbox.last())[0])
    assert first_link != second_link

    response = client.get(first_link)
    assert response.status_code == 400
    assert "déjà été utilisé ou a été remplacé" in text(response)

    assert submit(client, second_link).status_code == 302
    # Opened again once it did its work: the address is said to be confirmed already.
    response = client.get(second_link)
    assert response.status_code == 302
    assert "Votre adresse e-mail est déjà confirmée." in text(client.get(response.location))
    # The superseded first link too: the address it was for is confirmed.
    assert submit(client, first_link, form_url="/connexion").status_code == 302


def test_resend_confirmation_says_the_same_for_unknown_addresses(client, demo, mailbox):
    known = submit(client, "/inscription/renvoyer-confirmation", {"email": "x@example.fr"})
    assert "Si une inscription non confirmée correspond" in text(known)
    assert mailbox.all() == []


def test_tampered_link_is_refused(client, demo, mailbox):
    register(client)
    link = path_of(mailbox.links(mailbox.last())[0])
    response = client.get(link[:-3] + "abc")
    assert response.status_code == 400
    assert "Ce lien n&#39;est pas valide" in text(response)


def test_links_use_public_url_not_the_host_header(client, demo, mailbox):
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    page = text(client.get("/inscription", headers=forged))
    token = CSRF_PATTERN.search(page).group(1)
    response = client.post("/inscription", data={**SOPHIE, "csrf_token": token}, headers=forged)
    assert response.status_code == 200
    message = mailbox.last(SOPHIE["email"])
    body = mailbox.text(message) + mailbox.html(message)
    assert "evil.example" not in body
    assert "http://portail.test/inscription/confirmer/" in body


# --- Login and logout ---------------------------------------------------------------------


def test_login_page_has_fields_and_forgotten_password_link(client, demo):
    page = text(client.get("/connexion"))
    assert ">Adresse e-mail</label>" in page and ">Mot de passe</label>" in page
    assert "J&#39;ai oublié mon mot de passe" in page or "J'ai oublié mon mot de passe" in page
    assert "Renvoyer l'e-mail de confirmation" in page


def test_header_connexion_button_leads_to_login(client, demo):
    page = text(client.get("/"))
    assert 'href="/connexion"' in page


@pytest.mark.parametrize(
    ("email", "password", "confirmed"),
    [
        ("inconnu@example.fr", DEFAULT_PASSWORD, True),
        ("sophie.martin@example.fr", "Mauvais2026!", True),
        ("sophie.martin@example.fr", DEFAULT_PASSWORD, False),
    ],
)
def test_one_generic_message_for_every_login_failure(app, client, auth, email, password, confirmed):
    auth.create_account(confirmed=confirmed)
    response = auth.login(email, password)
    page = text(response)
    assert response.status_code == 200
    assert LOGIN_FAILED in page
    assert "Assurez-vous que vous utilisez les bons identifiants" in page
    assert AuthEventKind.LOGIN_FAILED in events(app)


def test_login_failure_pages_are_identical(client, auth, time_machine):
    # The CSRF token carries a timestamp: freeze the clock so that only the
    # typed e-mail may differ between the two pages.
    time_machine.move_to(datetime(2026, 9, 14, 10, tzinfo=PARIS), tick=False)
    auth.create_account()
    unknown = text(auth.login("inconnu@example.fr", DEFAULT_PASSWORD))
    wrong = text(auth.login("sophie.martin@example.fr", "Mauvais2026!"))
    assert unknown.replace("inconnu@example.fr", "X") == wrong.replace(
        "sophie.martin@example.fr", "X"
    )


def test_login_refused_when_offer_has_ended(app, client, auth):
    auth.create_account("EF345678", "Hélène", email="helene@example.fr")
    response = auth.login("helene@example.fr")
    assert rules.OFFER_MESSAGE.replace("'", "&#39;") in text(response)
    assert client.get("/mon-espace").status_code == 302
    assert AuthEventKind.LOGIN_REFUSED_OFFER in events(app)


def test_login_then_logout(app, client, auth):
    response = auth.sophie()
    assert response.location == "/mon-espace"
    page = text(client.get("/mon-espace"))
    assert "Déconnexion" in page and "Mon Espace" in page
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/mon-espace").status_code == 302
    kinds = events(app)
    assert AuthEventKind.LOGIN in kinds and AuthEventKind.LOGOUT in kinds


def test_logout_is_a_post(client, auth):
    auth.sophie()
    assert client.get("/deconnexion").status_code == 405
    assert client.get("/mon-espace").status_code == 200


def test_session_cookie_replayed_after_logout_gives_no_access(client, auth):
    auth.sophie()
    stolen = client.get_cookie("cartable_session").value
    auth.logout()
    client.set_cookie("cartable_session", stolen)
    response = client.get("/mon-espace")
    assert response.status_code == 302
    assert response.location.startswith("/connexion")


def test_session_cookie_is_httponly_and_lax(client, auth):
    response = auth.sophie()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/mon-espace/modifier", "/mon-espace/modifier"),
        ("https://evil.example/", "/mon-espace"),
        ("//evil.example/", "/mon-espace"),
        ("/\\evil.example", "/mon-espace"),
        ("javascript:alert(1)", "/mon-espace"),
    ],
)
def test_next_is_followed_only_without_a_host(client, auth, next_url, expected):
    auth.create_account()
    response = submit(
        client,
        "/connexion?next=" + next_url,
        {"email": "sophie.martin@example.fr", "password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 302
    assert response.location == expected


def test_protected_page_sends_to_login_with_next(client, demo):
    response = client.get("/mon-espace")
    assert response.status_code == 302
    assert response.location.startswith("/connexion?next=")


def test_failed_logins_for_one_account_are_rate_limited(app, client, auth):
    auth.create_account()
    for _ in range(5):
        assert auth.login(password="Mauvais2026!").status_code == 200
    response = auth.login()
    assert response.status_code == 429
    assert "Trop de tentatives" in text(response)
    # Another account from the same address is not blocked by this one.
    assert auth.login("autre@example.fr", "Mauvais2026!").status_code == 200


def test_failed_logins_from_one_address_are_rate_limited(app, client, auth):
    auth.create_account()
    for attempt in range(20):
        auth.login(f"inconnu{attempt}@example.fr", "Mauvais2026!")
    response = auth.login()
    assert response.status_code == 429


def test_every_rate_limit_counts_posts_only(app):
    manager = limiter.limit_manager
    assert not manager.default_limits and not manager.application_limits
    assert not manager._blueprint_limits
    declared = [limit for group in manager._decorated_limits.values() for limit in group]
    assert len(declared) >= 8
    assert all(tuple(limit.methods or ()) == ("post",) for limit in declared), declared


def test_reading_pages_is_never_limited_even_after_a_blocked_login(client, auth):
    auth.create_account()
    for _ in range(5):
        auth.login(password="Mauvais2026!")
    assert auth.login().status_code == 429
    # More reads of each limited page than any of its limits allows posts.
    for url in ("/connexion", "/inscription", "/mot-de-passe-oublie"):
        for _ in range(25):
            assert client.get(url).status_code == 200, url
    assert client.head("/connexion").status_code == 200


def test_reading_mon_espace_forms_is_never_limited(client, auth):
    auth.sophie()
    for url in ("/mon-espace/modifier", "/mon-espace/mot-de-passe", "/mon-espace/supprimer"):
        for _ in range(12):
            assert client.get(url).status_code == 200, url


def test_successful_logins_do_not_count_towards_the_limit(client, auth):
    auth.create_account()
    for _ in range(7):
        assert auth.login().status_code == 302
        auth.logout()


def test_audit_trail_never_stores_secrets(app, client, auth, mailbox):
    auth.create_account()
    auth.login(password="Secret-Faux-2026")
    auth.login()
    with app.app_context():
        rows = db.session.execute(sa.select(AuthEvent)).scalars().all()
        assert all(row.ip == "127.0.0.1" for row in rows)
        dumped = " ".join(str(vars(row)) for row in rows)
    assert "Secret-Faux-2026" not in dumped and DEFAULT_PASSWORD not in dumped


# --- Forgotten password -------------------------------------------------------------------


def forgot(client, email):
    return submit(client, "/mot-de-passe-oublie", {"email": email})


def test_forgotten_password_page_is_the_same_for_known_and_unknown(client, auth, mailbox):
    auth.create_account()
    known = text(forgot(client, "sophie.martin@example.fr"))
    unknown = text(forgot(client, "inconnu@example.fr"))
    assert known.replace("sophie.martin@example.fr", "X") == unknown.replace(
        "inconnu@example.fr", "X"
    )
    assert len(mailbox.all()) == 1
    assert mailbox.to("inconnu@example.fr") == []


def test_reset_link_sets_a_new_password_and_ends_every_session(app, client, auth, mailbox):
    auth.sophie()
    browser = app.test_client()
    forgot(browser, "sophie.martin@example.fr")
    link = path_of(mailbox.links(mailbox.last())[0])
    response = submit(
        browser, link, {"password": "Nouveau2026x", "password_confirm": "Nouveau2026x"}
    )
    assert response.status_code == 302 and response.location == "/connexion"
    # The session opened before the reset is gone.
    assert client.get("/mon-espace").status_code == 302
    assert auth.login().status_code == 200
    assert auth.login(password="Nouveau2026x").status_code == 302
    assert mailbox.last()["Subject"] == "Votre mot de passe a été modifié"
    assert AuthEventKind.RESET in events(app)


def test_reset_link_is_single_use(client, auth, mailbox):
    auth.create_account()
    forgot(client, "sophie.martin@example.fr")
    link = path_of(mailbox.links(mailbox.last())[0])
    data = {"password": "Nouveau2026x", "password_confirm": "Nouveau2026x"}
    assert submit(client, link, data).status_code == 302
    response = client.get(link)
    assert response.status_code == 400
    assert "déjà été utilisé" in text(response)


def test_reset_link_is_superseded_by_a_newer_one(client, auth, mailbox):
    auth.create_account()
    forgot(client, "sophie.martin@example.fr")
    first = path_of(mailbox.links(mailbox.last())[0])
    forgot(client, "sophie.martin@example.fr")
    second = path_of(mailbox.links(mailbox.last())[0])
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


@pytest.mark.parametrize(("minutes", "status"), [(59, 200), (61, 400)])
def test_reset_link_expires_after_one_hour(client, auth, mailbox, time_machine, minutes, status):
    start = datetime(2026, 11, 27, 10, 0, tzinfo=PARIS)
    time_machine.move_to(start, tick=False)
    auth.create_account()
    forgot(client, "sophie.martin@example.fr")
    link = path_of(mailbox.links(mailbox.last())[0])
    time_machine.move_to(start + timedelta(minutes=minutes), tick=False)
    response = client.get(link)
    assert response.status_code == status
    if status == 400:
        assert EXPIRED_MESSAGE.split(".")[0] in text(response)


def test_reset_refuses_a_weak_password(client, auth, mailbox):
    auth.create_account()
    forgot(client, "sophie.martin@example.fr")
    link = path_of(mailbox.links(mailbox.last())[0])
    response = submit(client, link, {"password": "faible", "password_confirm": "faible"})
    assert response.status_code == 200
    assert rules.PASSWORD_POLICY_MESSAGE in text(response)


def test_reset_email_link_uses_public_url(client, auth, mailbox):
    auth.create_account()
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    page = text(client.get("/mot-de-passe-oublie", headers=forged))
    token = CSRF_PATTERN.search(page).group(1)
    response = client.post(
        "/mot-de-passe-oublie",
        data={"email": "sophie.martin@example.fr", "csrf_token": token},
        headers=forged,
    )
    assert response.status_code == 200
    assert mailbox.links(mailbox.last())[0].startswith("http://portail.test/mot-de-passe-oublie/")


# --- Headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/connexion", "/inscription", "/mot-de-passe-oublie"])
def test_security_headers_on_every_page(client, demo, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"):
        assert len(response.headers.getlist(name)) == 1, name  # added once, never twice
    page = text(response)
    assert "<script>" not in page and 'style="' not in page


def test_unknown_page_is_a_french_404(client, demo):
    response = client.get("/nulle-part")
    assert response.status_code == 404
    assert "Page introuvable" in text(response)


def test_reset_link_stops_working_once_the_email_changed(app, client, auth, mailbox):
    auth.create_account()
    forgot(client, "sophie.martin@example.fr")
    link = path_of(mailbox.links(mailbox.last())[0])
    with app.app_context():
        account = db.session.scalar(sa.select(Account))
        account.email = "sophie.nouvelle@example.fr"
        db.session.commit()
    assert client.get(link).status_code == 400


def test_registration_attempts_are_rate_limited(client, demo):
    for _ in range(10):
        register(client, member_number="ZZ000000")
    response = register(client)
    assert response.status_code == 429
    assert "Trop de tentatives" in text(response)


@pytest.mark.parametrize(
    "data",
    [
        {"email": "a\x00@example.fr", "password": "x"},
        {"email": "sophie@example.fr", "password": "Cartable\x002026"},
    ],
)
def test_control_characters_in_a_form_are_refused_cleanly(client, demo, data):
    response = submit(client, "/connexion", data)
    assert response.status_code == 400
    assert "Requête invalide" in text(response)


def test_control_characters_in_a_url_are_not_found(client, demo):
    assert client.get("/faq/abc%00def").status_code == 404
    assert client.get("/e/demo%00").status_code == 404


def test_oversized_body_outside_uploads_is_refused_in_french(client, demo):
    response = client.post("/connexion", data={"email": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "Envoi trop volumineux" in text(response)


def test_hsts_is_sent_when_the_portal_is_served_over_https(make_app, demo):
    app = make_app(PUBLIC_URL="https://cartable.example")
    response = app.test_client().get("/")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_no_hsts_over_plain_http(client, demo):
    assert "Strict-Transport-Security" not in client.get("/").headers


# --- The identity of a logged-in request --------------------------------------------------


def test_a_session_ends_8_hours_after_login(client, auth, time_machine):
    login_time = datetime.now(PARIS).replace(microsecond=0)  # demo: today
    time_machine.move_to(login_time, tick=False)
    auth.sophie()
    # A page every 20 minutes: never idle for long, yet the login ends after 8 hours.
    for minutes in range(20, 8 * 60, 20):
        time_machine.move_to(login_time + timedelta(minutes=minutes), tick=False)
        assert client.get("/mon-espace").status_code == 200
    time_machine.move_to(login_time + timedelta(hours=8, minutes=1), tick=False)
    response = client.get("/mon-espace")
    assert response.status_code == 302
    assert response.location.startswith("/connexion")
    page = client.get(response.location).get_data(as_text=True)
    assert "Votre session a expiré : une connexion dure au plus 8 heures. Reconnectez-vous." in (
        page
    )


@pytest.mark.parametrize("url", ["/trajets", "/adresses", "/faq"])
def test_pages_that_only_read_never_load_the_account_secrets(client, auth, count_queries, url):
    """A page that needs only who is logged in reads ids, not the password hash or e-mail."""
    auth.sophie()
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    assert counter.statements
    assert not any("password_hash" in statement for statement in counter.statements)


def test_the_identity_holds_the_ids_of_the_account_and_its_member(app, client, auth):
    from flask_login import current_user

    from app.auth_session import GuaranteePeriod, MemberRef, SignedIn

    auth.sophie()
    with client:
        client.get("/trajets")
        identity = current_user._get_current_object()
        assert isinstance(identity, SignedIn)
        with app.app_context():
            account = db.session.scalar(
                sa.select(Account).where(Account.email == "sophie.martin@example.fr")
            )
            files = sa.select(AssistanceFile.id).where(
                AssistanceFile.insurer_id == account.member.insurer_id,
                AssistanceFile.member_number == "AB123456",
            )
            guarantees = db.session.execute(
                sa.select(Guarantee.kind, Guarantee.starts_on, Guarantee.ends_on)
                .where(Guarantee.assistance_file_id.in_(files))
                .order_by(Guarantee.starts_on, Guarantee.id)
            ).all()
            expected = MemberRef(
                account.member.id,
                account.member.insurer_id,
                "AB123456",
                tuple(GuaranteePeriod(*row) for row in guarantees),
                account.member.insurer.phone,
            )
            assert identity.id == account.id
        assert identity.member == expected
        assert {period.kind for period in expected.guarantees} == {
            GuaranteeKind.SCHOOL,
            GuaranteeKind.EXAM,
        }


def test_the_identity_of_a_member_without_guarantees_has_none(app, client, auth):
    """Karim's file has « Conduite à l'école » only; once it has none, the identity has
    none either (and is still read)."""
    auth.karim()
    with client:
        client.get("/trajets")
        from flask_login import current_user

        kinds = [period.kind for period in current_user.member.guarantees]
    assert kinds == [GuaranteeKind.SCHOOL]
    with app.app_context():
        db.session.execute(sa.delete(Guarantee))
        db.session.commit()
    with client:
        assert client.get("/trajets").status_code == 200
        from flask_login import current_user

        assert current_user.member.guarantees == ()


def test_current_account_is_a_404_once_the_account_is_gone(app):
    from werkzeug.exceptions import NotFound

    from app.auth_session import MemberRef, SignedIn, current_account

    with app.test_request_context():
        from flask_login import login_user

        login_user(SignedIn(987_654, MemberRef(1, 1, "ZZ000000"), "jeton"))
        with pytest.raises(NotFound):
            current_account()


def test_forgetting_the_session_forgets_the_token_signed_from_it(app):
    from flask import g, session
    from flask_wtf.csrf import generate_csrf

    from app.auth_session import forget_session

    with app.test_request_context("/"):
        generate_csrf()
        assert "csrf_token" in g and "csrf_token" in session
        forget_session()
        assert "csrf_token" not in g and "csrf_token" not in session
        assert generate_csrf() and session["csrf_token"]  # a new pair, consistent

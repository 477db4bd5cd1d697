"""« Mon Espace »: account data, « Modifier », family, password, export and deletion."""

import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.auth import rules
from app.clock import today
from app.demo import FAMILIES, birthday_years_ago
from app.extensions import db
from app.forms import EMAIL_TAKEN
from app.models import Account, AuthEvent, AuthEventKind, Member, Offer, UserSession
from tests.conftest import DEFAULT_PASSWORD, submit


def text(response) -> str:
    return response.get_data(as_text=True)


def demo_offer() -> str:
    """Sophie's demo offer, as « Mon Espace » writes it (the demo's dates follow today)."""
    start, end = (today() + timedelta(days=days) for days in FAMILIES[0].offer)
    return f"Du {start:%d/%m/%Y} au {end:%d/%m/%Y}"


def test_mon_espace_shows_account_family_and_password_sections(client, auth):
    auth.sophie()
    page = text(client.get("/mon-espace"))
    for expected in [
        "Mon compte",
        "Modifier",
        "Ma famille",
        "Mot de Passe",
        "AB123456",
        "Sophie",
        "MARTIN",
        "sophie.martin@example.fr",
        "06 12 34 56 78",
        "Mutuelle Démo",
        "<dd>Adhérent</dd>",
        f"<dd>{birthday_years_ago(41, today()):%d/%m/%Y}</dd>",
        f"<dd>{demo_offer()}</dd>",
        "Maxime MARTIN (Enfant, 12 ans)",
        "Franck MARTIN (Enfant, 9 ans)",
        "Télécharger mes données",
        "Supprimer mon compte",
    ]:
        assert expected in page, expected


@pytest.mark.parametrize("page", ["/mon-espace", "/adresses"])
def test_pages_live_at_their_address_without_a_slash_and_the_old_one_still_serves(
    client, auth, page
):
    """PRODUCT.md's addresses are served as such (no 308 to a trailing slash), and the
    former address with the slash, in bookmarks, redirects there for good."""
    auth.sophie()
    plain, slashed = client.get(page), client.get(page + "/")
    assert plain.status_code == 200
    assert (slashed.status_code, slashed.location) == (301, page)
    assert f'href="{page}"' in plain.get_data(as_text=True)  # the site's own links
    assert f'href="{page}/"' not in plain.get_data(as_text=True)


def test_another_account_never_sees_sophies_data(client, other_client, auth):
    auth.sophie()
    auth.karim(other_client)
    # Sophie's page is rendered first: nothing of hers may be kept for the next visitor.
    assert "Maxime" in text(client.get("/mon-espace"))
    page = text(other_client.get("/mon-espace"))
    assert "Karim" in page and "Lina" in page
    assert "Sophie" not in page and "Maxime" not in page and "AB123456" not in page
    export = other_client.get("/mon-espace/mes-donnees").get_data(as_text=True)
    assert "sophie" not in export.lower() and "AB123456" not in export


def test_modifier_changes_the_phone(app, client, auth):
    auth.sophie()
    response = submit(
        client,
        "/mon-espace/modifier",
        {"email": "sophie.martin@example.fr", "phone": "+33 7 98 76 54 32"},
    )
    assert response.status_code == 302
    assert "07 98 76 54 32" in text(client.get("/mon-espace"))


def test_modifier_has_no_roster_fields(client, auth):
    auth.sophie()
    page = text(client.get("/mon-espace/modifier"))
    assert 'name="email"' in page and 'name="phone"' in page
    assert 'name="first_name"' not in page and 'name="member_number"' not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "sophie.martin@example.fr", "phone": "01 02 03 04 05"}, rules.PHONE_MESSAGE),
        ({"email": "n'importe quoi", "phone": "0612345678"}, "adresse e-mail valide"),
        ({"email": "", "phone": ""}, "Ce champ est obligatoire."),
        ({"email": "a" * 10_000 + "@example.fr", "phone": "0612345678"}, "254 caractères"),
    ],
)
def test_modifier_bad_input(app, client, auth, data, message):
    auth.sophie()
    response = submit(client, "/mon-espace/modifier", data)
    assert response.status_code == 200
    assert message in text(response)
    with app.app_context():
        account = db.session.scalar(sa.select(Account))
        assert account.phone == "06 12 34 56 78" and account.pending_email is None


def test_a_contact_form_posted_without_a_field_does_not_keep_the_stored_one(app, client, auth):
    """The form shows the account's e-mail and phone; a POST holds only what it sent."""
    auth.sophie()
    page = text(client.get("/mon-espace/modifier"))
    assert 'value="sophie.martin@example.fr"' in page and 'value="06 12 34 56 78"' in page
    response = submit(client, "/mon-espace/modifier", {"email": "sophie.martin@example.fr"})
    assert response.status_code == 200
    assert re.search(r'id="phone-erreur">\s*Ce champ est obligatoire\.', text(response))
    with app.app_context():
        assert db.session.scalar(sa.select(Account.phone)) == "06 12 34 56 78"


def test_new_email_replaces_the_old_one_once_confirmed(app, client, auth, mailbox):
    auth.sophie()
    response = submit(
        client,
        "/mon-espace/modifier",
        {
            "email": "Sophie.Nouvelle@Example.fr",
            "phone": "06 12 34 56 78",
            "current_password": DEFAULT_PASSWORD,
        },
    )
    assert response.status_code == 302
    message = mailbox.last("sophie.nouvelle@example.fr")
    assert message["Subject"] == "Confirmez votre nouvelle adresse e-mail"
    page = text(client.get("/mon-espace"))
    assert "en attente de confirmation : sophie.nouvelle@example.fr" in page
    with app.app_context():
        assert db.session.scalar(sa.select(Account.email)) == "sophie.martin@example.fr"

    link = mailbox.links(message)[0].removeprefix("http://portail.test")
    assert submit(client, link).status_code == 302
    with app.app_context():
        account = db.session.scalar(sa.select(Account))
        assert account.email == "sophie.nouvelle@example.fr" and account.pending_email is None
    # The previous address is told, in case the change was not the owner's.
    notice = mailbox.last("sophie.martin@example.fr")
    assert notice["Subject"] == "L'adresse e-mail de votre compte a été modifiée"
    assert "sophie.nouvelle@example.fr" in mailbox.text(notice)
    assert client.get(link).status_code == 400  # single use
    auth.logout()
    assert auth.login("sophie.nouvelle@example.fr").status_code == 302


def test_email_of_another_account_cannot_be_taken(app, client, other_client, auth):
    auth.sophie()
    auth.karim(other_client)
    response = submit(
        client,
        "/mon-espace/modifier",
        {
            "email": "karim.dupont@example.fr",
            "phone": "06 12 34 56 78",
            "current_password": DEFAULT_PASSWORD,
        },
    )
    assert EMAIL_TAKEN in text(response)


def test_password_change_asks_the_current_one_first(client, auth):
    auth.sophie()
    response = submit(
        client,
        "/mon-espace/mot-de-passe",
        {
            "current_password": "Mauvais2026!",
            "password": "Nouveau2026x",
            "password_confirm": "Nouveau2026x",
        },
    )
    assert "Le mot de passe saisi n&#39;est pas le bon." in text(response)


def test_password_change_logs_out_other_sessions_and_works_at_next_login(
    app, client, other_client, auth, mailbox
):
    auth.sophie()
    other = type(auth)(app, other_client)
    assert other.login().status_code == 302
    response = submit(
        client,
        "/mon-espace/mot-de-passe",
        {
            "current_password": DEFAULT_PASSWORD,
            "password": "Nouveau2026x",
            "password_confirm": "Nouveau2026x",
        },
    )
    assert response.status_code == 302
    # This browser stays in; the other one is logged out.
    assert client.get("/mon-espace").status_code == 200
    assert other_client.get("/mon-espace").status_code == 302
    assert mailbox.last("sophie.martin@example.fr")["Subject"] == (
        "Votre mot de passe a été modifié"
    )
    auth.logout()
    assert auth.login().status_code == 200
    assert auth.login(password="Nouveau2026x").status_code == 302
    with app.app_context():
        kinds = db.session.scalars(sa.select(AuthEvent.kind)).all()
        assert AuthEventKind.PASSWORD_CHANGED in kinds


def test_password_change_applies_the_policy(client, auth):
    auth.sophie()
    response = submit(
        client,
        "/mon-espace/mot-de-passe",
        {"current_password": DEFAULT_PASSWORD, "password": "court", "password_confirm": "court"},
    )
    assert rules.PASSWORD_POLICY_MESSAGE in text(response)


def test_data_export_holds_everything_about_the_account(client, auth):
    auth.sophie()
    response = client.get("/mon-espace/mes-donnees")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["compte"]["adresse_email"] == "sophie.martin@example.fr"
    assert data["compte"]["numero_adherent"] == "AB123456"
    assert {p["prenom"] for p in data["famille"]} == {"Maxime", "Franck"}
    assert data["dossiers_assistance"][0]["garanties"]
    assert data["journal_de_connexion"][0]["evenement"] == "login"
    assert "password" not in response.get_data(as_text=True).lower()


def test_account_deletion_needs_the_password_then_erases_the_account(app, client, auth):
    auth.sophie()
    response = submit(client, "/mon-espace/supprimer", {"password": "Mauvais2026!"})
    assert response.status_code == 200
    assert "Le mot de passe saisi n&#39;est pas le bon." in text(response)
    response = submit(client, "/mon-espace/supprimer", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/mon-espace").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Account.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 0
        # The audit trail keeps the deletion, no longer tied to anyone.
        deleted = db.session.scalar(
            sa.select(AuthEvent).where(AuthEvent.kind == AuthEventKind.ACCOUNT_DELETED)
        )
        assert deleted is not None and deleted.account_id is None
    assert auth.login().status_code == 200
    # The member can register again.
    assert "Créer mon compte" in text(client.get("/inscription"))


def test_deletion_without_csrf_is_refused(app, client, auth):
    auth.sophie()
    response = client.post("/mon-espace/supprimer", data={"password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Account.id))) == 1


def test_mon_espace_runs_a_fixed_number_of_queries(client, auth, count_queries):
    auth.sophie()
    client.get("/mon-espace")
    with count_queries() as counter:
        client.get("/mon-espace")
    assert counter.count <= 6, counter.statements


@pytest.mark.parametrize("password", ["", "Mauvais2026!"])
def test_changing_the_email_needs_the_current_password(app, client, auth, mailbox, password):
    auth.sophie()
    response = submit(
        client,
        "/mon-espace/modifier",
        {"email": "pirate@example.fr", "phone": "06 12 34 56 78", "current_password": password},
    )
    assert response.status_code == 200
    assert 'id="current_password-erreur"' in text(response)
    assert mailbox.to("pirate@example.fr") == []
    with app.app_context():
        assert db.session.scalar(sa.select(Account.pending_email)) is None


def test_confirmed_email_change_logs_out_other_sessions(app, client, other_client, auth, mailbox):
    auth.sophie()
    assert type(auth)(app, other_client).login().status_code == 302
    submit(
        client,
        "/mon-espace/modifier",
        {
            "email": "sophie.nouvelle@example.fr",
            "phone": "06 12 34 56 78",
            "current_password": DEFAULT_PASSWORD,
        },
    )
    link = mailbox.links(mailbox.last("sophie.nouvelle@example.fr"))[0]
    submit(client, link.removeprefix("http://portail.test"))
    assert client.get("/mon-espace").status_code == 200
    assert other_client.get("/mon-espace").status_code == 302


def _ask_for_karims_address(client, mailbox) -> str:
    """Sophie asks for Karim's address before he has an account: its confirmation link."""
    submit(
        client,
        "/mon-espace/modifier",
        {
            "email": "karim.dupont@example.fr",
            "phone": "06 12 34 56 78",
            "current_password": DEFAULT_PASSWORD,
        },
    )
    link = mailbox.links(mailbox.last("karim.dupont@example.fr"))[0]
    return link.removeprefix("http://portail.test")


def test_an_unconfirmed_new_email_does_not_block_the_address(
    app, client, other_client, auth, mailbox
):
    auth.sophie()
    _ask_for_karims_address(client, mailbox)
    # Karim can still register with his own address.
    auth.karim(other_client)
    assert "Karim" in text(other_client.get("/mon-espace"))


def test_an_address_taken_before_its_confirmation_is_refused(
    app, client, other_client, auth, mailbox
):
    """Karim registers with the address Sophie asked for: her link is refused with a clear
    message, her request is dropped, nothing else changes (no notice, no logout)."""
    auth.sophie()
    link = _ask_for_karims_address(client, mailbox)
    auth.karim(other_client)
    told = len(mailbox.to("sophie.martin@example.fr"))
    response = submit(client, link)
    assert response.status_code == 400
    assert EMAIL_TAKEN in text(response)
    with app.app_context():
        sophie = db.session.scalar(sa.select(Account).order_by(Account.id).limit(1))
        assert sophie.email == "sophie.martin@example.fr" and sophie.pending_email is None
    assert len(mailbox.to("sophie.martin@example.fr")) == told
    assert client.get("/mon-espace").status_code == 200
    assert submit(client, link).status_code == 400  # dropped: the link is spent


def test_session_cookie_copied_before_a_password_change_gives_no_access(app, client, auth):
    auth.sophie()
    copied = client.get_cookie("cartable_session").value
    thief = app.test_client()
    thief.set_cookie("cartable_session", copied)
    assert thief.get("/mon-espace").status_code == 200
    submit(
        client,
        "/mon-espace/mot-de-passe",
        {
            "current_password": DEFAULT_PASSWORD,
            "password": "Nouveau2026x",
            "password_confirm": "Nouveau2026x",
        },
    )
    # The owner's browser stays logged in; the copy (same token) is refused once the
    # owner logs out, and any other session is gone at once.
    auth.logout()
    assert thief.get("/mon-espace").status_code == 302


def test_password_checks_in_mon_espace_are_rate_limited(client, auth):
    auth.sophie()
    wrong = {"current_password": "Mauvais2026!", "password": "Nouveau2026x"}
    for _ in range(5):
        submit(client, "/mon-espace/mot-de-passe", {**wrong, "password_confirm": "Nouveau2026x"})
    response = submit(client, "/mon-espace/supprimer", {"password": "Mauvais2026!"})
    assert response.status_code == 200
    response = submit(
        client, "/mon-espace/mot-de-passe", {**wrong, "password_confirm": "Nouveau2026x"}
    )
    assert response.status_code == 429


def test_data_export_is_never_cached(client, auth):
    auth.sophie()
    assert client.get("/mon-espace/mes-donnees").headers["Cache-Control"] == "no-store"


def test_mon_espace_lists_every_offer_and_the_family_eldest_first(app, client, auth):
    auth.sophie()
    with app.app_context():
        sophie = db.session.scalar(sa.select(Member).where(Member.first_name == "Sophie"))
        db.session.add(
            Offer(member_id=sophie.id, starts_on=date(2025, 1, 1), ends_on=date(2025, 6, 30))
        )
        db.session.execute(sa.update(Account).values(pending_email="sophie.neuve@example.fr"))
        db.session.commit()
    page = text(client.get("/mon-espace"))
    assert f"<dd>Du 01/01/2025 au 30/06/2025<br>{demo_offer()}</dd>" in page
    assert "en attente de confirmation : sophie.neuve@example.fr" in page
    assert page.index("Maxime MARTIN") < page.index("Franck MARTIN")


def test_mon_espace_of_a_member_with_no_offer_nor_family(app, client, auth):
    auth.sophie()
    with app.app_context():
        sophie = db.session.scalar(sa.select(Member).where(Member.first_name == "Sophie"))
        db.session.execute(sa.delete(Offer).where(Offer.member_id == sophie.id))
        db.session.execute(sa.delete(Member).where(Member.id != sophie.id))
        db.session.commit()
    page = text(client.get("/mon-espace"))
    assert "<dd>Aucune</dd>" in page
    assert "Aucun bénéficiaire n'est enregistré sur votre contrat." in page


def test_mon_espace_runs_two_statements(client, auth, count_queries):
    auth.sophie()
    client.get("/mon-espace")
    with count_queries() as counter:
        page = client.get("/mon-espace").get_data(as_text=True)
    # The identity; the account with its member, insurer and offers, and the family.
    assert counter.count == 2, counter.statements
    assert "Mutuelle Démo" in page and "Maxime" in page

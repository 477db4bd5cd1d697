from tests.conftest import submit


def test_register_confirm_login_logout(client, demo, mailbox):
    response = submit(
        client,
        "/inscription",
        {
            "member_number": "ab123456",
            "first_name": " sophie ",
            "last_name": "martin",
            "email": "Sophie.Martin@Example.fr",
            "phone": "06.12.34.56.78",
            "password": "Cartable2026!",
            "password_confirm": "Cartable2026!",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Confirmez votre adresse e-mail" in response.get_data(as_text=True)
    link = mailbox.links(mailbox.last("sophie.martin@example.fr"))[0]
    assert link.startswith("http://portail.test/inscription/confirmer/")
    response = client.get(link.removeprefix("http://portail.test"))
    assert response.status_code == 302
    response = submit(
        client, "/connexion", {"email": "sophie.martin@example.fr", "password": "Cartable2026!"}
    )
    assert response.status_code == 302
    page = client.get("/mon-espace/").get_data(as_text=True)
    assert "Maxime" in page and "Franck" in page
    response = submit(client, "/deconnexion", form_url="/mon-espace/")
    assert response.status_code == 302
    assert client.get("/mon-espace/").status_code == 302


def test_auth_helper_logs_sophie_in(client, auth):
    auth.sophie()
    assert "Mon compte" in client.get("/mon-espace/").get_data(as_text=True)

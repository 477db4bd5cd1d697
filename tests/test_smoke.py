def test_home_page_explains_the_service_and_offers_both_ways_in(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Connexion" in page
    assert "Créer mon compte" in page
    assert '<html lang="fr">' in page


def test_ids_too_large_for_the_database_are_not_found(client, auth):
    auth.sophie()
    huge = "9" * 25
    for url in [
        f"/adresses/{huge}",
        f"/adresses/{huge}/modifier",
        f"/trajets/trajet/{huge}",
        f"/remboursements/R-2026-{huge}/justificatifs/{huge}",
        f"/adresses/{2**31}",
        "/adresses/0",
    ]:
        assert client.get(url).status_code == 404, url

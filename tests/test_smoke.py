def test_home_page_explains_the_service_and_offers_both_ways_in(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Connexion" in page
    assert "Créer mon compte" in page
    assert '<html lang="fr">' in page

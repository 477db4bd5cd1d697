"""Questions fréquentes and information pages: content, permalinks, search, speed, loading."""

import re
from datetime import date, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import render_template
from markupsafe import escape

from app.clock import PARIS
from app.extensions import db
from app.faq import content
from app.faq.render import render_text
from app.faq.search import QUERY_MAX_LENGTH, Document, fold, query_terms, rank, stem
from app.models import FaqEntry, FaqTheme, Insurer
from tests.conftest import submit

CLIENT_TEXT = Path(__file__).parent / "data" / "faq-answers.txt"

# Obvious spelling mistakes of the client's text corrected in app/faq/content/faq.toml,
# written after quote normalisation (straight quotes): client's text -> what users read.
SPELLING_FIXES = {
    'dans le champs "Numéro adhérent"': 'dans le champ "Numéro adhérent"',
    'dans le champs "Prénom" et "Nom", Le nom': 'dans les champs "Prénom" et "Nom", le nom',
    '"1234", etc...)': '"1234", etc.)',
    "afin de pourvoir emmener": "afin de pouvoir emmener",
    "Vous pouvez aussi précisez": "Vous pouvez aussi préciser",
    "collèges, lycée.": "collèges, lycées.",
    "vous souhaitez supprimé,": "vous souhaitez supprimer,",
    "un délais de 48h": "un délai de 48h",
    "jours sélectionnable.": "jours sélectionnables.",
    "Vous devez commencé par": "Vous devez commencer par",
    "mettre en jeux": "mettre en jeu",
    "(A partir de Windows 10)": "(À partir de Windows 10)",
}

# Slugs other features link to: the answer each one must hold.
LINKED_SLUGS = {
    "probleme-de-connexion": "Assurez-vous que vous utilisez les bons identifiants.",
    "supprimer-une-adresse": "vous devez supprimer le trajet vers cette destination",
    "jours-non-selectionnables": "Deux possibilités : soit votre période de garantie",
    "trajet-examen": 'La garantie à mettre en jeu est "Transport aux examens scolaires"',
}

# What parents type, and the answer they are looking for.
SEARCHES = [
    ("mot de passe oublie", "mot-de-passe-oublie"),
    ("SUPPRIMER ADRESSE", "supprimer-une-adresse"),
    ("examen", "trajet-examen"),
    ("devis", "devis"),
    ("cookie", "desactiver-les-cookies"),
    ("Désactiver les cookies", "desactiver-les-cookies"),
    ("mots de passe oubliés", "mot-de-passe-oublie"),
    ("je n'arrive pas à me connecter", "probleme-de-connexion"),
    ("probleme connexion", "probleme-de-connexion"),
    ("où trouver mon numéro adhérent", "numero-adherent"),
    ("changer mon mot de passe", "modifier-mot-de-passe"),
    ("règles du mot de passe", "regles-mot-de-passe"),
    ("ajouter une adresse", "ajouter-une-adresse"),
    ("plusieurs ecoles", "plusieurs-adresses"),
    ("suppression adresse", "supprimer-une-adresse"),
    ("jours non selectionnables", "jours-non-selectionnables"),
    ("période de garantie dépassée", "jours-non-selectionnables"),
    ("délai 48h", "delai-de-reservation"),
    ("EXAMENS SCOLAIRES", "trajet-examen"),
    ("navigateurs recommandés", "navigateurs-recommandes"),
    ("donnees de sante", "donnees-de-sante"),
    ("hébergeur certifié", "hebergement-des-donnees"),
    ("qui a accès à mes données", "acces-aux-donnees"),
    ("frais de santé", "ce-que-couvre-la-plateforme"),
    ("remboursement", "ce-que-couvre-la-plateforme"),
    ("format téléphone portable", "format-telephone"),
    ("offre valide", "offre-non-valide"),
    ("accompagnant école", "accompagnant-dans-l-ecole"),
    ("trajets plusieurs enfants", "trajets-plusieurs-enfants"),
    ("modifier mes données personnelles", "mon-compte-et-mes-donnees"),
    ("enfant n'apparaît pas", "regulariser-ma-situation"),
    ("inscription", "formulaire-inscription"),
]


# --- Helpers ------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """The text a reader sees in <main> (hidden hints excluded), entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth = 0
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "main":
            self.depth += 1
        if self.skip or "hidden" in attributes:
            self.skip += tag not in ("br", "input", "img")

    def handle_endtag(self, tag):
        if self.skip:
            self.skip -= 1
        elif tag == "main":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    return normalise(" ".join(extractor.parts))


def normalise(text: str) -> str:
    """Spaces collapsed, French and curly quotes made straight."""
    text = re.sub(r"«\s*", '"', text)
    text = re.sub(r"\s*»", '"', text)
    text = text.replace("“", '"').replace("”", '"').replace("’", "'").replace("‘", "'")
    return " ".join(text.split())


def client_lines() -> list[str]:
    return [line for line in CLIENT_TEXT.read_text(encoding="utf-8").splitlines() if line.strip()]


def with_fixes(line: str) -> str:
    line = normalise(line)
    for wrong, right in SPELLING_FIXES.items():
        line = line.replace(wrong, right)
    return line


def result_slugs(html: str) -> list[str]:
    """The answers listed by a search, in their order."""
    listing = re.search(r'<ol class="faq-result-list">(.*?)</ol>', html, re.S)
    return re.findall(r'<h3><a href="/faq/([a-z0-9-]+)">', listing.group(1)) if listing else []


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def faq(app, runner):
    """The FAQ of the repository, loaded by its CLI command."""
    result = runner.invoke(args=["faq", "load"])
    assert result.exit_code == 0, result.output
    return result


def add_entries(app, count: int) -> None:
    with app.app_context():
        theme = FaqTheme(slug="theme-en-plus", title="Thème en plus", position=99)
        db.session.add(theme)
        for number in range(count):
            db.session.add(
                FaqEntry(
                    theme=theme,
                    slug=f"question-en-plus-{number}",
                    question=f"Question supplémentaire numéro {number} sur les adresses ?",
                    answer="Une réponse de plus, à propos des adresses et des trajets.",
                    position=number,
                )
            )
        db.session.commit()


# --- Content ------------------------------------------------------------------------------


def test_every_line_of_the_client_text_is_on_the_faq_page(client, faq):
    text = page_text(text_of(client.get("/faq")))
    all_lines = [normalise(line) for line in client_lines()]
    for line in client_lines():
        expected = with_fixes(line)
        assert expected in text, f"missing from /faq: {expected[:80]}…"
        # Each answer once per question it answers: twice for the one written twice.
        assert text.count(expected) == all_lines.count(normalise(line)), expected[:80]


def test_spelling_fixes_are_real_fixes_of_the_client_text(client, faq):
    client_text = normalise(CLIENT_TEXT.read_text(encoding="utf-8"))
    text = page_text(text_of(client.get("/faq")))
    for wrong, right in SPELLING_FIXES.items():
        assert wrong in client_text, f"not in the client's text: {wrong}"
        assert wrong not in text and right in text


def test_the_answer_written_twice_answers_two_different_questions(app, faq):
    duplicated = [line for line in client_lines() if client_lines().count(line) > 1]
    assert duplicated, "the client's text has one answer written twice"
    expected = with_fixes(duplicated[0])
    with app.app_context():
        entries = db.session.scalars(sa.select(FaqEntry)).all()
        questions = {e.question for e in entries if normalise(e.answer) == expected}
    assert len(questions) == 2


def test_the_content_file_has_one_question_per_client_answer_and_the_linked_slugs(app, faq):
    themes = content.read()
    questions = [q for theme in themes for q in theme.questions]
    assert len(questions) == len(client_lines())
    assert len({q.question for q in questions}) == len(questions)
    with app.app_context():
        stored = {e.slug: e for e in db.session.scalars(sa.select(FaqEntry))}
    for slug, sentence in LINKED_SLUGS.items():
        assert sentence in normalise(stored[slug].answer), slug


def test_faq_page_lists_every_question_under_its_theme_heading(client, faq):
    html = text_of(client.get("/faq"))
    titles = [theme.title for theme in content.read()]
    positions = [html.index(f">{title}</h2>") for title in titles]
    assert positions == sorted(positions), "themes in the file's order"
    # No disclosure around a theme: one per question, closed, whose button is the question.
    assert html.count("<details") == len(client_lines())
    assert html.count('<details class="faq-question" id="') == len(client_lines())
    assert html.count("<summary>") == len(client_lines())
    assert " open>" not in html
    assert 'aria-label="Informations"' in html and 'href="/faq"' in html


def test_tout_afficher_without_javascript_opens_every_answer(client, faq):
    html = text_of(client.get("/faq"))
    assert '<a href="/faq?tout=1" data-faq-toggle="afficher">Tout afficher</a>' in html
    assert "Tout masquer" not in html

    html = text_of(client.get("/faq?tout=1"))
    assert html.count('<details class="faq-question"') == len(client_lines())
    assert html.count('" open>') == len(client_lines())
    assert '<a href="/faq" data-faq-toggle="masquer">Tout masquer</a>' in html
    assert "Tout afficher" not in html
    text = page_text(html)
    for line in client_lines():
        assert with_fixes(line) in text


@pytest.mark.parametrize("value", ["abc", "0", "", "11", "1" * 500, "<script>"])
def test_other_values_of_tout_give_the_page_as_usual(client, faq, value):
    response = client.get("/faq", query_string={"tout": value})
    html = text_of(response)
    assert response.status_code == 200
    assert html.count('<details class="faq-question"') == len(client_lines())
    assert " open>" not in html
    assert "Tout afficher" in html


def test_empty_faq_offers_no_tout_afficher(client):
    html = text_of(client.get("/faq?tout=1"))
    assert "pas encore disponibles" in html
    assert "Tout afficher" not in html and "Tout masquer" not in html


class _Outline(HTMLParser):
    """The headings (level, text) of a page, and the headings found inside a <summary>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self.in_summary: list[str] = []
        self.summary_depth = 0
        self.heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "summary":
            self.summary_depth += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.heading = []
            if self.summary_depth:
                self.in_summary.append(tag)

    def handle_endtag(self, tag):
        if tag == "summary":
            self.summary_depth -= 1
        elif re.fullmatch(r"h[1-6]", tag) and self.heading is not None:
            self.headings.append((int(tag[1]), " ".join("".join(self.heading).split())))
            self.heading = None

    def handle_data(self, data):
        if self.heading is not None:
            self.heading.append(data)


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html[html.index("<main") : html.index("</main>")])
    return parser


def test_theme_titles_are_headings_outside_the_disclosure_buttons(client, faq):
    titles = [theme.title for theme in content.read()]
    page = outline(text_of(client.get("/faq")))
    assert page.in_summary == [], "no heading inside a <summary>"
    assert page.headings == [(1, "Questions fréquentes"), *((2, title) for title in titles)]
    # Each theme: its heading, then its questions, each the button of its own disclosure.
    html = text_of(client.get("/faq"))
    for theme in content.read():
        group = re.search(
            rf'<div class="faq-theme-group" id="theme-{theme.slug}">(.*?)</ul>', html, re.S
        )
        assert group, theme.slug
        assert re.match(
            rf'\s*<h2 class="faq-theme-title">{re.escape(theme.title)}</h2>\s*'
            r'<ul class="faq-questions">\s*<li>\s*<details class="faq-question"',
            group.group(1),
        ), theme.slug
        for question in theme.questions:
            assert f"<summary>{escape(question.question)}</summary>" in group.group(1)


def test_theme_titles_come_under_the_no_result_heading(client, faq):
    titles = [theme.title for theme in content.read()]
    page = outline(text_of(client.get("/faq", query_string={"q": "parapluie"})))
    assert page.in_summary == []
    assert page.headings == [
        (1, "Questions fréquentes"),
        (2, "Aucun résultat"),
        (2, "Toutes les questions, par thème"),
        *((3, title) for title in titles),
    ]


def test_web_addresses_in_answers_are_links_opening_a_new_tab(client, faq):
    html = text_of(client.get("/faq/navigateurs-recommandes"))
    assert (
        '<a href="https://www.google.com/chrome" target="_blank" rel="noopener"'
        ' aria-describedby="nouvel-onglet">https://www.google.com/chrome</a>'
    ) in html
    assert 'id="nouvel-onglet" hidden' in html
    cookies = text_of(client.get("/faq/desactiver-les-cookies"))
    assert 'href="https://support.apple.com/kb/ph21411?locale=fr_CA"' in cookies
    assert cookies.count('target="_blank" rel="noopener"') == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Voir https://exemple.fr/page.", '<a href="https://exemple.fr/page" '),
        ("(https://exemple.fr/a?b=1&c=2)", 'href="https://exemple.fr/a?b=1&amp;c=2"'),
        ('https://x.fr/"onmouseover="alert(1)', 'href="https://x.fr/"'),
        ("<b>gras</b> https://x.fr", "&lt;b&gt;gras&lt;/b&gt; <a href"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("ligne 1\nligne 2", "ligne 1<br>\nligne 2"),
    ],
)
def test_answer_rendering_escapes_text_and_builds_links_itself(text, expected):
    html = str(render_text(text))
    assert expected in html
    # The only tags are the links and line breaks built by the renderer.
    tags = re.findall(r"<[^>]*>", html)
    link = re.compile(
        r'<a href="https?://[^"<>\s]+" target="_blank" rel="noopener"'
        r' aria-describedby="nouvel-onglet">'
    )
    assert all(tag in ("<br>", "</a>") or link.fullmatch(tag) for tag in tags), tags


def test_rendering_highlights_matched_words_only():
    html = str(render_text("Supprimez l'adresse, puis les adresses.", {stem("adresse")}))
    assert html.count("<mark>") == 2
    assert "<mark>adresse</mark>" in html and "<mark>adresses</mark>" in html
    assert "Supprimez" in html and "<mark>Supprimez" not in html


# --- Permalinks and pages -----------------------------------------------------------------


def test_each_question_links_to_its_own_page_and_title(client, faq):
    html = text_of(client.get("/faq"))
    slugs = re.findall(r'<p class="faq-permalink"><a href="/faq/([a-z0-9-]+)">', html)
    assert len(slugs) == len(client_lines()) == len(set(slugs))
    for theme in content.read():
        for question in theme.questions:
            assert question.slug in slugs
            response = client.get(f"/faq/{question.slug}")
            assert response.status_code == 200
            page = text_of(response)
            heading = unescape(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1))
            assert heading == question.question
            title = unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1))
            assert title.startswith(heading) and "Questions fréquentes" in title
            text = page_text(page)
            assert normalise(question.answer.splitlines()[0]) in text
            assert f"http://portail.test/faq/{question.slug}" in page, "address to share"
            assert theme.title in text


def test_unknown_answer_gives_the_french_not_found_page(client, faq):
    response = client.get("/faq/cette-question-n-existe-pas")
    assert response.status_code == 404
    page = text_of(response)
    assert "Page introuvable" in page and "n'existe pas" in page_text(page)
    assert '<html lang="fr">' in page


@pytest.mark.parametrize(
    ("url", "title", "slugs"),
    [
        (
            "/infos/donnees-de-sante",
            "Données de santé et hébergement certifié",
            ["donnees-de-sante", "hebergement-des-donnees", "acces-aux-donnees"],
        ),
        ("/infos/navigateurs", "Navigateurs recommandés", ["navigateurs-recommandes"]),
        ("/infos/cookies", "Cookies", ["desactiver-les-cookies"]),
        (
            "/infos/perimetre",
            "Ce que couvre la plateforme",
            ["ce-que-couvre-la-plateforme", "devis"],
        ),
    ],
)
def test_information_pages_are_built_from_their_answers(client, app, faq, url, title, slugs):
    response = client.get(url)
    assert response.status_code == 200
    page = text_of(response)
    assert f"<title>{title} · Cartable</title>" in page
    text = page_text(page)
    with app.app_context():
        for slug in slugs:
            entry = db.session.scalar(sa.select(FaqEntry).where(FaqEntry.slug == slug))
            assert normalise(entry.answer) in text, slug
            assert f'href="/faq/{slug}"' in page
    home = text_of(client.get("/"))
    assert f'href="{url}"' in home, "linked from the footer"
    assert "css/print.css" in page


def test_information_pages_say_what_the_platform_does_not_do(client, faq):
    scope = page_text(text_of(client.get("/infos/perimetre")))
    assert "Cette plateforme ne réalise pas de devis." in scope
    assert "ne couvre pas les frais de santé" in scope
    cookies = page_text(text_of(client.get("/infos/cookies")))
    assert "cartable_session" in cookies and "aucun cookie publicitaire" in cookies
    health = page_text(text_of(client.get("/infos/donnees-de-sante")))
    assert "(HDS)" in health and "hébergeur de données de santé certifié" in health


def test_failed_login_links_to_the_login_answer(client, faq):
    response = submit(
        client, "/connexion", {"email": "personne@example.fr", "password": "Mauvais2026"}
    )
    assert 'href="/faq/probleme-de-connexion"' in text_of(response)
    assert client.get("/faq/probleme-de-connexion").status_code == 200


def test_pages_are_readable_without_an_account_and_empty_faq_does_not_fail(client):
    page = text_of(client.get("/faq"))
    assert "pas encore disponibles" in page
    assert client.get("/infos/cookies").status_code == 200


# --- Search -------------------------------------------------------------------------------


def test_search_finds_the_expected_answer_first(client, faq):
    assert len(SEARCHES) >= 25
    ranks = {}
    for query, expected in SEARCHES:
        response = client.get("/faq", query_string={"q": query})
        assert response.status_code == 200
        slugs = result_slugs(text_of(response))
        ranks[query] = slugs.index(expected) + 1 if expected in slugs else None
    not_top3 = {q: r for q, r in ranks.items() if r is None or r > 3}
    assert not not_top3, f"expected answer not in the top 3: {not_top3}"
    first = sum(1 for r in ranks.values() if r == 1)
    assert first >= len(SEARCHES) - 3, f"only {first} first: {ranks}"


@pytest.mark.parametrize(
    "query", ["supprimer adresse", "SUPPRIMER ADRESSE", "Supprimér Adrèsse", "supprimé adresses"]
)
def test_search_ignores_case_accents_and_simple_endings(client, faq, query):
    html = text_of(client.get("/faq", query_string={"q": query}))
    assert result_slugs(html)[0] == "supprimer-une-adresse"


def test_search_highlights_the_matched_words(client, faq):
    html = text_of(client.get("/faq", query_string={"q": "mots de passe oubliés"}))
    assert "<mark>oublié</mark>" in html
    assert "<mark>passe</mark>" in html and "<mark>mot</mark>" in html
    assert "<mark>de</mark>" not in html, "stop words are not highlighted"
    count = len(result_slugs(html))
    assert f"{count} réponses pour « mots de passe oubliés »" in html


def test_search_without_result_says_so_with_the_assistance_contact(client, app, faq, demo):
    response = client.get("/faq", query_string={"q": "parapluie xylophone"})
    html = text_of(response)
    assert response.status_code == 200
    assert "Aucun résultat" in html
    assert "Mutuelle Démo" in html and 'href="tel:+33123456789"' in html
    assert "01 23 45 67 89" in html
    assert html.count('<details class="faq-question"') == len(client_lines()), "still browsable"


def test_no_result_contact_is_the_members_insurer_or_a_general_advice(client, app, faq, auth):
    with app.app_context():
        db.session.add(Insurer(slug="autre", name="Autre Mutuelle", phone="04 00 00 00 00"))
        db.session.commit()
    anonymous = text_of(client.get("/faq", query_string={"q": "parapluie"}))
    assert "Aucun résultat" in anonymous
    assert "documents de votre contrat" in anonymous and "01 23 45 67 89" not in anonymous
    auth.sophie()
    logged_in = text_of(client.get("/faq", query_string={"q": "parapluie"}))
    assert "Mutuelle Démo" in logged_in and "01 23 45 67 89" in logged_in


def no_result_block(html: str) -> str:
    """The « Aucun résultat » advice only (in a frame, the footer has the contact too)."""
    block = re.search(r'<div class="faq-no-result">(.*?)</div>', html, re.S)
    assert block, "no « Aucun résultat » advice on the page"
    return block.group(1)


def test_no_result_contact_is_the_insurer_in_context_for_an_anonymous_visitor(
    client, app, faq, demo
):
    with app.app_context():
        db.session.add(Insurer(slug="autre", name="Autre Mutuelle", phone="04 00 00 00 00"))
        db.session.get(Insurer, demo).email = "assistance@mutuelle-demo.example"
        db.session.commit()
    outside = no_result_block(text_of(client.get("/faq", query_string={"q": "parapluie"})))
    assert "documents de votre contrat" in outside and "01 23 45 67 89" not in outside

    # The insurer's iframe link: /e/demo, then its cookie check /e/demo/verification.
    entry = client.get("/e/demo")
    assert entry.status_code == 302 and entry.location.endswith("/e/demo/verification")
    assert client.get(entry.location, follow_redirects=True).status_code == 200
    html = text_of(client.get("/faq", query_string={"q": "parapluie xylophone"}))
    advice = no_result_block(html)
    assert "Aucun résultat" in html
    assert "l'assistance de Mutuelle Démo" in advice
    assert '<a href="tel:+33123456789">01 23 45 67 89</a>' in advice
    assert (
        '<a href="mailto:assistance@mutuelle-demo.example">assistance@mutuelle-demo.example</a>'
        in advice
    )
    assert "Autre Mutuelle" not in advice and "documents de votre contrat" not in advice


def test_no_result_contact_of_a_member_wins_over_the_insurer_in_context(client, app, faq, auth):
    with app.app_context():
        db.session.add(Insurer(slug="autre", name="Autre Mutuelle", phone="04 00 00 00 00"))
        db.session.commit()
    auth.sophie()
    with client.session_transaction() as session:
        session["mutuelle"] = "autre"  # not reachable by links: /e/autre refuses her
    advice = no_result_block(text_of(client.get("/faq", query_string={"q": "parapluie"})))
    assert "Mutuelle Démo" in advice and "01 23 45 67 89" in advice
    assert "Autre Mutuelle" not in advice


def test_no_result_contact_without_phone_gives_the_e_mail_only(client, app, faq, demo):
    with app.app_context():
        insurer = db.session.get(Insurer, demo)
        insurer.phone, insurer.email = None, "aide@mutuelle-demo.example"
        db.session.commit()
    advice = no_result_block(text_of(client.get("/faq", query_string={"q": "parapluie"})))
    assert "Contactez l'assistance de Mutuelle Démo par e-mail à" in advice
    assert 'href="mailto:aide@mutuelle-demo.example"' in advice and "tel:" not in advice


@pytest.mark.parametrize("query", ["", "   ", "\t"])
def test_empty_search_shows_every_question(client, faq, query):
    html = text_of(client.get("/faq", query_string={"q": query}))
    assert "Aucun résultat" not in html
    assert html.count('<details class="faq-question"') == len(client_lines())


def test_stop_words_only_search_finds_nothing_without_failing(client, faq):
    html = text_of(client.get("/faq", query_string={"q": "le la les de"}))
    assert "Aucun résultat" in html


def test_a_2000_character_search_is_answered_and_cut(client, faq):
    query = ("adresse " * 250)[:2000]
    response = client.get("/faq", query_string={"q": query})
    assert response.status_code == 200
    html = text_of(response)
    assert result_slugs(html)[0] in {"ajouter-une-adresse", "supprimer-une-adresse"}
    echoed = re.search(r'name="q" value="([^"]*)"', html).group(1)
    assert len(echoed) <= QUERY_MAX_LENGTH
    words = " ".join(f"mot{n}" for n in range(400))
    assert client.get("/faq", query_string={"q": words}).status_code == 200


def test_script_in_the_search_is_shown_as_text(client, faq):
    html = text_of(client.get("/faq", query_string={"q": "<script>alert('x')</script>"}))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    html = text_of(client.get("/faq", query_string={"q": '"><mark>cookie'}))
    assert "&#34;&gt;&lt;mark&gt;cookie" in html
    assert result_slugs(html)[0] == "desactiver-les-cookies"


# --- Text analysis (no Flask) -------------------------------------------------------------


@pytest.mark.parametrize(
    "forms",
    [
        ("adresse", "adresses", "Adresses", "ADRESSE"),
        ("supprimer", "supprimé", "supprimée", "supprimez", "supprimés"),
        ("oublié", "oubliés", "oublier", "oubli"),
        ("connexion", "connecter", "connecté"),
        ("remboursement", "remboursements", "rembourser"),
        ("cookie", "cookies"),
        ("navigateur", "navigateurs"),
        ("sélectionnable", "sélectionnables", "sélectionner"),
        ("donnée", "données", "donner"),
        ("e-mail", "email", "e-mails"),
        ("école", "écoles", "ecole"),
    ],
)
def test_stemmer_gives_one_term_for_inflected_forms(forms):
    assert len({stem(fold(form)) for form in forms}) == 1, [stem(fold(f)) for f in forms]


def test_stemmer_keeps_different_words_apart():
    pairs = [("mot", "mois"), ("trajet", "transport"), ("enfant", "enfin"), ("devis", "deux")]
    for left, right in pairs:
        assert stem(fold(left)) != stem(fold(right))


def test_query_terms_drop_stop_words_and_are_bounded():
    assert query_terms("Où trouver le numéro ?") == [stem("trouver"), stem("numero")]
    assert len(query_terms(" ".join(f"mot{n}" for n in range(100)))) <= 20


def test_ranking_prefers_documents_matching_every_word():
    documents = [
        Document("a", "Comment ajouter une adresse ?", "Cliquez sur ajouter."),
        Document("b", "Comment supprimer une adresse ?", "Supprimez le trajet d'abord."),
        Document("c", "Comment supprimer un trajet ?", "Depuis le calendrier."),
    ]
    assert [hit.key for hit in rank(documents, "supprimer adresse")][:1] == ["b"]
    assert rank(documents, "") == [] and rank([], "adresse") == []


# --- Speed --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/faq",
        "/faq?tout=1",
        "/faq?q=mot+de+passe+oublie",
        "/faq?q=parapluie",
        "/faq/probleme-de-connexion",
        "/infos/donnees-de-sante",
    ],
)
def test_faq_pages_use_a_fixed_number_of_queries(client, app, faq, count_queries, url):
    client.get(url)
    with count_queries() as before:
        assert client.get(url).status_code == 200
    add_entries(app, 60)
    with count_queries() as after:
        assert client.get(url).status_code == 200
    assert after.count == before.count <= 2, after.statements


# --- Loading the content ------------------------------------------------------------------


def _snapshot(app):
    with app.app_context():
        return sorted(
            (e.id, e.slug, e.theme_id, e.position, e.question, e.answer, e.updated_at)
            for e in db.session.scalars(sa.select(FaqEntry))
        )


def test_faq_load_is_idempotent(app, runner, faq):
    assert "28 ajoutées" in faq.output
    first = _snapshot(app)
    result = runner.invoke(args=["faq", "load"])
    assert result.exit_code == 0
    assert "0 ajoutées, 0 modifiées, 0 supprimées" in result.output
    assert _snapshot(app) == first


def test_faq_load_updates_changed_answers_and_removes_dropped_ones(app, faq):
    themes = content.read()
    first, rest = themes[0], themes[1:]
    changed = first.questions[0].__class__(
        slug=first.questions[0].slug, question="Nouvelle question ?", answer="Nouvelle réponse."
    )
    edited = [first.__class__(first.slug, first.title, (changed,)), *rest]
    with app.app_context():
        report = content.load(edited)
        assert (report.created, report.updated) == (0, 1)
        assert report.deleted == len(first.questions) - 1
        entry = db.session.scalar(sa.select(FaqEntry).where(FaqEntry.slug == changed.slug))
        assert entry.answer == "Nouvelle réponse."
        report = content.load(content.read())
        assert report.created == len(first.questions) - 1


def test_setup_loads_the_faq(app, runner):
    # `flask setup` runs inside the app context that the real `flask` command pushes.
    with app.app_context():
        result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(FaqEntry))
    assert count == len(client_lines())


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("[[themes]]\nslug='a'\ntitle='A'\n", "aucune question"),
        ("[[themes]]\nslug='A B'\ntitle='A'\n", "slug « A B » invalide"),
        (
            "[[themes]]\nslug='a'\ntitle='A'\n[[themes.questions]]\nslug='q'\nquestion='Q ?'\n"
            "answer='R.'\n[[themes.questions]]\nslug='q'\nquestion='Q2 ?'\nanswer='R2.'\n",
            "slug « q » déjà utilisé",
        ),
        ("[[themes]]\nslug='a'\ntitle='A'\n[[themes.questions]]\nslug='q'\n", "« question »"),
        ("themes = [", "illisible"),
    ],
)
def test_faq_file_errors_are_reported(source, message):
    with pytest.raises(content.ContentError, match=message):
        content.parse(source)


# --- Benchmark ----------------------------------------------------------------------------


def test_benchmark_data_load_includes_the_faq(tmp_path):
    """bench/run.py measures /faq: its fresh database must hold the FAQ."""
    from bench import run

    url = f"sqlite:///{tmp_path / 'bench.db'}"
    volume = run.Volume(accounts=1, addresses=2, trips=2)
    counts = run.load_volume(url, volume, date(2026, 3, 2), families=1)
    assert counts["faq_entries"] == len(client_lines())
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            slugs = set(connection.scalars(sa.select(FaqEntry.slug)))
    finally:
        engine.dispose()
    assert {"mot-de-passe-oublie", "supprimer-une-adresse"} <= slugs


def _change_first_answer(app, answer: str) -> None:
    with app.app_context():
        entry = db.session.scalars(sa.select(FaqEntry).order_by(FaqEntry.id)).first()
        entry.answer = answer
        db.session.commit()


def test_the_faq_page_shows_a_changed_answer_within_the_recheck_delay(
    app, client, faq, time_machine
):
    """The questions by theme are kept rendered under their content, which is read again
    once FAQ_RECHECK_SECONDS have passed: another process's `flask faq load` shows then."""
    time_machine.move_to(datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), tick=False)
    first = client.get("/faq").get_data(as_text=True)
    _change_first_answer(app, "Une réponse toute neuve, écrite par l'assistance.")
    delay = app.config["FAQ_RECHECK_SECONDS"]
    time_machine.shift(delay - 1)
    assert client.get("/faq").get_data(as_text=True) == first
    time_machine.shift(1)
    changed = client.get("/faq").get_data(as_text=True)
    assert "Une réponse toute neuve, écrite par l&#39;assistance." in changed
    assert changed != first


def test_a_clock_set_back_reads_the_faq_again(app, client, faq, time_machine):
    """A clock moved backwards (a corrected server time) does not keep the part longer."""
    time_machine.move_to(datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), tick=False)
    client.get("/faq")
    _change_first_answer(app, "Réponse corrigée.")
    time_machine.shift(-3600)
    assert "Réponse corrigée." in client.get("/faq").get_data(as_text=True)


def test_an_unchanged_faq_is_not_rendered_again(app, client, faq, time_machine, monkeypatch):
    """Reading the same content after the delay keeps the part rendered before."""
    time_machine.move_to(datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), tick=False)
    first = client.get("/faq").get_data(as_text=True)
    rendered = []
    monkeypatch.setattr(
        "app.faq.routes.render_template",
        lambda name, **context: rendered.append(name) or render_template(name, **context),
    )
    time_machine.shift(app.config["FAQ_RECHECK_SECONDS"])
    assert client.get("/faq").get_data(as_text=True) == first
    assert rendered == []  # neither the questions by theme nor the page around them


def _counting_renders(monkeypatch, before=None) -> list[str]:
    """The templates the FAQ's views render from now on (`before` runs ahead of each)."""
    rendered = []

    def counted(name, **context):
        rendered.append(name)
        if before is not None:
            before()
        return render_template(name, **context)

    monkeypatch.setattr("app.faq.routes.render_template", counted)
    return rendered


def test_visitors_not_logged_in_are_served_the_kept_faq_page(
    app, client, other_client, faq, monkeypatch
):
    first = client.get("/faq").get_data(as_text=True)
    rendered = _counting_renders(monkeypatch)
    again = other_client.get("/faq")
    assert again.get_data(as_text=True) == first
    assert rendered == []
    assert again.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in again.headers
    # « Tout afficher » is another page, kept apart.
    opened = 'class="faq-question" id="mot-de-passe-oublie" open'
    assert opened not in first
    assert opened in other_client.get("/faq?tout=1").get_data(as_text=True)
    assert rendered == ["faq/_themes.html", "faq/index.html"]


def test_a_member_is_never_served_the_kept_faq_page(app, client, auth, other_client, faq):
    anonymous = other_client.get("/faq").get_data(as_text=True)  # kept from now on
    auth.sophie()
    mine = client.get("/faq").get_data(as_text=True)
    assert "Déconnexion" in mine and mine != anonymous
    with client.session_transaction() as session:
        assert session["csrf_token"]  # the logout form's token is hers, signed for her
    assert "Déconnexion" not in other_client.get("/faq").get_data(as_text=True)


def test_an_insurer_s_context_is_never_served_the_kept_faq_page(
    app, client, other_client, faq, demo
):
    anonymous = other_client.get("/faq").get_data(as_text=True)
    entry = client.get("/e/demo")
    client.get(entry.location, follow_redirects=True)
    branded = client.get("/faq").get_data(as_text=True)
    assert "Quitter l'espace Mutuelle Démo" in branded and branded != anonymous
    assert "Mutuelle Démo" not in other_client.get("/faq").get_data(as_text=True)


def test_a_message_waiting_is_shown_on_the_faq_and_never_kept(app, client, other_client, faq):
    other_client.get("/faq")
    # A page behind the login flashes « Veuillez vous connecter… » for the next page.
    assert client.get("/mon-espace").status_code == 302
    flashed = client.get("/faq").get_data(as_text=True)
    assert "Veuillez vous connecter pour accéder à cette page." in flashed
    assert "Veuillez vous connecter" not in client.get("/faq").get_data(as_text=True)
    assert "Veuillez vous connecter" not in other_client.get("/faq").get_data(as_text=True)


def test_a_faq_page_that_signed_a_csrf_token_is_never_kept(app, client, faq, monkeypatch):
    """Should the layout ever hold a form with a token for visitors not logged in, the page
    belongs to its visitor: rendered for each one, never kept."""
    from flask_wtf.csrf import generate_csrf

    rendered = _counting_renders(monkeypatch, before=generate_csrf)
    client.get("/faq")
    client.get("/faq")
    assert rendered.count("faq/index.html") == 2


def test_the_kept_faq_part_holds_nothing_of_a_visitor(app, client, auth, other_client, faq):
    auth.sophie()
    mine = client.get("/faq").get_data(as_text=True)
    assert "Déconnexion" in mine
    anonymous = other_client.get("/faq").get_data(as_text=True)
    assert "Déconnexion" not in anonymous and "Sophie" not in anonymous
    assert 'href="/connexion">Connexion</a>' in anonymous


def test_the_faq_page_runs_a_statement_only_to_read_its_content_again(
    app, client, faq, count_queries, time_machine
):
    time_machine.move_to(datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), tick=False)
    with count_queries() as counter:
        assert client.get("/faq").status_code == 200
    assert counter.count == 1
    with count_queries() as counter:
        assert client.get("/faq").status_code == 200
        assert client.get("/faq?tout=1").status_code == 200
    assert counter.count == 1  # « Tout afficher » is kept apart
    time_machine.shift(app.config["FAQ_RECHECK_SECONDS"])
    with count_queries() as counter:
        assert client.get("/faq").status_code == 200
    assert counter.count == 1


def test_kept_faq_parts_and_pages_are_bounded_however_many_roots(
    app, client, faq, time_machine, monkeypatch
):
    """One kept part and page per application root: a server handing out many roots keeps
    at most the bound, serves every root its own links all the same, and the roots kept
    are still renewed when the content changes."""
    from app.faq import routes

    time_machine.move_to(datetime(2026, 3, 2, 9, 0, tzinfo=PARIS), tick=False)
    for n in range(routes._KEPT_BOUND + 5):
        page = client.get("/faq", base_url=f"http://localhost/racine{n}")
        assert page.status_code == 200
        assert f'href="/racine{n}/connexion"' in page.get_data(as_text=True)
    for name in (routes._KEPT_THEMES, routes._KEPT_PAGES):
        assert len(app.extensions[name]) == routes._KEPT_BOUND
    _change_first_answer(app, "Réponse renouvelée.")
    time_machine.shift(app.config["FAQ_RECHECK_SECONDS"])
    assert "Réponse renouvelée." in client.get("/faq", base_url="http://localhost/racine0").text
    rendered = _counting_renders(monkeypatch)
    assert "Réponse renouvelée." in client.get("/faq", base_url="http://localhost/racine0").text
    assert rendered == []

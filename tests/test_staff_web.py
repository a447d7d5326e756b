"""The staff web console in Debian's Chromium (Playwright), against the real stack on 127.0.0.1.

Real conversations go through the REST channel into Rasa's SQL tracker store; the console reads that
database and the helpdesk tables; replies go to an SMTP server on loopback. Every page is checked with
axe-core (no serious or critical WCAG 2.1 AA violation) and at 360 px; screenshots go to
tests/output/staff-web/ (copied into docs/staff/ for the guide).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from ka2 import helpdesk_store as store
from ka2.helpdesk_store import AnswerRating, HandoffRequest
from tests.browser import Browser, missing_browser_tools

from .conftest import OUTPUT, RecordingSMTPServer, helpdesk_smtp_env, recording_smtp_server, running_stack
from .staff_web_helpers import PASSWORD, Client, running_console

SERIOUS = {"serious", "critical"}
SHOTS = OUTPUT / "staff-web"
CONVERSATIONS: Dict[str, List[str]] = {
    "web-definition": [
        "c'est quoi exactement l'action clé 2 ?",
        "combien d'argent pour un partenariat à petite échelle ?",
    ],
    "web-weather-1": ["quel temps fera-t-il demain à Liège ?"],
    "web-weather-2": ["quel temps fera-t-il demain à Namur ?"],
    "web-gibberish": ["asdfgh qwerty"],
    "web-script": ["<script>alert('x')</script> c'est quoi le KA2 ?"],
    "web-forget": ["je veux parler à quelqu'un"],
}


@pytest.fixture(scope="module")
def smtp() -> Iterator[RecordingSMTPServer]:
    with recording_smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, smtp: RecordingSMTPServer) -> Iterator[Dict[str, Any]]:
    missing = missing_browser_tools()
    if not (Path(__file__).resolve().parents[1] / "staff/web/static/vendor/chart.umd.min.js").exists():
        missing.append("staff/web/static/vendor/chart.umd.min.js (make web-deps)")
    if missing:
        reason = "BROWSER TESTS NOT RUN: missing " + ", ".join(missing) + " (`make install` installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("staff-web")
    stacks = running_stack(workdir)
    stack = next(stacks)
    browser = None
    consoles = None
    try:
        for sender, messages in CONVERSATIONS.items():
            for text in messages:
                assert stack.say(sender, text), f"no reply to {text!r}"
        url = f"sqlite:///{stack.db}"
        events = tracker_events(stack.db, "web-definition")
        summary = store.conversation_summary(events)
        youth = store.save_handoff(
            HandoffRequest(
                "web-definition", "Marie Dupont", "marie.dupont@example.org",
                "Notre maison de jeunes peut-elle coordonner un KA210 ?", "sector.youth", "agency.bij", "rest",
                summary.topic, summary.messages,
            ),
            db_url=url,
        )  # fmt: skip
        school = store.save_handoff(
            HandoffRequest(
                "web-forget", "Jean <b>Martin</b>", "jean@example.org", "<script>alert('école')</script> un conseiller ?",
                "sector.school", "agency.aef_europe", "rest",
            ),
            db_url=url,
        )  # fmt: skip
        question = "combien d'argent pour un partenariat à petite échelle ?"
        store.save_feedback(AnswerRating("web-definition", "fact.small_scale.funding", "down", question, "rest"), url)
        consoles = running_console(workdir, {"KA2_DB_URL": url, **helpdesk_smtp_env(smtp.port)})
        console = next(consoles)
        console.add_user("admin@example.org", "all")
        console.add_user("bij@example.org", "bij")
        console.add_user("aef@example.org", "aef")
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser = Browser()
        yield {"stack": stack, "console": console, "browser": browser, "youth": youth, "school": school}
    finally:
        if browser:
            browser.close()
        if consoles:
            consoles.close()
        stacks.close()


def tracker_events(db: Path, sender: str) -> List[dict]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    return [json.loads(data) for (data,) in rows]


def check_page(browser: Browser, shot: str = "") -> None:
    """No serious axe violation, no script error, nothing wider than 360 px; a screenshot if named."""
    serious = [v for v in browser.axe() if v["impact"] in SERIOUS]
    assert serious == [], serious
    assert browser.problems() == []
    if shot:
        browser.fullScreenshot(path=str(SHOTS / f"{shot}.png"))
    browser.viewport(width=360, height=740)
    try:
        width = browser.evaluate(expression="document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width} px wide at 360 px"
        assert [v for v in browser.axe() if v["impact"] in SERIOUS] == []
    finally:
        browser.viewport(width=1280, height=800)


def refused(browser: Browser, status: int) -> None:
    """The page was answered with an error status, which Chromium reports on its console: only that."""
    problems = browser.problems()
    assert problems and all(f"status of {status}" in p for p in problems), problems


def sign_in(web: Dict[str, Any], email: str, password: str = PASSWORD, expect: str = "Demandes de contact") -> None:
    browser = web["browser"]
    browser.goto(url=web["console"].url + "/connexion")
    if browser.count(selector="button", text="Se déconnecter"):
        browser.click(selector="button", text="Se déconnecter")
        browser.wait(selector="h1", text="Connexion")
    browser.fill(selector="#email", value=email)
    browser.fill(selector="#password", value=password)
    browser.click(selector="button[type=submit]", text="Se connecter")
    browser.wait(selector="h1", text=expect)


def test_sign_in_refuses_a_wrong_password_then_opens_the_inbox(web):
    browser = web["browser"]
    sign_in(web, "bij@example.org", "pas le bon mot de passe", expect="Connexion")
    browser.wait(selector=".error", text="Adresse e-mail ou mot de passe incorrect.")
    refused(browser, 401)
    check_page(browser, "connexion")
    sign_in(web, "bij@example.org")
    browser.wait(selector="h1", text="Demandes de contact")
    # The keyboard reaches the content first: the skip link.
    browser.press(key="Tab")
    assert browser.focused()["text"] == "Aller au contenu"


def test_each_agency_sees_only_its_requests(web):
    browser = web["browser"]
    sign_in(web, "bij@example.org")
    browser.wait(selector="h1", text="Demandes de contact")
    inbox = browser.text(selector="main")
    assert "Marie Dupont" in inbox and "Notre maison de jeunes" in inbox and "marie.dupont@example.org" in inbox
    assert "Jean" not in inbox and "conseiller" not in inbox
    check_page(browser, "demandes")
    sign_in(web, "aef@example.org")
    browser.wait(selector="h1", text="Demandes de contact")
    inbox = browser.text(selector="main")
    assert "Jean <b>Martin</b>" in inbox and "<script>alert('école')</script> un conseiller ?" in inbox
    assert "Marie Dupont" not in inbox and "maison de jeunes" not in inbox
    assert browser.evaluate(expression="document.querySelectorAll('main b, main script').length") == 0
    browser.goto(url=f"{web['console'].url}/demandes/{web['youth']}")
    assert browser.text(selector="h1") == "Page introuvable."
    refused(browser, 404)
    sign_in(web, "admin@example.org")
    inbox = browser.text(selector="main")
    assert "Marie Dupont" in inbox and "Jean <b>Martin</b>" in inbox


def test_take_note_reply_by_email_and_close_a_request(web, smtp):
    browser = web["browser"]
    sign_in(web, "bij@example.org")
    browser.click(selector="h2 a", text="Marie Dupont")
    browser.wait(selector="h1", text=f"Demande n° {web['youth']}")
    page = browser.text(selector="main")
    assert "Utilisateur : c'est quoi exactement l'action clé 2 ?" in page
    browser.click(selector="button", text="Prendre en charge")
    browser.wait(selector=".notice", text="Vous avez pris en charge cette demande.")
    browser.fill(selector="#note", value="À rappeler : dossier KA210 <i>jeunesse</i>")
    browser.click(selector="button", text="Ajouter la note")
    browser.wait(selector=".notice", text="Note interne ajoutée.")
    reply = "Oui, une maison de jeunes peut coordonner un partenariat à petite échelle (KA210-YOU)."
    browser.fill(selector="#reponse", value=reply)
    browser.click(selector="button", text="Envoyer la réponse")
    browser.wait(selector=".notice", text="Réponse envoyée par e-mail")
    mailfrom, recipients, message = smtp.received[-1]
    assert recipients == ["marie.dupont@example.org"] and mailfrom == "assistant-ka2@example.org"
    assert message["Reply-To"] == "helpdesk-bij@example.org"
    assert reply in message.get_content() and "Marie Dupont" in message.get_content()
    browser.click(selector="button", text="Marquer comme traitée")
    browser.wait(selector=".notice", text="Demande marquée comme traitée.")
    history = browser.texts(selector=".history li")
    assert [line.split(" : ", 1)[1].splitlines()[0] for line in history] == [
        "prise en charge", "note interne", "réponse envoyée par e-mail", "marquée traitée",
    ]  # fmt: skip
    assert "À rappeler : dossier KA210 <i>jeunesse</i>" in history[1] and reply in history[2]
    assert store.get_handoff(web["youth"], f"sqlite:///{web['stack'].db}").status == "done"
    check_page(browser, "demande")


def test_two_staff_acting_at_once_lose_nothing(web):
    """Two sessions add notes to one request from pages loaded at the same moment: both are kept."""
    console = web["console"]

    first, second = Client(console.url), Client(console.url)
    first.sign_in("aef@example.org")
    second.sign_in("admin@example.org")
    path = f"/demandes/{web['school']}"
    first.get(path)
    second.get(path)
    assert first.post(path + "/note", texte="note de la première personne")[0] == 303
    assert second.post(path + "/note", texte="note de la seconde personne")[0] == 303
    assert first.post(path + "/prendre")[0] == 303
    assert second.post(path + "/prendre")[0] == 303
    _, _, page = first.get(path)
    assert "note de la première personne" in page and "note de la seconde personne" in page
    assert page.count("prise en charge") >= 2


def test_conversation_search_and_transcript_with_what_was_understood(web):
    browser = web["browser"]
    sign_in(web, "bij@example.org")
    browser.goto(url=web["console"].url + "/conversations")
    browser.fill(selector="#texte", value="petite échelle")
    browser.click(selector="button", text="Chercher")
    browser.wait(selector="td a", text="web-definition")
    assert browser.count(selector="tbody tr") == 1
    check_page(browser, "conversations")
    browser.click(selector="td a", text="web-definition")
    browser.wait(selector="h1", text="Conversation web-definition")
    transcript = browser.text(selector=".transcript")
    assert "combien d'argent pour un partenariat à petite échelle ?" in transcript
    assert "Compris : " in transcript and "confiance 0," in transcript
    assert "Source : " in transcript
    check_page(browser, "conversation")
    browser.goto(url=web["console"].url + "/conversations?note=down")
    assert browser.texts(selector="tbody td:first-child") == ["web-definition"]
    browser.goto(url=web["console"].url + "/conversations?canal=rest&intention=out_of_scope")
    assert sorted(browser.texts(selector="tbody td:first-child"))[:2] == ["web-weather-1", "web-weather-2"]
    browser.goto(url=web["console"].url + "/conversations/web-script")
    assert "<script>alert('x')</script> c'est quoi le KA2 ?" in browser.text(selector=".transcript")
    assert browser.evaluate(expression="document.querySelectorAll('main script').length") == 0


def test_not_understood_groups_marks_and_exports(web):
    browser = web["browser"]
    sign_in(web, "bij@example.org")
    browser.goto(url=web["console"].url + "/incompris")
    browser.wait(selector="h2", text="quel temps fera-t-il demain à")
    groups = browser.texts(selector="article.group h2")
    weather = [g for g in groups if "quel temps" in g]
    assert weather and weather[0].startswith("2 × ")
    assert any("asdfgh qwerty" in g for g in groups)
    assert not any("c'est quoi exactement" in g for g in groups)
    assert "combien d'argent pour un partenariat" in browser.text(selector="main")  # the 👎 answer
    check_page(browser, "non-compris")
    weather_form = "article.group:has(h2:has-text('quel temps')) "
    browser.check(selector=weather_form + "input[value=off_topic]")
    browser.fill(selector=weather_form + "input[name=note]", value="météo : hors du champ de l'assistant")
    browser.click(selector=weather_form + "button", text="Enregistrer")
    browser.wait(selector=".notice", text="Décision enregistrée pour ce groupe.")
    gibberish_form = "article.group:has(h2:has-text('asdfgh')) "
    browser.check(selector=gibberish_form + "input[value=example]")
    browser.click(selector=gibberish_form + "button", text="Enregistrer")
    browser.wait(selector=".notice", text="Décision enregistrée")
    assert "Hors sujet" in browser.text(selector=weather_form + ".mark")
    fetch = "fetch('{}').then(r => r.text())"
    exported = browser.evaluate(expression=fetch.format("/incompris.csv"))
    assert "hors du champ de l'assistant" in exported and "off_topic" in exported
    yaml_text = browser.evaluate(expression=fetch.format("/incompris.yml"))
    assert "    - asdfgh qwerty" in yaml_text and "quel temps" not in yaml_text


def test_statistics_draw_charts_and_tables(web):
    browser = web["browser"]
    sign_in(web, "bij@example.org")
    browser.goto(url=web["console"].url + "/statistiques")
    browser.wait(selector="h1", text="Statistiques")
    drawn = "['chart-days','chart-channels','chart-intents'].map(id => !!Chart.getChart(document.getElementById(id)))"
    assert browser.evaluate(expression=drawn) == [True, True, True]
    totals = browser.text(selector=".totals")
    messages = sum(len(m) for m in CONVERSATIONS.values())
    assert f"Conversations\n{len(CONVERSATIONS)}" in totals.replace("\t", "\n")
    assert f"Messages des utilisateurs\n{messages}" in totals.replace("\t", "\n")
    assert "rest" in browser.text(selector="#t-channels + .chart + .table-wrap")
    csv_text = browser.evaluate(expression="fetch('/statistiques.csv').then(r => r.text())")
    assert f"total;conversations;{len(CONVERSATIONS)}" in csv_text
    check_page(browser, "statistiques")


def test_knowledge_base_search_entry_and_check(web):
    browser = web["browser"]
    sign_in(web, "bij@example.org")
    browser.goto(url=web["console"].url + "/connaissances")
    browser.fill(selector="#q", value="montant d'un partenariat à petite échelle")
    browser.click(selector="button", text="Chercher")
    browser.wait(selector="td a", text="Financement d'un partenariat à petite échelle")
    check_page(browser, "connaissances")
    browser.click(selector="td a", text="Financement d'un partenariat à petite échelle")
    browser.wait(selector="h1", text="Financement d'un partenariat à petite échelle")
    page = browser.text(selector="main")
    assert "Un forfait de 30 000 € ou 60 000 €." in page and "Source : Guide du programme Erasmus+" in page
    assert "knowledge/facts.yml" in page and "**" not in page
    check_page(browser, "entree")
    browser.goto(url=web["console"].url + "/connaissances")
    browser.click(selector="button", text="Vérifier la base")
    browser.wait(selector="h1", text="Vérification de la base")
    assert "Base de connaissances valide : " in browser.text(selector=".output")


def test_forget_a_user_after_confirmation_and_the_audit_log(web):
    browser = web["browser"]
    db = web["stack"].db
    assert tracker_events(db, "web-forget")
    sign_in(web, "admin@example.org")
    browser.goto(url=web["console"].url + "/confidentialite")
    assert "180 jours" in browser.text(selector="main")
    check_page(browser, "donnees-personnelles")
    browser.fill(selector="#sender", value="web-forget")
    browser.click(selector="button", text="Effacer")
    browser.wait(selector="h1", text="Confirmer l'effacement")
    assert tracker_events(db, "web-forget")  # nothing deleted before the confirmation
    check_page(browser)
    browser.click(selector="button", text="Oui, tout effacer")
    browser.wait(selector=".notice", text="Données de « web-forget » effacées")
    assert tracker_events(db, "web-forget") == []
    assert store.get_handoff(web["school"], f"sqlite:///{db}") is None
    browser.goto(url=web["console"].url + "/admin/journal")
    journal = browser.text(selector="tbody")
    for action in ("effacement des données d'un utilisateur", "réponse par e-mail", "note interne", "connexion"):
        assert action in journal
    assert "bij@example.org" in journal and "admin@example.org" in journal
    check_page(browser, "journal")
    browser.goto(url=web["console"].url + "/admin/comptes")
    assert "aef@example.org" in browser.text(selector="tbody")
    check_page(browser, "comptes")


def test_forgotten_password_sends_a_one_use_link_by_email(web, smtp):
    console = web["console"]
    before = len(smtp.received)
    for email in ("nobody@example.org", "aef@example.org"):
        client = Client(console.url)
        client.get("/mot-de-passe-oublie")
        status, _, body = client.post("/mot-de-passe-oublie", email=email)
        assert status == 200 and "Si un compte existe pour cette adresse" in body
    assert len(smtp.received) == before + 1  # only the account that exists gets a message
    _, recipients, message = smtp.received[-1]
    assert recipients == ["aef@example.org"]
    link = next(line for line in message.get_content().splitlines() if "/reinitialiser?jeton=" in line)
    path = link.strip().split(console.url, 1)[1]
    client = Client(console.url)
    client.get(path)
    status, headers, _ = client.post(
        "/reinitialiser", jeton=path.split("=", 1)[1], password="un tout nouveau mot de passe",
        confirmation="un tout nouveau mot de passe",
    )  # fmt: skip
    assert status == 303 and "password_changed" in headers["Location"]
    assert Client(console.url).sign_in("aef@example.org")[0] == 401  # the old password no longer works
    assert Client(console.url).sign_in("aef@example.org", "un tout nouveau mot de passe")[0] == 303
    _, _, again = Client(console.url).get(path)
    assert "Ce lien n'est plus valable" in again

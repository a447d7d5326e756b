"""`ka2-staff` run as a subprocess against a conversation store filled by real REST conversations."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from ka2 import helpdesk_store as store
from ka2.helpdesk_store import AnswerRating, HandoffRequest
from staff import conversations, search

from .conftest import BIN, ROOT, helpdesk_smtp_env, running_stack

CONSOLE = BIN / "ka2-staff"
YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()

# sender -> what the user types, in order.
CONVERSATIONS: Dict[str, List[str]] = {
    "staff-definition": [
        "c'est quoi exactement l'action clé 2 ?",
        "combien d'argent pour un partenariat à petite échelle ?",
    ],
    "staff-weather-1": ["quel temps fera-t-il demain à Liège ?"],
    "staff-weather-2": ["quel temps fera-t-il demain à Namur ?"],
    "staff-gibberish": ["asdfgh"],
    "staff-button": ['/inform_sector{"sector":"sector.school"}'],
    "staff-forget": ["je veux parler à quelqu'un", "c'est quoi le KA2 ?"],
}


def run_console(*args: str, env: Optional[Dict[str, str]] = None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(CONSOLE), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1", **(env or {})},
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def rows(db: Path, query: str, *params) -> list:
    with sqlite3.connect(db) as connection:
        return connection.execute(query, params).fetchall()


def tracker_events(db: Path, sender: str) -> List[dict]:
    return [json.loads(data) for (data,) in rows(db, "SELECT data FROM events WHERE sender_id = ? ORDER BY id", sender)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):
    """A stack of this module's own: the counts below must not see other modules' conversations."""
    yield from running_stack(tmp_path_factory.mktemp("staff-stack"))


@pytest.fixture(scope="module")
def store_db(stack) -> Path:
    """The stack's SQLite store after real conversations, plus a handoff request and ratings."""
    for sender, messages in CONVERSATIONS.items():
        for text in messages:
            assert stack.say(sender, text), f"no reply to {text!r}"
    url = f"sqlite:///{stack.db}"
    summary = store.conversation_summary(tracker_events(stack.db, "staff-definition"))
    store.save_handoff(
        HandoffRequest(
            sender_id="staff-definition",
            name="Marie Dupont",
            email="marie.dupont@example.org",
            question="Notre maison de jeunes peut-elle coordonner un KA210 ?",
            sector="sector.youth",
            agency_id="agency.bij",
            channel="rest",
            topic=summary.topic,
            last_messages=summary.messages,
        ),
        db_url=url,
    )
    question = "combien d'argent pour un partenariat à petite échelle ?"
    store.save_feedback(AnswerRating("staff-definition", "fact.small_scale.funding", "down", question, "rest"), url)
    store.save_feedback(
        AnswerRating("staff-definition", "topic.ka2_definition", "up", "c'est quoi le KA2 ?", "rest"), url
    )
    store.save_feedback(AnswerRating("staff-forget", "topic.ka2_definition", "up", "c'est quoi le KA2 ?", "rest"), url)
    store.save_handoff(
        HandoffRequest("staff-forget", "Jean Martin", "jean@example.org", "Je veux un conseiller", "sector.school"),
        db_url=url,
    )
    return stack.db


def db_args(db: Path) -> List[str]:
    return ["--db", f"sqlite:///{db}"]


def test_console_is_installed_with_french_help():
    result = run_console("--help")
    assert "Console du personnel des agences" in result.stdout
    for command in ("search", "unanswered", "stats", "handoffs", "forget", "purge"):
        assert command in result.stdout
    assert "afficher cette aide et quitter" in run_console("unanswered", "--help").stdout


def test_search_ranks_the_knowledge_base_answer_with_id_and_source():
    result = run_console("search", "combien d'argent pour un partenariat à petite échelle ?", "-n", "3")
    first = result.stdout.split("\n\n")[1]
    assert first.startswith("1. Financement d'un partenariat à petite échelle  [fact.small_scale.funding]")
    assert "fichier knowledge/facts.yml" in first
    assert "Un forfait de 30 000 € ou 60 000 €." in first and "**" not in first
    assert "Source : Guide du programme Erasmus+ 2021 et sources concordantes" in first
    assert "3. " in result.stdout


def test_search_finds_an_agency_by_its_synonym():
    result = run_console("search", "contact AEF", "-n", "1")
    assert "1. AEF-Europe  [agency.aef_europe]" in result.stdout
    assert "AEF-Europe" in result.stdout


def test_unanswered_groups_similar_messages_and_lists_down_rated_answers(store_db, tmp_path):
    export = tmp_path / "non-repondus.csv"
    result = run_console(*db_args(store_db), "unanswered", "--since", YESTERDAY, "--csv", str(export))
    out = result.stdout
    assert "« quel temps fera-t-il demain à" in out
    assert "asdfgh" in out
    # Answered questions and button payloads are not "unanswered".
    assert "c'est quoi exactement l'action clé 2 ?" not in out.split("Réponses notées 👎")[0]
    assert '/inform_sector{"sector"' not in out
    assert "1 × 👎 fact.small_scale.funding – Financement d'un partenariat à petite échelle" in out
    assert "question : « combien d'argent pour un partenariat à petite échelle ? » (staff-definition)" in out

    with export.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle, delimiter=";"))
    weather = [r for r in table if "staff-weather-1" in r["conversations"].split()]
    assert len(weather) == 1, table
    group = weather[0]
    assert "staff-weather-2" in group["conversations"].split() and int(group["nombre"]) >= 2
    texts = {group["message"], *group["variantes"].split(" | ")}
    assert {"quel temps fera-t-il demain à Liège ?", "quel temps fera-t-il demain à Namur ?"} <= texts
    assert group["type"] == "non_repondu" and group["raisons"]
    gibberish = [r for r in table if r["message"] == "asdfgh"]
    assert gibberish and "incompris" in gibberish[0]["raisons"]
    down = [r for r in table if r["type"] == "note_negative"]
    assert [(r["intention_proche"], r["message"]) for r in down] == [
        ("fact.small_scale.funding", "combien d'argent pour un partenariat à petite échelle ?")
    ]


def test_stats_count_the_real_conversations_by_day_and_channel(store_db, stack):
    since = dt.datetime.combine(dt.date.today() - dt.timedelta(days=1), dt.time()).timestamp()
    senders, messages = rows(
        store_db,
        "SELECT COUNT(DISTINCT sender_id), COUNT(*) FROM events WHERE type_name = 'user' AND timestamp >= ?",
        since,
    )[0]
    assert senders >= len(CONVERSATIONS)
    # Through the endpoints file Rasa itself was started with.
    result = run_console("--endpoints", str(stack.workdir / "endpoints.yml"), "stats", "--since", YESTERDAY)
    out = result.stdout
    assert f"Conversations : {senders}\n" in out
    assert f"Messages des utilisateurs : {messages}\n" in out
    assert f"  rest : {senders}, {messages}\n" in out
    assert "Demandes de contact : 2 (dont 0 traitée(s))" in out
    assert "Notes des réponses : 2 👍, 1 👎, 66,7 % de 👍" in out
    assert "  ask_ka2_definition : " in out and "  out_of_scope : " in out
    fallback_line = next(line for line in out.splitlines() if line.startswith("Taux de repli"))
    assert not fallback_line.startswith("Taux de repli (messages incompris) : 0,0 %")
    assert f"  {dt.date.today():%d/%m/%Y} : " in out

    empty = run_console(*db_args(store_db), "stats", "--since", TOMORROW).stdout
    assert "Conversations : 0\n" in empty and "Demandes de contact : 0" in empty


def test_handoffs_list_show_and_done(store_db):
    listing = run_console(*db_args(store_db), "handoffs", "list").stdout
    assert listing.startswith("2 demande(s) de contact (ouvertes).")
    line = next(line for line in listing.splitlines() if "Marie Dupont" in line)
    handoff_id = int(line.split()[1])
    assert "BIJ  rest  Marie Dupont <marie.dupont@example.org>" in line and "(à traiter, non notifiée)" in line

    shown = run_console(*db_args(store_db), "handoffs", "show", str(handoff_id)).stdout
    assert "Question :\n  Notre maison de jeunes peut-elle coordonner un KA210 ?" in shown
    assert "Secteur : Jeunesse (sector.youth)" in shown
    assert "Agence : BIJ (Bureau International Jeunesse) (agency.bij)" in shown
    # The summary comes from the real tracker events of the conversation.
    assert "Utilisateur : c'est quoi exactement l'action clé 2 ?" in shown
    assert "Assistant : L'**action clé 2" in shown
    assert "Sujet détecté : " in shown and "non précisé" not in shown.split("Sujet détecté : ")[1].splitlines()[0]

    done = run_console(*db_args(store_db), "handoffs", "done", str(handoff_id)).stdout
    assert done.strip() == f"Demande n° {handoff_id} (Marie Dupont) marquée comme traitée."
    assert "Marie Dupont" not in run_console(*db_args(store_db), "handoffs", "list").stdout
    assert (
        "(traitée, non notifiée)" in run_console(*db_args(store_db), "handoffs", "list", "--statut", "traitees").stdout
    )

    off = run_console(*db_args(store_db), "handoffs", "notify", str(handoff_id), check=False)
    assert off.returncode == 1 and "Envoi par e-mail désactivé : KA2_SMTP_HOST n'est pas défini." in off.stdout

    missing = run_console(*db_args(store_db), "handoffs", "show", "9999", check=False)
    assert missing.returncode == 1 and "aucune demande n° 9999" in missing.stderr


def test_handoffs_notify_resends_a_request_to_its_agency(store_db, smtp_server):
    listing = run_console(*db_args(store_db), "handoffs", "list").stdout
    handoff_id = int(next(line for line in listing.splitlines() if "Jean Martin" in line).split()[1])
    env = helpdesk_smtp_env(smtp_server.port)
    no_agency = run_console(*db_args(store_db), "handoffs", "notify", str(handoff_id), env=env, check=False)
    assert no_agency.returncode == 1 and "Pas d'adresse de helpdesk configurée" in no_agency.stdout
    marie = int(
        next(
            line
            for line in run_console(*db_args(store_db), "handoffs", "list", "--statut", "toutes").stdout.splitlines()
            if "Marie Dupont" in line
        ).split()[1]
    )
    sent = run_console(*db_args(store_db), "handoffs", "notify", str(marie), env=env)
    assert sent.stdout.strip() == f"Demande n° {marie} envoyée par e-mail au helpdesk de agency.bij."
    (_, recipients, email), *_ = smtp_server.received
    assert recipients == ["helpdesk-bij@example.org"]
    assert "Notre maison de jeunes peut-elle coordonner un KA210 ?" in email.get_content()
    assert "(traitée, notifiée)" in run_console(*db_args(store_db), "handoffs", "list", "--statut", "traitees").stdout


def test_forget_erases_the_conversation_handoffs_and_ratings_of_one_user(store_db, stack):
    events = rows(store_db, "SELECT COUNT(*) FROM events WHERE sender_id = 'staff-forget'")[0][0]
    assert events > 0
    others = rows(store_db, "SELECT COUNT(*) FROM events WHERE sender_id != 'staff-forget'")[0][0]
    result = run_console(*db_args(store_db), "forget", "staff-forget")
    assert result.stdout.strip() == (
        f"Données de « staff-forget » effacées : {events} événement(s) de conversation, "
        "1 demande(s) de contact, 1 note(s)."
    )
    assert rows(store_db, "SELECT COUNT(*) FROM events WHERE sender_id = 'staff-forget'")[0][0] == 0
    assert rows(store_db, "SELECT COUNT(*) FROM events WHERE sender_id != 'staff-forget'")[0][0] >= others
    assert rows(store_db, "SELECT COUNT(*) FROM ka2_handoff_requests WHERE sender_id = 'staff-forget'")[0][0] == 0
    assert rows(store_db, "SELECT COUNT(*) FROM ka2_answer_feedback WHERE sender_id = 'staff-forget'")[0][0] == 0
    # The assistant still serves that user, from a fresh conversation.
    replies = stack.say("staff-forget", "c'est quoi le KA2 ?")
    assert "Coopération entre organisations et institutions" in "\n".join(r.get("text", "") for r in replies)


def test_purge_deletes_conversations_and_requests_older_than_the_retention(store_db, tmp_path):
    copy = tmp_path / "copy.db"
    with sqlite3.connect(store_db) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    old = 400 * 86400
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE events SET timestamp = timestamp - ? WHERE sender_id = 'staff-weather-1'", (old,))
    store.save_handoff(
        HandoffRequest("staff-weather-1", "Ancien", "ancien@example.org", "question ancienne"),
        db_url=f"sqlite:///{copy}",
        now=store.utc_now() - dt.timedelta(days=400),
    )
    old_events = rows(copy, "SELECT COUNT(*) FROM events WHERE sender_id = 'staff-weather-1'")[0][0]
    remaining = rows(copy, "SELECT COUNT(*) FROM events WHERE sender_id != 'staff-weather-1'")[0][0]

    result = run_console(*db_args(copy), "purge", "--days", "180")
    assert result.stdout.strip() == (
        f"Conservation : 180 jour(s). Supprimé : 1 conversation(s) entière(s), {old_events} événement(s) en tout "
        "(dont 0 dans 0 conversation(s) encore active(s)), 1 demande(s) de contact, 0 note(s)."
    )
    assert rows(copy, "SELECT COUNT(*) FROM events WHERE sender_id = 'staff-weather-1'")[0][0] == 0
    assert rows(copy, "SELECT COUNT(*) FROM events")[0][0] == remaining
    assert rows(copy, "SELECT COUNT(*) FROM ka2_handoff_requests WHERE name = 'Ancien'")[0][0] == 0

    # The retention comes from KA2_RETENTION_DAYS when --days is not given: 0 days empties the store.
    emptied = run_console(*db_args(copy), "purge", env={"KA2_RETENTION_DAYS": "0"}).stdout
    assert emptied.startswith("Conservation : 0 jour(s).")
    assert rows(copy, "SELECT COUNT(*) FROM events")[0][0] == 0
    assert rows(copy, "SELECT COUNT(*) FROM ka2_handoff_requests")[0][0] == 0


def test_a_bad_date_is_refused_in_french(store_db):
    result = run_console(*db_args(store_db), "stats", "--since", "hier", check=False)
    assert result.returncode == 2 and "date invalide « hier »" in result.stderr


def event_row(sender: str, kind: str, action: Optional[str] = None, **data) -> dict:
    return {"sender_id": sender, "type_name": kind, "timestamp": 1_700_000_000.0, "action_name": action,
            "data": json.dumps({"event": kind, **data})}  # fmt: skip


def fallback(text: str) -> dict:
    return {
        "text": text,
        "input_channel": "socketio",
        "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.45}},
    }


def test_answers_typed_into_a_form_are_not_unanswered_questions():
    rows_ = [
        event_row("u", "user", **fallback("asdfgh")),
        event_row("u", "action", "action_clarify", name="action_clarify"),
        event_row("u", "active_loop", name="handoff_form"),
        event_row("u", "user", **fallback("Marie Dupont")),
        event_row("u", "active_loop", name=None),
        event_row("u", "user", **fallback("qsdfgh")),
    ]
    messages = conversations.messages_from_rows(rows_)
    assert [(m.text, m.in_form, m.channel) for m in messages] == [
        ("asdfgh", False, "socketio"),
        ("Marie Dupont", True, "socketio"),
        ("qsdfgh", False, "socketio"),
    ]
    assert messages[0].actions == ["action_clarify"]
    assert [conversations.unanswered_reasons(m) for m in messages] == [["incompris"], [], ["incompris"]]


@pytest.mark.parametrize(
    "question, best",
    [
        ("montant KA210", "fact.small_scale.funding"),
        ("quelle est la date limite KA220", "fact.cooperation.deadline"),
        ("quels pays peuvent participer", "topic.countries"),
        ("activités possibles", "topic.activities"),
        ("priorité inclusion handicap", "priority.horizontal.inclusion"),
        ("téléphone du BIJ", "agency.bij"),
    ],
)
def test_search_puts_the_answer_staff_expect_first(kb, question, best):
    assert search.rank_answers(kb, question, 1)[0].entry_id == best

"""Handoff to a person and answer ratings: the form's validation and the stored requests, with
rasa_sdk's real Tracker and dispatcher and a real SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.actions.actions import ActionAnswerQuestion, ActionClarify, ActionOfferHumanContact
from bot.actions.feedback import ActionRateAnswer
from bot.actions.handoff import (
    ActionAskHandoffConfirmed,
    ActionSubmitHandoff,
    ValidateHandoffForm,
    clean_name,
    find_email,
)
from ka2.helpdesk_store import list_feedback, list_handoffs

from .conftest import ROOT, helpdesk_smtp_env, make_tracker, run_action, run_form_validation

DOMAIN = yaml.safe_load(Path(ROOT / "bot" / "domain.yml").read_text("utf-8"))
FORM = "handoff_form"


@pytest.fixture
def helpdesk_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    monkeypatch.setenv("KA2_HELPDESK_DB_URL", url)
    monkeypatch.delenv("KA2_SMTP_HOST", raising=False)
    return url


def validate(intent, text, slots, entities=None):
    return run_form_validation(ValidateHandoffForm(), intent, text, slots, FORM, entities)


def test_email_is_found_in_a_sentence_and_bad_ones_are_refused():
    assert find_email("mon mail c'est Awa.Diallo@exemple.be merci") == "awa.diallo@exemple.be"
    assert find_email("awa arobase exemple point be") is None
    messages, slots = validate("inform", "awa@exemple", {"requested_slot": "handoff_email"})
    assert slots["handoff_email"] is None and "ne semble pas valide" in messages[0]["text"]
    _, slots = validate("inform", "c'est awa@exemple.be", {"requested_slot": "handoff_email"})
    assert slots["handoff_email"] == "awa@exemple.be"


def test_name_is_cleaned_and_a_side_question_is_not_a_name():
    assert clean_name("je m'appelle Awa Diallo") == "Awa Diallo"
    assert clean_name("awa@exemple.be") is None
    _, slots = validate("greet", "Moi c'est Jean", {"requested_slot": "handoff_name"})
    assert "handoff_name" not in slots  # a greeting is not an answer
    _, slots = validate("ask_deadline", "c'est quand la date limite ?", {"requested_slot": "handoff_name"})
    assert "handoff_name" not in slots
    _, slots = validate("inform_sector", "Moi c'est Jean Dupont", {"requested_slot": "handoff_name"})
    assert slots["handoff_name"] == "Jean Dupont"
    # A bare name is unknown to the model (out_of_scope): it is the answer, unless asked as a question.
    _, slots = validate("out_of_scope", "Awa Diallo", {"requested_slot": "handoff_name"})
    assert slots["handoff_name"] == "Awa Diallo"
    _, slots = validate("out_of_scope", "il fait beau à Namur ?", {"requested_slot": "handoff_name"})
    assert "handoff_name" not in slots
    _, slots = validate("introduce_self", "je m'appelle Awa Diallo", {"requested_slot": "handoff_name"})
    assert slots["handoff_name"] == "Awa Diallo"


def test_sector_known_from_the_matching_dialogue_is_not_asked_again():
    _, slots = validate("start_handoff", "/start_handoff", {"project_sector": "sector.youth"})
    assert slots["handoff_sector"] == "sector.youth"


def test_summary_is_confirmed_before_anything_is_sent(kb):
    slots = {
        "handoff_name": "Awa Diallo",
        "handoff_email": "awa@exemple.be",
        "handoff_sector": "sector.school",
        "handoff_question": "Peut-on être deux écoles du même pays ?",
    }
    messages, _ = run_action(ActionAskHandoffConfirmed(), make_tracker("inform", slots=slots))
    assert "Awa Diallo" in messages[0]["text"] and "AEF-Europe" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]


def test_a_confirmed_request_is_stored_with_a_summary_and_the_agency_is_given(kb, helpdesk_db):
    slots = {
        "handoff_name": "Awa Diallo",
        "handoff_email": "awa@exemple.be",
        "handoff_sector": "sector.youth",
        "handoff_question": "Un groupe informel de jeunes peut-il déposer ?",
        "handoff_confirmed": True,
    }
    messages, events = run_action(ActionSubmitHandoff(), make_tracker("affirm", slots=slots))
    stored = list_handoffs(db_url=helpdesk_db)
    assert len(stored) == 1
    request = stored[0]
    assert (request.name, request.email, request.agency_id) == ("Awa Diallo", "awa@exemple.be", "agency.bij")
    assert request.sender_id == "test-user" and request.last_messages
    text = "\n".join(m["text"] for m in messages)
    assert f"n° {request.id}" in text and kb.entries["agency.bij"]["website"] in text
    assert all(e["value"] is None for e in events if e.get("event") == "slot")


def test_handoffs_are_capped_per_sender_and_day_and_the_agency_is_given_instead(
    kb, helpdesk_db, smtp_server, monkeypatch
):
    for name, value in helpdesk_smtp_env(smtp_server.port).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KA2_MAX_HANDOFFS_PER_DAY", "2")
    slots = {
        "handoff_name": "Awa Diallo",
        "handoff_email": "awa@exemple.be",
        "handoff_sector": "sector.youth",
        "handoff_question": "Un groupe informel de jeunes peut-il déposer ?",
        "handoff_confirmed": True,
    }
    for _ in range(2):
        run_action(ActionSubmitHandoff(), make_tracker("affirm", slots=slots))
    assert len(list_handoffs(db_url=helpdesk_db)) == 2 and len(smtp_server.received) == 2
    messages, events = run_action(ActionSubmitHandoff(), make_tracker("affirm", slots=slots))
    text = "\n".join(m["text"] for m in messages)
    assert "Vous avez déjà envoyé 2 demandes de contact ces dernières 24 heures" in text
    assert kb.entries["agency.bij"]["website"] in text  # the agency's own contacts instead
    assert len(list_handoffs(db_url=helpdesk_db)) == 2 and len(smtp_server.received) == 2
    assert all(e["value"] is None for e in events if e.get("event") == "slot")
    # Another conversation is not limited by this one's requests.
    other = make_tracker("affirm", slots=slots)
    other.sender_id = "web:someone-else"
    run_action(ActionSubmitHandoff(), other)
    assert len(list_handoffs(db_url=helpdesk_db)) == 3 and len(smtp_server.received) == 3


def test_a_refused_summary_stores_nothing(helpdesk_db):
    slots = {
        "handoff_name": "A",
        "handoff_email": "a@b.be",
        "handoff_sector": "sector.youth",
        "handoff_question": "q",
        "handoff_confirmed": False,
    }
    messages, _ = run_action(ActionSubmitHandoff(), make_tracker("deny", slots=slots))
    assert "je n'ai rien transmis" in messages[0]["text"]
    assert list_handoffs(db_url=helpdesk_db) == []


def test_asking_for_a_person_gives_contacts_and_offers_a_handoff(kb):
    messages, _ = run_action(ActionOfferHumanContact(), make_tracker("request_human", "je veux parler à quelqu'un"))
    payloads = [b["payload"] for m in messages for b in m.get("buttons") or []]
    assert "/start_handoff" in payloads
    assert kb.entries["agency.aef_europe"]["website"] in "\n".join(m["text"] for m in messages)


def test_two_fallbacks_in_a_row_offer_a_person():
    tracker = make_tracker("nlu_fallback", "xqzw")
    tracker.events.insert(0, {"event": "user", "text": "blrp", "parse_data": {"intent": {"name": "nlu_fallback"}}})
    messages, _ = run_action(ActionClarify(), tracker)
    assert "/start_handoff" in [b["payload"] for b in messages[0]["buttons"]]
    once, _ = run_action(ActionClarify(), make_tracker("nlu_fallback", "xqzw"))
    assert "/start_handoff" not in [b["payload"] for b in once[0]["buttons"]]


def test_factual_answers_carry_a_rating_pair_and_ratings_are_stored(helpdesk_db):
    messages, _ = run_action(ActionAnswerQuestion(), make_tracker("ask_ka2_definition", "c'est quoi le KA2 ?"))
    payloads = [b["payload"] for b in messages[-1]["buttons"]]
    assert payloads[-2:] == ['/rate_answer{"rating":"up"}', '/rate_answer{"rating":"down"}']
    tracker = make_tracker(
        "rate_answer",
        '/rate_answer{"rating":"down"}',
        entities=[{"entity": "rating", "value": "down"}],
        slots={"knowledge_base_last_object": "topic.ka2_definition"},
    )
    tracker.events.insert(0, {"event": "user", "text": "c'est quoi le KA2 ?", "parse_data": {}})
    messages, _ = run_action(ActionRateAnswer(), tracker)
    assert "/start_handoff" in [b["payload"] for b in messages[0]["buttons"]]
    [rating] = list_feedback(db_url=helpdesk_db)
    assert (rating.answer_id, rating.rating, rating.question) == ("topic.ka2_definition", "down", "c'est quoi le KA2 ?")

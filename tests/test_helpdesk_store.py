"""The helpdesk store and its email notification, with a real SQLite database and a real SMTP server."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path

import pytest

from ka2 import helpdesk_store as store
from ka2 import notify
from ka2.database_url import DatabaseConfigError, helpdesk_db_url, tracker_db_url
from ka2.helpdesk_store import AnswerRating, HandoffRequest
from ka2.settings import SettingsError

from .conftest import free_port, helpdesk_smtp_env
from .smtp_tls import StartTlsSMTPServer, self_signed_certificate

EVENTS = [
    {"event": "action", "name": "action_session_start"},
    {"event": "user", "text": "c'est quoi le KA2 ?", "parse_data": {"intent": {"name": "ask_ka2_definition"}}},
    {"event": "bot", "text": "L'action clé 2 – Coopération entre organisations et institutions..."},
    {"event": "slot", "name": "knowledge_base_last_object", "value": "topic.ka2_definition"},
    {"event": "user", "text": "combien pour un projet jeunesse ?", "parse_data": {"intent": {"name": "ask_funding"}}},
    {"event": "slot", "name": "knowledge_base_last_object", "value": "fact.small_scale.funding"},
    {"event": "bot", "text": "Un forfait de 30 000 € ou de 60 000 €."},
    {"event": "user", "text": "je veux parler à quelqu'un", "parse_data": {"intent": {"name": "request_human"}}},
]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'tracker.db'}"


def request(sender: str = "user-1", **changes) -> HandoffRequest:
    summary = store.conversation_summary(EVENTS, limit=4)
    values = dict(
        sender_id=sender,
        name="Marie Dupont",
        email="marie.dupont@example.org",
        question="Notre maison de jeunes peut-elle coordonner un KA210 ?",
        sector="sector.youth",
        agency_id="agency.bij",
        channel="rest",
        topic=summary.topic,
        last_messages=summary.messages,
    )
    values.update(changes)
    return HandoffRequest(**values)


def test_conversation_summary_keeps_the_last_messages_and_the_topic_last_answered():
    summary = store.conversation_summary(EVENTS, limit=3)
    assert summary.topic == "fact.small_scale.funding"
    assert summary.messages == [
        ("user", "combien pour un projet jeunesse ?"),
        ("bot", "Un forfait de 30 000 € ou de 60 000 €."),
        ("user", "je veux parler à quelqu'un"),
    ]


def test_last_question_skips_button_payloads():
    events = EVENTS + [{"event": "user", "text": '/rate_answer{"rating":"down"}'}]
    assert store.last_question(events) == "je veux parler à quelqu'un"
    assert store.last_question([]) == ""


def test_detected_topic_falls_back_to_the_last_topical_intent():
    events = [e for e in EVENTS if e["event"] != "slot"]
    assert store.detected_topic(events) == "ask_funding"


def test_a_saved_handoff_is_read_back_whole_from_the_sqlite_file(db_url, tmp_path):
    handoff_id = store.save_handoff(request(), db_url=db_url)
    assert (tmp_path / "var" / "tracker.db").exists()
    stored = store.get_handoff(handoff_id, db_url=db_url)
    assert stored.id == handoff_id and stored.status == store.STATUS_OPEN and stored.notified_at is None
    assert (stored.name, stored.email, stored.agency_id, stored.sector) == (
        "Marie Dupont",
        "marie.dupont@example.org",
        "agency.bij",
        "sector.youth",
    )
    assert stored.question == "Notre maison de jeunes peut-elle coordonner un KA210 ?"
    assert stored.topic == "fact.small_scale.funding"
    assert stored.last_messages[-1] == ("user", "je veux parler à quelqu'un")
    assert abs((stored.created_at - store.utc_now()).total_seconds()) < 60
    # Really in the database, readable by any SQL client.
    with sqlite3.connect(tmp_path / "var" / "tracker.db") as connection:
        row = connection.execute(
            "SELECT email, status FROM ka2_handoff_requests WHERE id = ?", (handoff_id,)
        ).fetchone()
    assert row == ("marie.dupont@example.org", "open")


def test_handoffs_are_listed_by_status_and_closed(db_url):
    first = store.save_handoff(request("a"), db_url=db_url)
    second = store.save_handoff(request("b", name="Jean Martin"), db_url=db_url)
    assert [h.id for h in store.list_handoffs(db_url=db_url)] == [first, second]
    assert store.mark_done(first, db_url=db_url) is True
    assert [h.id for h in store.list_handoffs(store.STATUS_OPEN, db_url=db_url)] == [second]
    assert [h.id for h in store.list_handoffs(store.STATUS_DONE, db_url=db_url)] == [first]
    assert len(store.list_handoffs(None, db_url=db_url)) == 2
    assert store.mark_done(999, db_url=db_url) is False
    with pytest.raises(ValueError):
        store.list_handoffs("closed", db_url=db_url)


def test_a_handoff_without_name_email_or_question_is_refused(db_url):
    with pytest.raises(ValueError):
        store.save_handoff(request(email="  "), db_url=db_url)
    assert store.list_handoffs(None, db_url=db_url) == []


def test_feedback_is_stored_and_filtered_by_rating_and_date(db_url):
    old = store.utc_now() - dt.timedelta(days=10)
    store.save_feedback(
        AnswerRating("a", "fact.small_scale.funding", "down", "combien pour un KA210 ?"), db_url, now=old
    )
    store.save_feedback(AnswerRating("b", "topic.ka2_definition", "up", "c'est quoi le KA2 ?", "rest"), db_url)
    down = store.list_feedback(rating="down", db_url=db_url)
    assert [(r.answer_id, r.question) for r in down] == [("fact.small_scale.funding", "combien pour un KA210 ?")]
    recent = store.list_feedback(since=store.utc_now() - dt.timedelta(days=1), db_url=db_url)
    assert [(r.sender_id, r.rating, r.channel) for r in recent] == [("b", "up", "rest")]
    with pytest.raises(ValueError):
        store.save_feedback(AnswerRating("c", "topic.ka2_definition", "meh"), db_url)


def test_forget_deletes_one_users_handoffs_and_ratings_only(db_url):
    store.save_handoff(request("gone"), db_url=db_url)
    store.save_feedback(AnswerRating("gone", "topic.ka2_definition", "down", "?"), db_url)
    store.save_handoff(request("kept"), db_url=db_url)
    assert store.forget("gone", db_url=db_url) == store.DeletedCounts(handoffs=1, feedback=1)
    assert [h.sender_id for h in store.list_handoffs(None, db_url=db_url)] == ["kept"]
    assert store.list_feedback(db_url=db_url) == []


def test_purge_deletes_what_is_older_than_the_retention(db_url):
    now = store.utc_now()
    store.save_handoff(request("old"), db_url=db_url, now=now - dt.timedelta(days=200))
    store.save_handoff(request("new"), db_url=db_url, now=now - dt.timedelta(days=3))
    store.save_feedback(AnswerRating("old", "topic.ka2_definition", "up"), db_url, now=now - dt.timedelta(days=200))
    assert store.purge(180, db_url=db_url, now=now) == store.DeletedCounts(handoffs=1, feedback=1)
    assert [h.sender_id for h in store.list_handoffs(None, db_url=db_url)] == ["new"]


def test_database_url_defaults_to_the_tracker_store_of_endpoints(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text('tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "var/tracker.db"\n')
    assert tracker_db_url({}, endpoints) == f"sqlite:///{tmp_path / 'var' / 'tracker.db'}"
    assert helpdesk_db_url({}, endpoints) == f"sqlite:///{tmp_path / 'var' / 'tracker.db'}"
    env = {"KA2_HELPDESK_DB_URL": "sqlite:////srv/helpdesk.db"}
    assert helpdesk_db_url(env, endpoints) == "sqlite:////srv/helpdesk.db"
    repo_default = tracker_db_url({})
    assert repo_default.endswith("/var/tracker.db") and repo_default.startswith("sqlite:////")


def test_postgresql_settings_come_from_environment_variables_as_in_rasa(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: ${DB_HOST}\n  port: 5432\n"
        "  db: ka2\n  username: ${DB_USER}\n  password: ${DB_PASSWORD}\n"
    )
    env = {"DB_HOST": "db.internal", "DB_USER": "ka2", "DB_PASSWORD": "s3cret"}
    assert tracker_db_url(env, endpoints) == "postgresql://ka2:s3cret@db.internal:5432/ka2"
    assert tracker_db_url({"KA2_DB_URL": "postgresql://x@y/z"}, endpoints) == "postgresql://x@y/z"
    with pytest.raises(DatabaseConfigError, match="DB_PASSWORD"):
        tracker_db_url({"DB_HOST": "h", "DB_USER": "u"}, endpoints)


# ---------------------------------------------------------------------------------------------
# Notification


def test_notification_is_off_without_smtp_host_and_the_request_stays(db_url):
    handoff_id = store.save_handoff(request(), db_url=db_url)
    assert notify.notify_handoff(handoff_id, db_url=db_url, env={}) == notify.DISABLED
    assert store.get_handoff(handoff_id, db_url=db_url).notified_at is None


def test_the_right_agency_helpdesk_is_emailed_in_french(db_url, smtp_server, kb):
    port = smtp_server.port
    handoff_id = store.save_handoff(request(), db_url=db_url)
    aef_id = store.save_handoff(request("school", sector="sector.school", agency_id="agency.aef_europe"), db_url=db_url)
    assert notify.notify_handoff(handoff_id, db_url=db_url, env=helpdesk_smtp_env(port), kb=kb) == notify.SENT
    assert notify.notify_handoff(aef_id, db_url=db_url, env=helpdesk_smtp_env(port), kb=kb) == notify.SENT
    (sender, recipients, email), (_, aef_recipients, _) = smtp_server.received
    assert sender == "assistant-ka2@example.org"
    assert recipients == ["helpdesk-bij@example.org"] and aef_recipients == ["helpdesk-aef@example.org"]
    assert email["Reply-To"] == "marie.dupont@example.org"
    assert email["Subject"] == f"[Assistant KA2] Demande de contact n° {handoff_id} – Marie Dupont"
    text = email.get_content()
    assert "recontactée par BIJ (Bureau International Jeunesse)" in text
    assert "Secteur : Jeunesse (sector.youth)" in text
    assert "Notre maison de jeunes peut-elle coordonner un KA210 ?" in text
    assert "Utilisateur : je veux parler à quelqu'un" in text
    assert f"ka2-staff handoffs done {handoff_id}" in text
    assert store.get_handoff(handoff_id, db_url=db_url).notified_at is not None


def test_an_agency_without_helpdesk_address_is_not_emailed(db_url, smtp_server):
    port = smtp_server.port
    handoff_id = store.save_handoff(request(agency_id="agency.eacea"), db_url=db_url)
    assert notify.notify_handoff(handoff_id, db_url=db_url, env=helpdesk_smtp_env(port)) == notify.NO_ADDRESS
    assert smtp_server.received == []


def test_a_failing_smtp_server_is_logged_and_never_loses_the_request(db_url, caplog):
    handoff_id = store.save_handoff(request(), db_url=db_url)
    closed_port = free_port()  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="ka2.notify"):
        outcome = notify.notify_handoff(handoff_id, db_url=db_url, env=helpdesk_smtp_env(closed_port))
    assert outcome == notify.FAILED
    assert f"Handoff request {handoff_id} stored but its notification failed" in caplog.text
    stored = store.get_handoff(handoff_id, db_url=db_url)
    assert stored.status == store.STATUS_OPEN and stored.notified_at is None
    assert [h.id for h in store.list_handoffs(db_url=db_url)] == [handoff_id]


def test_save_and_notify_stores_first_then_reports_the_outcome(db_url, smtp_server, kb):
    port = smtp_server.port
    handoff_id, outcome = notify.save_and_notify(request(), db_url=db_url, env=helpdesk_smtp_env(port), kb=kb)
    assert outcome == notify.SENT and store.get_handoff(handoff_id, db_url=db_url).notified_at is not None
    failed_id, failed = notify.save_and_notify(request("b"), db_url=db_url, env=helpdesk_smtp_env(free_port()), kb=kb)
    assert failed == notify.FAILED and store.get_handoff(failed_id, db_url=db_url).status == store.STATUS_OPEN


# ---------------------------------------------------------------------------------------------
# Transport security of the notification (TLS required unless KA2_SMTP_TLS=off)


@pytest.fixture
def certificate(tmp_path):
    return self_signed_certificate(tmp_path)


@pytest.fixture
def starttls_server(certificate):
    server = StartTlsSMTPServer(*certificate)
    yield server
    server.close()


def tls_env(port: int, **extra: str) -> dict:
    env = {k: v for k, v in helpdesk_smtp_env(port).items() if k != "KA2_SMTP_TLS"}
    return {**env, **extra}


def test_a_server_without_starttls_gets_neither_the_password_nor_the_request(db_url, smtp_server, caplog):
    # smtpd advertises no STARTTLS: as a man in the middle stripping it would. TLS is required by default.
    handoff_id = store.save_handoff(request(), db_url=db_url)
    with caplog.at_level(logging.INFO, logger="ka2.notify"):
        outcome = notify.notify_handoff(handoff_id, db_url=db_url, env=tls_env(smtp_server.port))
    assert outcome == notify.FAILED
    assert smtp_server.received == []
    (record,) = (r for r in caplog.records if r.name == "ka2.notify")
    assert record.exc_info is None and "\n" not in record.getMessage()
    assert "does not offer STARTTLS and TLS is required (KA2_SMTP_TLS)" in record.getMessage()
    stored = store.get_handoff(handoff_id, db_url=db_url)
    assert stored.status == store.STATUS_OPEN and stored.notified_at is None


def test_starttls_with_the_authority_of_ka2_smtp_ca_file_sends_encrypted(db_url, starttls_server, certificate, kb):
    handoff_id = store.save_handoff(request(), db_url=db_url)
    login = {"KA2_SMTP_USER": "assistant", "KA2_SMTP_PASSWORD": "s3cret"}
    env = tls_env(starttls_server.port, KA2_SMTP_CA_FILE=str(certificate[0]), **login)
    assert notify.notify_handoff(handoff_id, db_url=db_url, env=env, kb=kb) == notify.SENT
    ((sender, recipients, email, encrypted, login),) = starttls_server.received
    assert encrypted and login == "assistant"
    assert recipients == ["helpdesk-bij@example.org"] and email["Reply-To"] == "marie.dupont@example.org"
    assert store.get_handoff(handoff_id, db_url=db_url).notified_at is not None


def test_an_unverified_certificate_is_refused_and_nothing_is_sent(db_url, starttls_server):
    handoff_id = store.save_handoff(request(), db_url=db_url)
    assert notify.notify_handoff(handoff_id, db_url=db_url, env=tls_env(starttls_server.port)) == notify.FAILED
    assert starttls_server.received == []
    assert store.get_handoff(handoff_id, db_url=db_url).notified_at is None


def test_an_invalid_ka2_smtp_tls_names_the_variable():
    with pytest.raises(SettingsError, match="KA2_SMTP_TLS"):
        notify.smtp_settings({"KA2_SMTP_HOST": "127.0.0.1", "KA2_SMTP_TLS": "peut-être"})


def test_a_name_with_newlines_becomes_one_line_of_the_subject(db_url, smtp_server, kb):
    name = "Marie\nDupont\r\nBcc: victime@example.org"
    handoff_id = store.save_handoff(request(name=name), db_url=db_url)
    assert notify.notify_handoff(handoff_id, db_url=db_url, env=helpdesk_smtp_env(smtp_server.port), kb=kb) == (
        notify.SENT
    )
    ((_, recipients, email),) = smtp_server.received
    assert (
        email["Subject"]
        == f"[Assistant KA2] Demande de contact n° {handoff_id} – Marie Dupont Bcc: victime@example.org"
    )
    assert email["Bcc"] is None and recipients == ["helpdesk-bij@example.org"]

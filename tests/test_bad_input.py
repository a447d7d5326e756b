"""Bad input over REST, socket.io and Telegram: a clear 4xx or a polite French reply, never a crash.

Unit tests of bot/channels/guard.py first, then one Rasa server with the project's three channels
(credentials.yml + Telegram against the fake Bot API) fed every kind of bad input; after each, the
next normal question must still be answered, and the tracker must hold only what passed the checks.
"""

from __future__ import annotations

import asyncio
import html
import json
import sqlite3
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from bot.channels.guard import (
    EMPTY,
    NO_WORDS,
    UNKNOWN_PAYLOAD,
    PayloadPolicy,
    check_message,
    check_messages,
    clean_text,
    knowledge_values,
)
from bot.channels.webchat import allowed_origins, cors_origins_from_argv, origin_allowed
from tests.conftest import ROOT, Stack, start_rasa_patiently
from tests.fake_telegram_api import FakeTelegramApi, telegram_env

QUESTION = "quels sont les montants d'un partenariat de coopération ?"
LIMIT = 1500
TOKEN = "123456:TEST-token-for-the-fake-api"
SECRET = "un-secret-de-test"
PAGE = "http://127.0.0.1:8765"


# --- the guard, no server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy() -> PayloadPolicy:
    intents = ["greet", "ask_topic", "inform_sector", "ask_priorities", "rate_answer", "session_start", "restart"]
    return PayloadPolicy(intents, ["topic", "sector", "rating"], knowledge_values())


def test_text_is_cleaned_of_control_and_invisible_characters():
    assert clean_text("  quels\x00 montants\x07\u200b ?\t ") == "quels montants ?"
    assert clean_text("ligne 1\r\nligne 2\ud800") == "ligne 1\nligne 2"
    assert clean_text("e\u0301te\u0301") == "été"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty"),
        (" \n\t ", "empty"),
        ("\x00\x01\x02", "empty"),
        (None, "not_text"),
        (42, "not_text"),
        ("🙂🎉👍", "no_words"),
        ("?!…", "no_words"),
        ("a" * 2001, "too_long"),
        ("é" * 500_000, "too_long"),
        ("/", "empty"),
    ],
)
def test_messages_refused_before_the_model(text, reason, policy):
    checked = check_message(text, policy, limit=2000)
    assert checked.refused and checked.reason == reason and checked.texts == ()
    assert checked.reply and checked.reply[0].isupper()


@pytest.mark.parametrize(
    "payload",
    [
        '/handoff{"email": "pirate@example.org"}',
        '/greet{"email": "pirate@example.org"}',
        '/inform_sector{"sector": "sector.nimporte_quoi"}',
        '/inform_sector{"sector": "jeunesse"}',
        '/ask_topic{"topic": "topic.inexistant"}',
        '/ask_topic{"topic": ["topic.ka2_definition"]}',
        '/ask_topic{"topic": "topic.ka2_definition"',
        '/ask_topic["topic.ka2_definition"]',
        '/rate_answer{"rating": "<script>"}',
        "/session_start",
        "/nlu_fallback",
        "/intention_inconnue",
    ],
)
def test_payloads_the_bot_never_offers_are_refused(payload, policy):
    checked = check_message(payload, policy)
    assert checked.refused and checked.reply == UNKNOWN_PAYLOAD, checked


@pytest.mark.parametrize(
    "payload, texts",
    [
        ('/ask_topic{"topic":"topic.ka2_definition"}', ('/ask_topic{"topic":"topic.ka2_definition"}',)),
        ('/inform_sector{"sector": "sector.youth"}', ('/inform_sector{"sector":"sector.youth"}',)),
        ('/rate_answer{"rating":"up"}', ('/rate_answer{"rating":"up"}',)),
        ("/greet", ("/greet",)),
        ("/restart", ("/restart", "/greet")),
        ("/etc/passwd", ("etc/passwd",)),
        ("/ c'est quoi le KA2 ?", ("c'est quoi le KA2 ?",)),
    ],
)
def test_button_payloads_pass_and_other_slashes_are_text(payload, texts, policy):
    assert check_message(payload, policy).texts == texts


def test_without_a_loaded_model_every_payload_but_restart_is_refused():
    assert check_message("/greet", None).refused
    assert check_message("/restart", None).texts == ("/restart", "/greet")


def test_telegram_recommencer_greets_once(policy):
    assert check_messages(["/restart", "/greet"], policy).texts == ("/restart", "/greet")
    assert check_messages(["", "x"], policy).reply == EMPTY


def test_origins_come_from_the_environment_or_rasa_cors():
    argv = ["rasa", "run", "--cors", "http://localhost:8000", "http://127.0.0.1:8000/", "--port", "5005"]
    assert cors_origins_from_argv(argv) == ["http://localhost:8000", "http://127.0.0.1:8000/"]
    assert allowed_origins({}, argv) == ["http://localhost:8000", "http://127.0.0.1:8000"]
    assert allowed_origins({"KA2_ALLOWED_ORIGINS": "https://a.be, https://b.be"}, argv) == [
        "https://a.be",
        "https://b.be",
    ]
    assert origin_allowed("https://a.be", ["https://a.be"]) and not origin_allowed(None, [])
    assert origin_allowed(None, [], without_origin=True)  # KA2_SOCKETIO_ALLOW_NO_ORIGIN=1
    assert not origin_allowed("https://evil.example", ["https://a.be"]) and not origin_allowed("https://a.be", [])


# --- one Rasa server with the three channels ---------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Stack, FakeTelegramApi]]:
    with FakeTelegramApi(TOKEN, username="ka2_test_bot") as api:
        credentials = (ROOT / "credentials.yml").read_text() + "\nbot.channels.telegram.TelegramInput:\n"
        stack = Stack(
            tmp_path_factory.mktemp("bad_input"),
            credentials=credentials,
            rasa_args=["--cors", PAGE],
            env={
                "KA2_MAX_MESSAGE_CHARS": str(LIMIT),
                **telegram_env(api.url, TOKEN, SECRET),
            },
        )
        try:
            stack.start_actions()
            start_rasa_patiently(stack)
            yield stack, api
        finally:
            stack.stop()


def raw_post(
    stack: Stack, body: bytes, content_type: Optional[str] = "application/json", path: str = "/webhooks/rest/webhook"
) -> Tuple[int, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(stack.url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def rest(stack: Stack, sender: str, message: Any) -> Tuple[int, List[Dict[str, Any]]]:
    return raw_post(stack, json.dumps({"sender": sender, "message": message}).encode())


def text_of(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def assert_still_answers(stack: Stack, sender: str) -> None:
    status, messages = rest(stack, sender, QUESTION)
    assert status == 200 and "Source :" in text_of(messages), messages


def user_texts(stack: Stack, sender: str) -> List[str]:
    with sqlite3.connect(stack.db) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (f"rest:{sender}",)
        ).fetchall()
    return [json.loads(data)["text"] for (data,) in rows]


@pytest.mark.parametrize(
    "case, message, expected",
    [
        ("empty", "", EMPTY),
        ("whitespace", "   \n\t  ", EMPTY),
        ("controls", "\x00\x1b\x07\x7f", EMPTY),
        ("emoji", "🙂🙂🎉", NO_WORDS),
        ("too_long", "projet " * 400, f"{LIMIT} au maximum"),
        ("handoff_injection", '/handoff{"email": "pirate@example.org"}', UNKNOWN_PAYLOAD),
        ("entity_injection", '/request_human{"email": "pirate@example.org"}', UNKNOWN_PAYLOAD),
        ("unknown_sector", '/inform_sector{"sector": "sector.pirate"}', UNKNOWN_PAYLOAD),
        ("unknown_topic", '/ask_topic{"topic": "topic.pirate"}', UNKNOWN_PAYLOAD),
        ("unknown_intent", "/supprimer_tout", UNKNOWN_PAYLOAD),
        ("internal_intent", "/session_start", UNKNOWN_PAYLOAD),
    ],
)
def test_rest_refusals_are_polite_and_leave_the_tracker_alone(served, case, message, expected):
    stack, _ = served
    sender = f"bad-{case}"
    status, messages = rest(stack, sender, message)
    assert status == 200 and len(messages) == 1 and expected in messages[0]["text"]
    assert messages[0]["recipient_id"] == sender
    assert_still_answers(stack, sender)
    assert user_texts(stack, sender) == [QUESTION]


@pytest.mark.parametrize(
    "case, message, passed",
    [
        (
            "control_chars",
            "quels\x00 sont les\x07 montants\u200b d'un partenariat de coopération ?",
            "quels sont les montants d'un partenariat de coopération ?",
        ),
        ("lone_surrogate", "c'est quoi le KA2 ?\ud800", "c'est quoi le KA2 ?"),
        (
            "html",
            "<script>alert('x')</script><b>c'est quoi le KA2 ?</b>",
            "<script>alert('x')</script><b>c'est quoi le KA2 ?</b>",
        ),
        (
            "sql",
            "'; DROP TABLE events; -- SELECT * FROM users WHERE '1'='1",
            "'; DROP TABLE events; -- SELECT * FROM users WHERE '1'='1",
        ),
        ("slash_text", "/etc/passwd", "etc/passwd"),
        ("button", '/ask_topic{"topic": "topic.ka2_definition"}', '/ask_topic{"topic":"topic.ka2_definition"}'),
    ],
)
def test_rest_odd_but_harmless_text_is_answered(served, case, message, passed):
    stack, _ = served
    sender = f"odd-{case}"
    status, messages = rest(stack, sender, message)
    assert status == 200 and messages and all(m["recipient_id"] == sender for m in messages)
    assert "<script>" not in text_of(messages)
    assert_still_answers(stack, sender)
    assert user_texts(stack, sender) == [passed, QUESTION]


def test_rest_restart_typed_by_a_user_restarts_and_greets(served):
    stack, _ = served
    assert_still_answers(stack, "bad-restart")
    status, messages = rest(stack, "bad-restart", "/restart")
    assert status == 200 and text_of(messages).startswith("Bonjour")
    assert_still_answers(stack, "bad-restart")
    with sqlite3.connect(stack.db) as db:
        kinds = [
            k for (k,) in db.execute("SELECT type_name FROM events WHERE sender_id='rest:bad-restart' ORDER BY id")
        ]
    assert kinds.count("restart") == 1 and kinds.count("user") == 4


@pytest.mark.parametrize(
    "case, body, content_type, status, code",
    [
        ("not_json", b"sender=moi&message=bonjour", "application/x-www-form-urlencoded", 415, "content_type"),
        ("text_plain", json.dumps({"sender": "x1", "message": "bonjour"}).encode(), "text/plain", 415, "content_type"),
        ("no_content_type", json.dumps({"sender": "x1", "message": "bonjour"}).encode(), None, 415, "content_type"),
        ("broken_json", b'{"sender": "x1", "message": ', "application/json", 400, "json"),
        ("invalid_utf8", b'{"sender": "x1", "message": "\xff\xfe caf\xe9"}', "application/json", 400, "encoding"),
        ("array", b'["x1", "bonjour"]', "application/json", 400, "object"),
        ("string", b'"bonjour"', "application/json", 400, "object"),
        ("null", b"null", "application/json", 400, "object"),
        ("no_sender", b'{"message": "bonjour"}', "application/json", 400, "sender"),
        ("empty_sender", b'{"sender": "", "message": "bonjour"}', "application/json", 400, "sender"),
        ("sender_list", b'{"sender": ["x"], "message": "bonjour"}', "application/json", 400, "sender"),
        ("sender_spaces", b'{"sender": "a b", "message": "bonjour"}', "application/json", 400, "sender"),
        ("no_message", b'{"sender": "x1"}', "application/json", 400, "message"),
        ("message_object", b'{"sender": "x1", "message": {"text": "bonjour"}}', "application/json", 400, "message"),
        (
            "metadata_list",
            b'{"sender": "x1", "message": "bonjour", "metadata": [1]}',
            "application/json",
            400,
            "metadata",
        ),
        ("huge", json.dumps({"sender": "x1", "message": "a" * 100_000}).encode(), "application/json", 413, "too_large"),
    ],
)
def test_rest_malformed_requests_get_a_4xx_with_a_french_message(served, case, body, content_type, status, code):
    stack, _ = served
    got, answer = raw_post(stack, body, content_type)
    assert got == status and answer["error"] == code and answer["message"].startswith("L"), answer
    assert_still_answers(stack, "x1")


def test_rest_sender_numbers_are_accepted_and_the_health_check_works(served):
    stack, _ = served
    status, messages = raw_post(stack, json.dumps({"sender": 12345, "message": QUESTION}).encode())
    assert status == 200 and "Source :" in text_of(messages)
    with urllib.request.urlopen(stack.url + "/webhooks/rest/", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok"}


# socket.io ---------------------------------------------------------------------------------------


async def socket_conversation(url: str, messages: List[Any], origin: str = PAGE, wait: float = 90) -> List[List[str]]:
    """Send each message on one session; the bot texts received after each one."""
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    received: asyncio.Queue[str] = asyncio.Queue()
    confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @client.on("bot_uttered")
    async def bot_uttered(data: Dict[str, Any]) -> None:
        await received.put(data.get("text", ""))

    @client.on("session_confirm")
    async def session_confirm(session_id: str) -> None:
        if not confirmed.done():
            confirmed.set_result(session_id)

    await client.connect(url, headers={"Origin": origin}, transports=["websocket"], socketio_path="/socket.io")
    try:
        await client.emit("session_request", {"session_id": None})
        session_id = await asyncio.wait_for(confirmed, 30)
        answers = []
        for message in messages:
            await client.emit("user_uttered", {"message": message, "session_id": session_id})
            texts = [await asyncio.wait_for(received.get(), wait)]
            while True:  # the rest of the turn
                try:
                    texts.append(await asyncio.wait_for(received.get(), 3))
                except asyncio.TimeoutError:
                    break
            answers.append(texts)
        return answers
    finally:
        await client.disconnect()


def test_socketio_bad_input_gets_polite_replies_then_answers(served):
    stack, _ = served
    bad = [
        "",
        "   ",
        "🙂🎉",
        "x" * (LIMIT + 1),
        '/handoff{"email": "pirate@example.org"}',
        '/inform_sector{"sector": "z"}',
        None,
    ]
    answers = asyncio.run(socket_conversation(stack.url, [*bad, "/greet", QUESTION]))
    assert answers[0] == [EMPTY] and answers[1] == [EMPTY] and answers[2] == [NO_WORDS]
    assert f"{LIMIT} au maximum" in answers[3][0]
    assert answers[4] == [UNKNOWN_PAYLOAD] and answers[5] == [UNKNOWN_PAYLOAD] and answers[6] == [EMPTY]
    assert answers[-2][0].startswith("Bonjour")  # the widget's initial payload still passes
    assert "Source :" in "\n".join(answers[-1])


def test_socketio_refuses_other_origins(served):
    import socketio

    stack, _ = served
    with pytest.raises(socketio.exceptions.ConnectionError):
        asyncio.run(socket_conversation(stack.url, [QUESTION], origin="https://evil.example"))


# Telegram ----------------------------------------------------------------------------------------


def telegram_update(update_id: int, chat_id: int, text: str) -> Dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Lou", "language_code": "fr"}
    message = {"message_id": update_id, "date": 1700000000, "chat": {"id": chat_id, "type": "private"}, "from": user}
    return {"update_id": update_id, "message": {**message, "text": text}}


def telegram_turn(stack: Stack, api: FakeTelegramApi, update: Any, chat_id: int) -> Tuple[int, str]:
    since = len(api.calls)
    request = urllib.request.Request(
        stack.url + "/webhooks/telegram/webhook",
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    sent = [c["params"] for c in api.calls[since:] if c["method"] == "sendMessage"]
    return status, "\n".join(p["text"] for p in sent if str(p["chat_id"]) == str(chat_id))


@pytest.mark.parametrize(
    "case, text, expected",
    [
        ("whitespace", "   ", "Je ne lis que le texte"),  # Telegram's own "text only" reply
        ("emoji", "🙂🎉", NO_WORDS),
        ("too_long", "y" * (LIMIT + 10), f"{LIMIT} au maximum"),
        ("handoff_injection", '/handoff{"email": "pirate@example.org"}', UNKNOWN_PAYLOAD),
        ("unknown_sector", '/inform_sector{"sector": "sector.pirate"}', UNKNOWN_PAYLOAD),
    ],
)
def test_telegram_bad_input_gets_polite_replies_then_answers(served, case, text, expected):
    stack, api = served
    chat = 7000 + len(case)
    status, reply = telegram_turn(stack, api, telegram_update(1, chat, text), chat)
    assert status == 200 and expected in html.unescape(reply)
    status, reply = telegram_turn(stack, api, telegram_update(2, chat, QUESTION), chat)
    assert status == 200 and "Source :" in reply


def test_telegram_malformed_updates_are_refused_and_the_server_keeps_serving(served):
    stack, api = served
    assert telegram_turn(stack, api, [1, 2, 3], 7100)[0] == 400
    assert telegram_turn(stack, api, "texte", 7100)[0] == 400
    assert telegram_turn(stack, api, {"update_id": 5, "message": {"chat": "x"}}, 7100)[0] == 400
    status, reply = telegram_turn(stack, api, telegram_update(3, 7100, QUESTION), 7100)
    assert status == 200 and "Source :" in reply

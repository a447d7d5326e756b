"""Attacks on the channels, over a real stack on 127.0.0.1 (issue 15).

One Rasa server with the REST channel (token required), the widget's socket.io channel and Telegram
against the fake Bot API, with the default rate limits. Each test first builds what an attacker
would want (a widget or Telegram user at the handoff confirmation, with a name and an e-mail), then
tries to reach it from another channel or another socket.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import urllib.error
import urllib.request
from socket import create_connection
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from bot.channels.intake import THROTTLED
from tests.conftest import BIN, ROOT, Stack, model_path, start_rasa_patiently
from tests.fake_telegram_api import FakeTelegramApi, telegram_env

TOKEN = "123456:TEST-token-for-the-fake-api"
SECRET = "un-secret-de-test"
REST_TOKEN = "jeton-de-test-des-integrations"
PAGE = "http://127.0.0.1:8766"
NAME, EMAIL = "Awa Diallo", "awa.diallo@exemple.be"
# The handoff up to its confirmation: the bot then shows a summary with the name and the e-mail.
HANDOFF = [
    "je veux parler à quelqu'un",
    "/start_handoff",
    f"je m'appelle {NAME}",
    EMAIL,
    '/inform_sector{"sector":"sector.youth"}',
    "Est-ce qu'un groupe informel de jeunes peut déposer un projet ?",
]
CHAT = 90_001


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Stack, FakeTelegramApi]]:
    with FakeTelegramApi(TOKEN, username="ka2_test_bot") as api:
        workdir = tmp_path_factory.mktemp("attacks")
        credentials = (ROOT / "credentials.yml").read_text() + "\nbot.channels.telegram.TelegramInput:\n"
        stack = Stack(
            workdir,
            credentials=credentials,
            rasa_args=["--cors", PAGE],
            env={
                "KA2_DB_URL": f"sqlite:///{workdir / 'tracker.db'}",
                # Production settings: a token for REST, the default budgets.
                "KA2_REST_TOKEN": REST_TOKEN,
                "KA2_REST_OPEN": "0",
                "KA2_RATE_PER_SENDER": "20",
                "KA2_RATE_PER_CLIENT": "120",
                **telegram_env(api.url, TOKEN, SECRET),
            },
        )
        try:
            stack.start_actions()
            start_rasa_patiently(stack)
            yield stack, api
        finally:
            stack.stop()


# --- clients ------------------------------------------------------------------------------------


def post(
    stack: Stack, path: str, body: Any, headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Any, Dict[str, str]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        stack.url + path, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, decoded(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, decoded(error.read()), dict(error.headers)


def decoded(body: bytes) -> Any:
    """JSON (REST), or the text Telegram's webhook answers."""
    try:
        return json.loads(body or b"null")
    except ValueError:
        return body.decode("utf-8", "replace")


def rest(stack: Stack, sender: str, message: str, token: Optional[str] = REST_TOKEN, **extra: Any) -> tuple:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return post(stack, "/webhooks/rest/webhook", {"sender": sender, "message": message, **extra}, headers)


def text_of(messages: Any) -> str:
    return "\n".join(m.get("text") or "" for m in messages) if isinstance(messages, list) else json.dumps(messages)


def telegram(stack: Stack, api: FakeTelegramApi, text: str, chat: int = CHAT, secret: Optional[str] = SECRET) -> tuple:
    since = len(api.calls)
    user = {"id": chat, "is_bot": False, "first_name": "Awa"}
    update = {"update_id": since, "message": {"message_id": since, "chat": {"id": chat, "type": "private"}}}
    update["message"].update({"from": user, "date": 1700000000, "text": text})
    status, _, _ = post(
        stack, "/webhooks/telegram/webhook", update, {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    )
    sent = [c["params"] for c in api.calls[since:] if c["method"] == "sendMessage"]
    return status, "\n".join(p["text"] for p in sent if str(p["chat_id"]) == str(chat))


class Socket:
    """A socket.io client like the widget: one connection, one session, the bot texts it receives."""

    def __init__(self, url: str, origin: Optional[str] = PAGE):
        import socketio

        self.url, self.origin = url, origin
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: asyncio.Queue = asyncio.Queue()
        self.confirmed: asyncio.Queue = asyncio.Queue()
        self.client.on("bot_uttered", self._bot)
        self.client.on("session_confirm", self._confirm)

    async def _bot(self, data: Dict[str, Any]) -> None:
        await self.received.put(data.get("text") or "")

    async def _confirm(self, session_id: str) -> None:
        await self.confirmed.put(session_id)

    async def connect(self) -> None:
        headers = {"Origin": self.origin} if self.origin else {}
        await self.client.connect(self.url, headers=headers, transports=["websocket"], socketio_path="/socket.io")

    async def session(self, proposed: Optional[str] = None) -> str:
        await self.client.emit("session_request", {"session_id": proposed})
        return await asyncio.wait_for(self.confirmed.get(), 30)

    async def say(self, session_id: str, message: str, wait: float = 90, **extra: Any) -> List[str]:
        await self.client.emit("user_uttered", {"message": message, "session_id": session_id, **extra})
        return await self.texts(wait)

    async def texts(self, wait: float = 90) -> List[str]:
        """The texts of one turn: the first within `wait` seconds, the rest until 3 s of silence."""
        texts: List[str] = []
        try:
            texts.append(await asyncio.wait_for(self.received.get(), wait))
            while True:
                texts.append(await asyncio.wait_for(self.received.get(), 3))
        except asyncio.TimeoutError:
            return texts

    async def close(self) -> None:
        await self.client.disconnect()


def conversations(stack: Stack) -> Dict[str, List[str]]:
    """Conversation id -> the user texts stored under it."""
    found: Dict[str, List[str]] = {}
    with sqlite3.connect(stack.db) as db:
        for sender, data in db.execute("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id"):
            found.setdefault(sender, []).append(json.loads(data)["text"])
    return found


def handoffs(stack: Stack) -> List[tuple]:
    with sqlite3.connect(stack.db) as db:
        try:
            return db.execute("SELECT sender_id, name, email FROM ka2_handoff_requests").fetchall()
        except sqlite3.OperationalError:  # the action server creates the table with the first request
            return []


# --- the cross-channel takeover ---------------------------------------------------------------


def test_widget_and_telegram_conversations_cannot_be_taken_over(attacked):
    stack, api = attacked

    async def scenario() -> Dict[str, Any]:
        victim = Socket(stack.url)
        await victim.connect()
        try:
            session = await victim.session()
            for text in HANDOFF:
                summary = "\n".join(await victim.say(session, text))
            seen: Dict[str, Any] = {"session": session, "summary": summary}
            # Another socket asks for the victim's session, then writes in its name.
            intruder = Socket(stack.url)
            await intruder.connect()
            try:
                seen["given"] = await intruder.session(session)
                seen["intruder_named"] = await intruder.say(session, "hein ?", wait=10)
                seen["intruder_own"] = await intruder.say(seen["given"], "hein ?")
                seen["victim_after"] = await victim.texts(wait=2)
            finally:
                await intruder.close()
            return seen
        finally:
            await victim.close()

    seen = asyncio.run(scenario())
    session = seen["session"]
    assert NAME in seen["summary"] and EMAIL in seen["summary"], "the victim is at the confirmation"
    for text in HANDOFF:
        status, reply = telegram(stack, api, text)
        assert status == 200
    assert NAME in reply and EMAIL in reply

    # Another socket: it never gets the victim's session, and a message naming it is ignored.
    assert seen["given"] != session and len(seen["given"]) >= 32
    assert seen["intruder_named"] == [] and seen["victim_after"] == []
    assert NAME not in "\n".join(seen["intruder_own"]) and EMAIL not in "\n".join(seen["intruder_own"])

    # REST, even with the integrations' token, under every id the victims are known by.
    for sender in (session, f"web:{session}", str(CHAT), f"tg:{CHAT}"):
        status, messages, _ = rest(stack, sender, "hein ?")
        assert status == 200 and all(m["recipient_id"] == sender for m in messages)
        assert NAME not in text_of(messages) and EMAIL not in text_of(messages), sender
        status, messages, _ = rest(stack, sender, "/affirm")
        assert NAME not in text_of(messages) and "demande n°" not in text_of(messages), sender
    assert handoffs(stack) == [], "nothing was filed in the victims' names"

    stored = conversations(stack)
    assert stored[f"web:{session}"] == HANDOFF and stored[f"tg:{CHAT}"] == HANDOFF
    assert stored[f"rest:web:{session}"] == ["hein ?", "/affirm"]
    assert stored[f"rest:tg:{CHAT}"] == ["hein ?", "/affirm"]


def test_rest_requires_the_token(attacked):
    stack, _ = attacked
    for token in (None, "mauvais-jeton", REST_TOKEN + "x"):
        status, answer, headers = rest(stack, "sans-jeton", "c'est quoi le KA2 ?", token=token)
        assert status == 401 and answer["error"] == "unauthorized" and answer["message"].startswith("Accès refusé")
        assert headers.get("WWW-Authenticate") == "Bearer"
    assert "rest:sans-jeton" not in conversations(stack)
    status, messages, _ = rest(stack, "avec-jeton", "c'est quoi le KA2 ?")
    assert status == 200 and "Source :" in text_of(messages)


def test_socket_without_an_allowed_origin_is_refused(attacked):
    import socketio

    stack, _ = attacked
    for origin in (None, "https://evil.example"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            asyncio.run(Socket(stack.url, origin=origin).connect())


# --- rate limits --------------------------------------------------------------------------------


def test_a_burst_from_one_sender_is_throttled_while_another_sender_is_answered(attacked):
    stack, _ = attacked
    statuses, refusals = [], []
    for _ in range(60):
        status, answer, headers = rest(stack, "rafale", "/greet")
        statuses.append(status)
        if status == 429:
            refusals.append((answer, headers))
    # The first 20 always pass; after them, almost all are refused (the sliding window weighs the
    # previous minute's messages by how much of it it still covers, so a few may pass at its edge).
    assert statuses[:20] == [200] * 20 and set(statuses) == {200, 429} and statuses.count(429) >= 35
    answer, headers = refusals[0]
    assert answer["error"] == "throttled" and "réessayez dans" in answer["message"]
    assert 1 <= int(headers["Retry-After"]) <= 60
    status, messages, _ = rest(stack, "calme", "c'est quoi le KA2 ?")
    assert status == 200 and "Source :" in text_of(messages)
    stored = conversations(stack)["rest:rafale"]
    assert len(stored) == statuses.count(200), "the throttled messages never reached the model"


def test_a_burst_on_the_widget_gets_a_polite_french_reply(attacked):
    stack, _ = attacked

    async def scenario() -> List[str]:
        socket = Socket(stack.url)
        await socket.connect()
        try:
            session = await socket.session()
            for _ in range(40):  # as fast as the socket goes
                await socket.client.emit("user_uttered", {"message": "/greet", "session_id": session})
            texts = await socket.texts(wait=60)
            while True:  # until 10 s without a message
                batch = await socket.texts(wait=10)
                if not batch:
                    return texts
                texts += batch
        finally:
            await socket.close()

    texts = asyncio.run(scenario())
    polite = [t for t in texts if t.startswith(THROTTLED.split("{")[0])]
    greeted = [t for t in texts if t.startswith("Bonjour")]
    assert len(polite) + len(greeted) == len(texts)
    # 20 answered (a few more at the edge of the sliding window); the refusal said once, not 20 times.
    assert 20 <= len(greeted) <= 25 and 1 <= len(polite) <= 2  # 2: the burst straddled a window boundary


# --- bounded inputs ----------------------------------------------------------------------------


def stored_metadata(stack: Stack, sender: str) -> List[Any]:
    with sqlite3.connect(stack.db) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)).fetchall()
    return [json.loads(data).get("metadata") for (data,) in rows]


def test_oversized_metadata_is_refused_and_unknown_keys_dropped(attacked):
    stack, _ = attacked
    status, answer, _ = rest(stack, "meta", "c'est quoi le KA2 ?", metadata={"blob": "x" * 60_000})
    assert status == 413 and answer["error"] == "metadata_too_large"
    assert "rest:meta" not in conversations(stack)
    status, _, _ = rest(stack, "meta", "c'est quoi le KA2 ?", metadata={"locale": "fr-BE", "evil": "y" * 500})
    assert status == 200
    (kept,) = stored_metadata(stack, "rest:meta")
    assert kept["locale"] == "fr-BE" and "evil" not in kept

    async def scenario() -> Tuple[List[str], str]:
        socket = Socket(stack.url)
        await socket.connect()
        try:
            session = await socket.session()
            answered = await socket.say(session, "c'est quoi le KA2 ?", metadata={"blob": "z" * 8_000})
            return answered, session
        finally:
            await socket.close()

    answered, session = asyncio.run(scenario())
    assert "Source :" in "\n".join(answered)
    (kept,) = stored_metadata(stack, f"web:{session}")
    assert "blob" not in (kept or {}) and len(json.dumps(kept)) < 1000


def test_a_huge_websocket_frame_closes_the_socket_and_stores_nothing(attacked):
    stack, _ = attacked

    async def scenario() -> Tuple[bool, str]:
        socket = Socket(stack.url)
        await socket.connect()
        session = await socket.session()
        await socket.client.emit(
            "user_uttered", {"message": "bonjour", "session_id": session, "metadata": "m" * 900_000}
        )
        for _ in range(50):
            if not socket.client.connected:
                break
            await asyncio.sleep(0.2)
        connected = socket.client.connected
        await socket.close()
        return connected, session

    connected, session = asyncio.run(scenario())
    assert not connected
    assert f"web:{session}" not in conversations(stack)


def test_a_large_body_is_refused_before_it_is_read(attacked):
    stack, _ = attacked
    body = json.dumps({"sender": "grand", "message": "a" * 200_000}).encode()
    status, answer, _ = post(stack, "/webhooks/rest/webhook", body, {"Authorization": f"Bearer {REST_TOKEN}"})
    assert status == 413 and answer["error"] == "too_large"
    # Announce 10 MB and send none of it: the answer comes from the headers alone.
    with create_connection(("127.0.0.1", stack.rasa_port), timeout=20) as connection:
        connection.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + REST_TOKEN.encode() + b"\r\nContent-Length: 10000000\r\n\r\n"
        )
        head = connection.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413"), head


def test_deeply_nested_json_is_a_400(attacked):
    stack, _ = attacked
    body = b'{"sender": "profond", "message": "x", "metadata": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    status, answer, _ = post(stack, "/webhooks/rest/webhook", body, {"Authorization": f"Bearer {REST_TOKEN}"})
    assert status == 400 and answer["error"] == "json"


# --- Telegram -------------------------------------------------------------------------------------


def test_telegram_updates_without_the_secret_are_refused(attacked):
    stack, api = attacked
    for secret in (None, "mauvais"):
        status, reply = telegram(stack, api, "c'est quoi le KA2 ?", chat=90_002, secret=secret)
        assert status == 403 and reply == ""
    assert "tg:90002" not in conversations(stack)


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": {"message_id": 1, "chat": {"type": "private"}, "text": "bonjour"}},
        {"update_id": 2, "message": {"message_id": 2, "chat": {"id": 5, "type": "private"}, "from": 7, "text": "x"}},
        {"update_id": 3, "message": {"message_id": 3, "chat": {"id": "5"}, "text": "bonjour"}},
        {"update_id": 4, "message": "bonjour"},
        {"update_id": 5, "callback_query": {"id": "q", "from": [], "message": {"chat": {"id": 5}}, "data": "/greet"}},
        {"update_id": 6, "callback_query": {"id": "q", "message": {"chat": {}}, "data": "/greet"}},
    ],
    ids=["chat_without_id", "from_not_object", "chat_id_text", "message_text", "query_from_list", "query_chat_empty"],
)
def test_malformed_telegram_updates_get_a_400(attacked, update):
    stack, _ = attacked
    status, _, _ = post(stack, "/webhooks/telegram/webhook", update, {"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert status == 400


def test_start_up_refuses_a_telegram_webhook_without_its_secret(tmp_path):
    credentials = tmp_path / "credentials.yml"
    credentials.write_text("bot.channels.telegram.TelegramInput:\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_URL": "https://assistant.example.test/webhooks/telegram/webhook",
    }
    args = [str(BIN / "python"), "-m", "bot.server", "run", "--model", str(model_path())]
    args += ["--credentials", str(credentials), "--interface", "127.0.0.1", "--port", "9"]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "TELEGRAM_SECRET_TOKEN" in line]
    assert len(lines) == 1 and "TELEGRAM_WEBHOOK_URL" in lines[0], done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr

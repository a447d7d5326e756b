"""The website chat widget in a real headless Chromium, against the stack on 127.0.0.1.

Also the socket.io regression: Rasa 3.6 does not await `enter_room`, which python-socketio >= 5.10
made a coroutine (RasaHQ/rasa#13027); the project's channel awaits it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.request
from collections import defaultdict
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.channels import socketio as rasa_socketio
from socketio import AsyncServer

from bot.channels.webchat import SocketIOInput
from tests.browser import Browser, missing_browser_tools
from tests.conftest import OUTPUT, ROOT, Stack

sys.path.insert(0, str(ROOT / "scripts"))
from serve_web import serve_in_thread  # noqa: E402

SERIOUS = {"serious", "critical"}
CREDENTIALS = (
    "rest:\n"
    "bot.channels.webchat.SocketIOInput:\n"
    "  user_message_evt: user_uttered\n"
    "  bot_message_evt: bot_uttered\n"
    "  session_persistence: true\n"
)
BOT = ".ka2-from-bot"
USER = ".ka2-from-user"


# --- the socket.io room join, on both sides of python-socketio 5.10 ----------------------------


class FakeSio:
    """Records handlers, room joins and emits like python-socketio's AsyncServer."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.handlers: Dict[str, Any] = {}
        self.members: Dict[str, set] = defaultdict(set)
        self.emitted: List[tuple] = []

    def rooms(self, sid: str, namespace: Any = None) -> List[str]:
        return [sid] + [room for room, sids in self.members.items() if sid in sids]

    def on(self, event: str, handler: Any = None, namespace: Any = None) -> Any:
        def register(function: Any) -> Any:
            self.handlers[event] = function
            return function

        return register(handler) if handler else register

    def attach(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def emit(self, event: str, data: Any = None, room: Any = None, **kwargs: Any) -> None:
        self.emitted.append((event, data, room))


class SyncEnterRoom(FakeSio):  # python-socketio < 5.10 (the lock's 5.9.0)
    def enter_room(self, sid: str, room: str, namespace: Any = None) -> None:
        self.members[room].add(sid)

    def leave_room(self, sid: str, room: str, namespace: Any = None) -> None:
        self.members[room].discard(sid)


class AsyncEnterRoom(FakeSio):  # python-socketio >= 5.10
    async def enter_room(self, sid: str, room: str, namespace: Any = None) -> None:
        self.members[room].add(sid)

    async def leave_room(self, sid: str, room: str, namespace: Any = None) -> None:
        self.members[room].discard(sid)


STOCK_BROKEN = [
    pytest.mark.xfail(strict=True, reason="RasaHQ/rasa#13027: stock Rasa 3.6 does not await enter_room"),
    pytest.mark.filterwarnings("ignore:coroutine .* was never awaited"),
]


@pytest.mark.parametrize(
    "channel_class, server_class",
    [
        pytest.param(SocketIOInput, SyncEnterRoom, id="project-socketio<5.10"),
        pytest.param(SocketIOInput, AsyncEnterRoom, id="project-socketio>=5.10"),
        pytest.param(rasa_socketio.SocketIOInput, SyncEnterRoom, id="stock-socketio<5.10"),
        pytest.param(rasa_socketio.SocketIOInput, AsyncEnterRoom, id="stock-socketio>=5.10", marks=STOCK_BROKEN),
    ],
)
def test_session_request_joins_the_session_room(channel_class, server_class, monkeypatch):
    monkeypatch.setattr(rasa_socketio, "AsyncServer", server_class)
    channel = channel_class(session_persistence=True)

    async def on_new_message(_: Any) -> None:
        pass

    channel.blueprint(on_new_message)
    session = "0123456789abcdef0123456789abcdef"
    asyncio.run(channel.sio.handlers["session_request"]("sid-1", {"session_id": session}))
    assert channel.sio.members[session] == {"sid-1"}, "the browser would never receive the bot's replies"
    assert ("session_confirm", session, "sid-1") in channel.sio.emitted


def test_the_fix_replaces_the_stock_handler_on_the_real_server():
    channel = SocketIOInput(session_persistence=True)

    async def on_new_message(_: Any) -> None:
        pass

    channel.blueprint(on_new_message)
    assert isinstance(channel.sio, AsyncServer)
    handler = channel.sio.handlers["/"]["session_request"]
    assert handler.__module__ == "bot.channels.webchat"


@pytest.mark.parametrize("server_class", [SyncEnterRoom, AsyncEnterRoom], ids=["socketio<5.10", "socketio>=5.10"])
def test_a_new_session_on_the_same_socket_leaves_the_old_room(server_class, monkeypatch):
    # "Recommencer": the late reply to the previous conversation must not reach this socket.
    monkeypatch.setattr(rasa_socketio, "AsyncServer", server_class)
    channel = SocketIOInput(session_persistence=True)

    async def on_new_message(_: Any) -> None:
        pass

    channel.blueprint(on_new_message)
    request = channel.sio.handlers["session_request"]
    asyncio.run(request("sid-1", {"session_id": "a" * 32}))
    asyncio.run(request("sid-1", {"session_id": "b" * 32}))
    assert channel.sio.members["a" * 32] == set() and channel.sio.members["b" * 32] == {"sid-1"}


def test_a_malformed_session_id_gets_a_fresh_one(monkeypatch):
    monkeypatch.setattr(rasa_socketio, "AsyncServer", AsyncEnterRoom)
    channel = SocketIOInput(session_persistence=True)

    async def on_new_message(_: Any) -> None:
        pass

    channel.blueprint(on_new_message)
    asyncio.run(channel.sio.handlers["session_request"]("sid-2", {"session_id": {"$ne": 1}}))
    ((event, session, room),) = channel.sio.emitted
    assert event == "session_confirm" and room == "sid-2" and len(session) == 32


# --- the widget in Chromium ------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    missing = missing_browser_tools()
    if missing:
        reason = "BROWSER TESTS NOT RUN: missing " + ", ".join(missing) + " (`make install` installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("widget")
    stack = Stack(workdir, credentials=CREDENTIALS)
    server = serve_in_thread("127.0.0.1", 0, stack.url)
    page_url = f"http://127.0.0.1:{server.server_address[1]}/"
    stack.rasa_args = ["--enable-api", "--cors", page_url.rstrip("/")]
    browser = None
    try:
        stack.start_actions()
        stack.start_rasa()
        browser = Browser()
        yield {"stack": stack, "browser": browser, "url": page_url}
    finally:
        if browser:
            browser.close()
        server.shutdown()
        stack.stop()


def serious(violations: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [v for v in violations if v["impact"] in SERIOUS]


def last_bot_text(browser: Browser) -> str:
    return browser.texts(selector=BOT)[-1]


def session_id(web: Dict[str, Any]) -> str:
    """The widget's session id; Rasa's conversation is `web:<session id>`."""
    key = json.dumps("ka2-chat:" + web["stack"].url)
    return web["browser"].evaluate(expression=f"JSON.parse(sessionStorage.getItem({key})).sessionId")


def tracker_events(stack: Stack, sender: str) -> List[Dict[str, Any]]:
    with urllib.request.urlopen(f"{stack.url}/conversations/web:{sender}/tracker", timeout=30) as response:
        return json.loads(response.read())["events"]


def user_events(stack: Stack, sender: str) -> List[str]:
    return [e["text"] for e in tracker_events(stack, sender) if e["event"] == "user"]


def ask(browser: Browser, question: str, expected: str) -> str:
    browser.fill(selector="#ka2-chat-input", value=question)
    browser.press(key="Enter")
    browser.wait(selector=BOT, text=expected)
    return "\n".join(browser.texts(selector=BOT))


def no_page_errors(browser: Browser) -> None:
    assert browser.problems() == []


def test_page_and_widget_open_accessibly_with_the_welcome(web):
    browser = web["browser"]
    browser.goto(url=web["url"])
    assert serious(browser.axe()) == []
    assert browser.attribute(selector=".ka2-launcher", name="aria-expanded") == "false"
    browser.click(selector=".ka2-launcher")
    assert browser.attribute(selector=".ka2-launcher", name="aria-expanded") == "true"
    assert browser.focused()["id"] == "ka2-chat-input"
    browser.wait(selector=BOT, text="Bonjour")
    assert browser.count(selector=USER) == 0  # the welcome is asked silently
    assert browser.attribute(selector=".ka2-log", name="role") == "log"
    assert browser.attribute(selector=".ka2-log", name="aria-live") == "polite"
    label = "document.querySelector('label[for=ka2-chat-input]').textContent"
    assert browser.evaluate(expression=label) == "Votre question"
    assert serious(browser.axe()) == []
    no_page_errors(browser)


def test_question_gets_the_knowledge_base_answer_with_its_source(web):
    browser = web["browser"]
    answer = ask(browser, "c'est quoi exactement l'action clé 2 ?", "Source :")
    assert "Coopération entre organisations et institutions" in answer
    assert browser.count(selector=".ka2-quick-reply") > 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    browser.screenshot(path=str(OUTPUT / "widget.png"))
    assert serious(browser.axe()) == []
    no_page_errors(browser)


def test_follow_up_button_sends_its_payload_and_shows_its_title(web):
    browser, stack = web["browser"], web["stack"]
    title = browser.texts(selector=".ka2-quick-reply")[0]
    answers = browser.count(selector=BOT)
    browser.click(selector=".ka2-quick-reply", text=title)
    browser.wait(selector=USER, text=title)
    browser.wait(selector=f"{BOT} >> nth={answers}")
    assert browser.texts(selector=USER)[-1].endswith(title) and "/ask" not in browser.texts(selector=USER)[-1]
    sent = user_events(stack, session_id(web))[-1]
    assert sent.startswith("/") and sent != title
    browser.wait(selector=BOT, text="Source :")
    no_page_errors(browser)


def test_the_session_survives_a_page_reload(web):
    browser = web["browser"]
    ask(browser, "quelles sont les priorités pour un projet jeunesse ?", "au minimum une")
    browser.wait(selector=".ka2-quick-reply")  # the turn's last message carries the suggestions
    before = browser.texts(selector=".ka2-message")
    sender = session_id(web)
    browser.reload()
    browser.wait(selector=BOT, text="au minimum une")
    assert browser.texts(selector=".ka2-message") == before
    assert browser.attribute(selector=".ka2-launcher", name="aria-expanded") == "true"
    assert session_id(web) == sender
    ask(browser, "et la troisième ?", "Renforcer l'employabilité des jeunes.")
    no_page_errors(browser)


def test_bot_html_is_shown_as_text_and_markdown_is_rendered(web):
    browser, stack = web["browser"], web["stack"]
    hostile = (
        '<script>window.pwned = 1</script> <img src=x onerror="window.pwned = 2"> '
        "**Important** [piège](javascript:alert(1))\n- un\n- deux https://www.lebij.be."
    )
    request = urllib.request.Request(
        f"{stack.url}/conversations/web:{session_id(web)}/tracker/events?output_channel=socketio"
        "&execute_side_effects=true",
        data=json.dumps([{"event": "bot", "text": hostile}]).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
    browser.wait(selector=BOT, text="<script>window.pwned = 1</script>")
    assert "<img src=x onerror=" in last_bot_text(browser)
    bubble = browser.html(selector=f"{BOT} >> nth=-1")
    assert "<img" not in bubble and "<script" not in bubble and 'href="javascript' not in bubble
    assert "<strong>Important</strong>" in bubble and "<li>un</li>" in bubble
    assert 'href="https://www.lebij.be"' in bubble and 'rel="noopener noreferrer"' in bubble
    assert browser.evaluate(expression="window.pwned === undefined")
    no_page_errors(browser)


def test_typing_indicator_and_reduced_motion(web):
    browser = web["browser"]
    submit = """(() => {
        document.querySelector('#ka2-chat-input').value = 'merci';
        document.querySelector('.ka2-form').requestSubmit();
        return !document.querySelector('.ka2-typing').hidden;
    })()"""
    assert browser.evaluate(expression=submit), "the typing indicator shows as soon as the question is sent"
    browser.wait(selector=USER, text="merci")
    browser.wait(selector=".ka2-typing", state="hidden")
    animation = "getComputedStyle(document.querySelector('.ka2-dots')).animationName"
    assert browser.evaluate(expression=animation) != "none"
    browser.emulate(reducedMotion="reduce")
    assert browser.evaluate(expression=animation) == "none"
    browser.emulate(reducedMotion="no-preference")
    no_page_errors(browser)


def test_keyboard_only_use(web):
    browser = web["browser"]
    browser.press(key="Escape")
    assert browser.attribute(selector=".ka2-launcher", name="aria-expanded") == "false"
    assert browser.focused()["cls"] == "ka2-launcher"
    browser.press(key="Enter")
    assert browser.focused()["id"] == "ka2-chat-input"
    browser.type(text="Quelles activités peut-on organiser ?")
    browser.press(key="Enter")
    browser.wait(selector=".ka2-quick-reply")
    browser.press(key="Shift+Tab")  # from the input back to the latest suggestion
    focused = browser.focused()
    assert focused["cls"] == "ka2-quick-reply"
    browser.press(key="Enter")
    browser.wait(selector=USER, text=focused["text"])
    no_page_errors(browser)


def test_recommencer_starts_a_new_conversation(web):
    browser = web["browser"]
    old = session_id(web)
    browser.click(selector=".ka2-restart")
    browser.wait(selector=".ka2-status", text="Nouvelle conversation")
    browser.wait(selector=BOT, text="Bonjour")
    assert browser.count(selector=USER) == 0 and session_id(web) != old
    no_page_errors(browser)


def bot_messages(stack: Stack, sender: str) -> List[Dict[str, Any]]:
    """The bot messages of a conversation that the widget shows (a text or buttons)."""
    events = tracker_events(stack, sender)
    return [e for e in events if e["event"] == "bot" and (e.get("text") or (e.get("data") or {}).get("buttons"))]


def test_recommencer_never_shows_the_late_answer_of_the_previous_conversation(web):
    browser, stack = web["browser"], web["stack"]
    old = session_id(web)
    browser.fill(selector="#ka2-chat-input", value="Quelles activités peut-on organiser ?")
    # Ask, then restart in the same instant: the answer arrives after "Recommencer".
    browser.evaluate(
        expression="document.querySelector('.ka2-form').requestSubmit(), "
        "document.querySelector('.ka2-restart').click(), true"
    )
    browser.wait(selector=BOT, text="Bonjour")
    deadline = time.monotonic() + 60
    while "Quelles activités peut-on organiser ?" not in user_events(stack, old) or not bot_messages(stack, old):
        assert time.monotonic() < deadline, "the question never reached the previous conversation"
        time.sleep(0.2)
    ask(browser, "où déposer un projet jeunesse ?", "BIJ")
    browser.wait(selector=".ka2-quick-reply")  # the turn's last message carries the suggestions
    new = session_id(web)
    assert new != old and browser.count(selector=USER) == 1
    # What the widget shows is the new conversation, all of it and nothing else.
    assert browser.count(selector=BOT) == len(bot_messages(stack, new))
    no_page_errors(browser)


def test_works_at_360_px(web):
    browser = web["browser"]
    browser.viewport(width=360, height=740)
    browser.reload()
    browser.wait(selector=BOT, text="Bonjour")
    box = browser.evaluate(expression="JSON.stringify(document.querySelector('.ka2-panel').getBoundingClientRect())")
    box = json.loads(box)
    assert box["left"] >= 0 and box["right"] <= 360
    assert browser.evaluate(expression="document.documentElement.scrollWidth") <= 360
    ask(browser, "où déposer un projet jeunesse ?", "BIJ")
    browser.screenshot(path=str(OUTPUT / "widget-360.png"))
    assert serious(browser.axe()) == []
    browser.viewport(width=1280, height=800)
    no_page_errors(browser)


def test_connection_loss_is_shown_and_the_widget_reconnects(web):
    browser, stack = web["browser"], web["stack"]
    stack.stop_rasa()
    browser.wait(selector=".ka2-status", text="Connexion perdue")
    stack.start_rasa()
    browser.wait(selector=".ka2-status", state="hidden")
    ask(browser, "c'est quoi le KA2 ?", "Source :")
    errors = browser.problems()  # only the refused connections while the server was down
    assert all("ERR_CONNECTION_REFUSED" in e or "WebSocket" in e for e in errors), errors

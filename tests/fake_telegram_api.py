"""A fake Telegram Bot API on 127.0.0.1: records calls and enforces Telegram's limits.

Runs aiohttp in a thread of the test process. Answers like the real API: `{"ok": true, "result": ...}`
or `{"ok": false, "error_code": 400, "description": "Bad Request: ..."}`.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from html.parser import HTMLParser
from typing import Any, Callable, Dict, List, Optional, Set

from aiohttp import web

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "blockquote"}


class BadRequest(Exception):
    pass


class _HtmlCheck(HTMLParser):
    """Telegram's HTML parse mode: known tags, balanced; raw '<' or '&' is an error."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: List[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in HTML_TAGS:
            raise BadRequest(f'can\'t parse entities: Unsupported start tag "{tag}"')
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            raise BadRequest(f'can\'t parse entities: Unexpected end tag "{tag}"')

    def handle_data(self, data: str) -> None:
        if any(symbol in data for symbol in "<>&"):
            raise BadRequest("can't parse entities: unescaped '<', '>' or '&'")

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            raise BadRequest(f'can\'t parse entities: Unsupported entity "{name}"')


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_message(params: Dict[str, Any]) -> None:
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("message text is empty")
    if utf16_length(text) > MAX_TEXT:
        raise BadRequest("message is too long")
    if params.get("parse_mode") == "HTML":
        checker = _HtmlCheck()
        checker.feed(text)
        checker.close()
        if checker.open:
            raise BadRequest("can't parse entities: unclosed tag")
    for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data", "")
            if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise BadRequest("BUTTON_DATA_INVALID")
            if not button.get("text"):
                raise BadRequest("text buttons are unallowed in the inline keyboard")


class FakeTelegramApi:
    """`with FakeTelegramApi(token) as api:` then point TELEGRAM_API_URL at `api.url`."""

    def __init__(self, token: str, username: str = "ka2_test_bot"):
        self.token, self.username = token, username
        self.calls: List[Dict[str, Any]] = []
        self.fail: Set[str] = set()  # methods answered with an error, to test failures
        self._message_ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._runner: Optional[web.AppRunner] = None
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def called(self, method: str) -> List[Dict[str, Any]]:
        return [call["params"] for call in self.calls if call["method"] == method]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"the fake Telegram API never saw the expected calls: {self.calls}")

    def _result(self, method: str, params: Dict[str, Any]) -> Any:
        if method in self.fail:
            raise BadRequest(f"bad webhook: {method} refused by the test")
        if method == "getMe":
            return {"id": 4242, "is_bot": True, "first_name": "KA2", "username": self.username}
        if method == "setWebhook":
            if not str(params.get("url", "")).startswith("https://"):
                raise BadRequest("bad webhook: An HTTPS URL must be provided for webhook")
            return True
        if method == "sendMessage":
            check_message(params)
            return {"message_id": next(self._message_ids), "chat": {"id": params["chat_id"]}, "text": params["text"]}
        if method == "answerCallbackQuery":
            if not params.get("callback_query_id"):
                raise BadRequest("query is too old and response timeout expired or query ID is invalid")
            return True
        if method in {"sendChatAction", "sendPhoto"}:
            return True
        raise KeyError(method)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await request.json() if request.can_read_body else {}
        self.calls.append({"method": method, "params": params})
        try:
            return web.json_response({"ok": True, "result": self._result(method, params)})
        except BadRequest as error:
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {error}"}
            return web.json_response(body, status=400)
        except KeyError:
            body = {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            return web.json_response(body, status=404)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def __enter__(self) -> FakeTelegramApi:
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *_: Any) -> None:
        if self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)


def telegram_env(api_url: str, token: str, secret: str) -> Dict[str, str]:
    """The Telegram channel's variables for a stack talking to this fake API through its webhook."""
    return {
        "TELEGRAM_TOKEN": token,
        "TELEGRAM_BOT_NAME": "ka2_test_bot",
        "TELEGRAM_WEBHOOK_URL": "https://assistant.example.test/webhooks/telegram/webhook",
        "TELEGRAM_SECRET_TOKEN": secret,
        "TELEGRAM_API_URL": api_url,
    }

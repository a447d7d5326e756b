"""A minimal Telegram Bot API client on aiohttp (no aiogram: its 2.x client breaks under Rasa 3.6)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

DEFAULT_API_URL = "https://api.telegram.org"


class TelegramApiError(Exception):
    """The Bot API refused a call, or could not be reached."""

    def __init__(self, method: str, description: str, error_code: int | None = None):
        super().__init__(f"{method}: {description}" + (f" (error {error_code})" if error_code else ""))
        self.method, self.description, self.error_code = method, description, error_code


class BotApi:
    """Calls `<api_url>/bot<token>/<method>` with a JSON body; returns the `result` field."""

    def __init__(self, token: str, api_url: str = DEFAULT_API_URL, timeout: float = 30):
        self._token = token
        self.api_url = api_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def call(self, method: str, **params: Any) -> Any:
        url = f"{self.api_url}/bot{self._token}/{method}"
        try:
            # One short-lived session per call: Rasa's webhooks and start-up run on different loops.
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                async with session.post(url, json=params) as response:
                    body = await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            # Never let the token (part of the URL) reach a log line.
            raise TelegramApiError(method, str(error).replace(self._token, "<token>") or type(error).__name__) from None
        if not isinstance(body, dict) or not body.get("ok"):
            body = body if isinstance(body, dict) else {}
            raise TelegramApiError(method, str(body.get("description", "unexpected answer")), body.get("error_code"))
        return body.get("result")

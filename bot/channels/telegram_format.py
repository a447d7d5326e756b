"""Telegram rendering: the bot's markdown subset as HTML parse mode, long texts split, inline keyboards."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from html import escape
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4096  # Telegram's limit for one message
MAX_CALLBACK_DATA = 64  # bytes, UTF-8: an accented letter counts double
LONG_PAYLOAD_PREFIX = "k:"
REDIS_PREFIX = "ka2:tgpayload:"

BULLET = re.compile(r"^(\s*)[-*] (.*)$")
BOLD = re.compile(r"\*\*(.+?)\*\*")
LINK = re.compile(r"\[([^\]\n]+)\]\((https://[^\s()<>\"]+)\)")


def telegram_length(text: str) -> int:
    """Length as Telegram counts it, in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def to_html(markdown: str) -> str:
    """**bold**, "- " lists and [text](https://...) links as Telegram HTML; everything else escaped."""
    lines = []
    for line in markdown.split("\n"):
        bullet = BULLET.match(line)
        if bullet:
            line = f"{bullet[1]}• {bullet[2]}"
        html = escape(line, quote=False)
        html = LINK.sub(lambda m: f'<a href="{m[2]}">{m[1]}</a>', html)
        lines.append(BOLD.sub(r"<b>\1</b>", html))
    return "\n".join(lines)


def _fits(markdown: str, limit: int) -> bool:
    return telegram_length(to_html(markdown)) <= limit


def _hard_split(block: str, limit: int) -> List[str]:
    pieces = []
    while block:
        low, high = 1, len(block)
        while low < high:  # the longest prefix whose HTML fits
            middle = (low + high + 1) // 2
            low, high = (middle, high) if _fits(block[:middle], limit) else (low, middle - 1)
        pieces.append(block[:low])
        block = block[low:]
    return pieces


def _pack(parts: List[str], separator: str, limit: int) -> List[str]:
    packed: List[str] = []
    for part in parts:
        candidate = f"{packed[-1]}{separator}{part}" if packed else part
        if packed and _fits(candidate, limit):
            packed[-1] = candidate
        else:
            packed.append(part)
    return packed


def _fit(block: str, limit: int, separators: tuple = ("\n", " ")) -> List[str]:
    """`block` as pieces whose HTML fits, cut at lines, then words, then characters."""
    if _fits(block, limit):
        return [block]
    if not separators:
        return _hard_split(block, limit)
    pieces = [piece for part in block.split(separators[0]) for piece in _fit(part, limit, separators[1:])]
    return _pack(pieces, separators[0], limit)


def split_message(markdown: str, limit: int = MAX_MESSAGE_LENGTH) -> List[str]:
    """The text as messages whose HTML fits `limit`, split at paragraph boundaries where possible."""
    paragraphs = [p.strip("\n") for p in markdown.strip().split("\n\n") if p.strip()]
    pieces = [piece for paragraph in paragraphs for piece in _fit(paragraph, limit)]
    return _pack(pieces, "\n\n", limit)


class PayloadStore:
    """Button payloads too long for callback data, kept under a short key.

    The key is a hash of the payload, so every Rasa instance computes the same one. In memory
    (bounded) always; in Redis too when one is given (`ka2:tgpayload:<key>`, kept `ttl` seconds), so
    a button sent by one instance still works when Telegram delivers the press to another.
    """

    def __init__(self, size: int = 2048, redis: Any = None, ttl: int = 30 * 24 * 3600):
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._redis, self._ttl = redis, ttl
        self._unsaved: Dict[str, str] = {}

    def callback_data(self, payload: str) -> str:
        if 0 < len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA and not payload.startswith(LONG_PAYLOAD_PREFIX):
            return payload
        key = LONG_PAYLOAD_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._size:
            self._payloads.popitem(last=False)
        if self._redis is not None:
            self._unsaved[key] = payload
        return key

    async def save(self) -> None:
        """Write the keys made since the last call to Redis (before the buttons are sent)."""
        unsaved, self._unsaved = self._unsaved, {}
        if self._redis is None or not unsaved:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, payload in unsaved.items():
                    pipe.set(REDIS_PREFIX + key, payload, ex=self._ttl)
                await pipe.execute()
        except Exception as error:  # the button still works on this instance
            logger.warning(f"Telegram: button payloads not saved to Redis: {type(error).__name__}")

    def payload(self, data: str) -> Optional[str]:
        """The payload behind callback data; None for a key this process no longer knows."""
        if not data.startswith(LONG_PAYLOAD_PREFIX):
            return data
        return self._payloads.get(data)

    async def resolve(self, data: str) -> Optional[str]:
        """`payload(data)`, asking Redis for a key another instance made."""
        found = self.payload(data)
        if found is not None or self._redis is None:
            return found
        try:
            value = await self._redis.get(REDIS_PREFIX + data)
        except Exception as error:
            logger.warning(f"Telegram: button payload not read from Redis: {type(error).__name__}")
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else value


def inline_keyboard(buttons: List[Dict[str, str]], store: PayloadStore) -> List[List[Dict[str, str]]]:
    """One button per row: titles are sentences, too long to sit side by side on a phone."""
    return [
        [{"text": button["title"], "callback_data": store.callback_data(button.get("payload") or button["title"])}]
        for button in buttons
    ]

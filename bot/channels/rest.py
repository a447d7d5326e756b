"""A hardened REST channel at the stock path, /webhooks/rest/webhook.

credentials.yml: `bot.channels.rest.RestInput:` instead of `rest:`. Same request and reply as Rasa's
(`{"sender": "...", "message": "..."}` in, a JSON list of bot messages out), but:

- a body that is not a JSON object, not UTF-8 or not `application/json`, a missing or malformed
  `sender` or `message`, or a body over `KA2_MAX_BODY_BYTES` (default 64 KiB) gets a 4xx with
  `{"error": ..., "message": "<French explanation>"}`; the tracker is not touched;
- the text goes through `guard.check_message`: an empty, symbol-only or too long message, or a
  button payload the bot never offers, gets a polite French reply (200) without reaching the model;
- `input_channel` cannot be chosen by the client, there is no streaming mode;
- when the conversation cannot be handled (the tracker store is unreachable...), the error is logged
  on one line and the client gets 503 with the French "service momentanément indisponible" message.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from ka2 import settings

from .guard import HANDLING_ERRORS, UNAVAILABLE, Checked, DomainPolicy, check_message, describe_error, log_refusal

logger = logging.getLogger(__name__)

# Sender ids are conversation keys: printable, no spaces, bounded.
SENDER = re.compile(r"^[A-Za-z0-9_.:@+-]{1,128}$")

MESSAGES = {
    "content_type": "Le contenu doit être du JSON (Content-Type: application/json).",
    "too_large": "La requête est trop volumineuse.",
    "encoding": "Le corps de la requête doit être encodé en UTF-8.",
    "json": "Le corps de la requête doit être un objet JSON valide.",
    "object": 'Le corps de la requête doit être un objet JSON : {"sender": "...", "message": "..."}.',
    "sender": "Le champ « sender » est obligatoire : une chaîne de 1 à 128 lettres, chiffres ou _.:@+-.",
    "message": "Le champ « message » est obligatoire et doit être une chaîne de caractères.",
    "metadata": "Le champ « metadata », s'il est présent, doit être un objet JSON.",
}


def error(status: int, code: str) -> HTTPResponse:
    return response.json({"error": code, "message": MESSAGES[code]}, status=status)


def max_body_bytes() -> int:
    return settings.MAX_BODY_BYTES.get()


def parse_body(request: Request) -> tuple:
    """(sender, message, metadata, None) or (None, None, None, an error response)."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return None, None, None, error(415, "content_type")
    body = request.body or b""
    if len(body) > max_body_bytes():
        return None, None, None, error(413, "too_large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, None, None, error(400, "encoding")
    try:
        data = json.loads(text)
    except ValueError:
        return None, None, None, error(400, "json")
    if not isinstance(data, dict):
        return None, None, None, error(400, "object")
    sender = data.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not SENDER.match(sender):
        return None, None, None, error(400, "sender")
    message = data.get("message")
    if not isinstance(message, str):
        return None, None, None, error(400, "message")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return None, None, None, error(400, "metadata")
    return sender, message, metadata, None


class RestInput(InputChannel):
    """Rasa's REST channel with input validation; keeps the name `rest` and its URL."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self) -> None:
        self.policy = DomainPolicy()

    async def deliver(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        checked: Checked,
        sender: str,
        metadata: Optional[Dict[str, Any]],
    ) -> HTTPResponse:
        collector = CollectingOutputChannel()
        if checked.refused:
            log_refusal(self.name(), sender, checked)
            return response.json([{"recipient_id": sender, "text": checked.reply}])
        try:
            for text in checked.texts:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
        except HANDLING_ERRORS as failure:  # the tracker store or the lock store is unreachable...
            logger.error(f"rest: the message of {sender!r} could not be handled: {describe_error(failure)}")
            # Nothing of the turn was stored: the client sees only the notice, not half an answer.
            return response.json([{"recipient_id": sender, "text": UNAVAILABLE}], status=503)
        return response.json(collector.messages)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("ka2_rest_webhook", __name__)
        self.policy.attach(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender, message, metadata, failure = parse_body(request)
            if failure is not None:
                return failure
            checked = check_message(message, self.policy())
            return await self.deliver(on_new_message, checked, sender, metadata)

        return webhook

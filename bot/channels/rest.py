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
  on one line and the client gets 503 with the French "service momentanément indisponible" message;
- the conversation is `rest:<sender>` (bot/channels/intake.py): a client can never reach the widget's
  or Telegram's conversations; replies keep the client's `sender` as `recipient_id`;
- access: with `KA2_REST_TOKEN` set, `Authorization: Bearer <token>` is required (compared in constant
  time, 401 otherwise). Without a token the channel is closed (401), except with `KA2_REST_OPEN=1`
  (set by scripts/run.sh and the tests) for clients on 127.0.0.1 / ::1 only, judged by the socket's
  peer address, never by a header: a forgotten KA2_REST_OPEN=1 behind nginx opens nothing;
- 20 messages a minute per conversation, 120 per client address (`KA2_RATE_*`): 429 and Retry-After;
- `metadata`: only known keys are kept, over `KA2_MAX_METADATA_BYTES` (1 KiB) the request gets 413;
- deeply nested JSON (RecursionError in the parser) is a 400, not a 500.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from ka2 import settings

from .guard import UNAVAILABLE
from .intake import Intake, Outcome, bound_request_size, clean_metadata, client_address, is_loopback

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
    "metadata_too_large": "Le champ « metadata » est trop volumineux.",
    "unauthorized": "Accès refusé : ce canal est réservé aux intégrations (en-tête Authorization: Bearer <jeton>).",
    "throttled": "Trop de messages en peu de temps : réessayez dans {seconds} secondes, s'il vous plaît.",
}


def error(status: int, code: str, headers: Optional[Dict[str, str]] = None, **values: Any) -> HTTPResponse:
    message = MESSAGES[code].format(**values) if values else MESSAGES[code]  # some messages show JSON braces
    return response.json({"error": code, "message": message}, status=status, headers=headers)


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
    except (ValueError, RecursionError):  # RecursionError: [[[[...]]]] nested deeper than the parser goes
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
    metadata, too_large = clean_metadata(metadata)
    if too_large:
        return None, None, None, error(413, "metadata_too_large")
    return sender, message, metadata, None


def authorised(request: Request, token: Optional[str], open_on_loopback: bool) -> bool:
    """A bearer token equal to KA2_REST_TOKEN; without a token, loopback peers when KA2_REST_OPEN=1."""
    if token:
        given = request.headers.get("authorization") or ""
        scheme, _, value = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())
    # The socket's peer, not X-Forwarded-For: behind nginx every request comes from the proxy.
    return open_on_loopback and is_loopback(request.conn_info.client_ip if request.conn_info else None)


class RestInput(InputChannel):
    """Rasa's REST channel with input validation; keeps the name `rest` and its URL."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self) -> None:
        self.intake = Intake(self.name(), "rest")

    @staticmethod
    def answer(sender: str, outcome: Outcome, collector: CollectingOutputChannel) -> HTTPResponse:
        if outcome.status == "throttled":
            headers = {"Retry-After": str(outcome.retry_after)}
            return error(429, "throttled", headers=headers, seconds=outcome.retry_after)
        if outcome.status == "unavailable":
            # Nothing of the turn was stored: the client sees only the notice, not half an answer.
            return response.json([{"recipient_id": sender, "text": UNAVAILABLE}], status=503)
        if outcome.status == "refused":
            return response.json([{"recipient_id": sender, "text": outcome.reply}])
        # The conversation is rest:<sender>; the client knows it as <sender>.
        return response.json([{**message, "recipient_id": sender} for message in collector.messages])

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("ka2_rest_webhook", __name__)
        self.intake.attach(webhook)
        bound_request_size(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not authorised(request, settings.REST_TOKEN.get(), settings.REST_OPEN.get()):
                return error(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
            sender, message, metadata, failure = parse_body(request)
            if failure is not None:
                return failure
            collector = CollectingOutputChannel()
            peer = request.conn_info.client_ip if request.conn_info else None
            client = client_address(peer, request.headers.get("x-forwarded-for"))
            outcome = await self.intake.receive(on_new_message, [message], sender, collector, client, metadata)
            return self.answer(sender, outcome, collector)

        return webhook

"""Rasa's socket.io channel for the website widget, with the session room joined for real.

Rasa 3.6 calls `sio.enter_room(...)` without `await` when a client asks for a persistent session.
With python-socketio < 5.10 `enter_room` is a plain method and this works; from 5.10 on it is a
coroutine, so the room is never joined and the browser receives no reply (RasaHQ/rasa#13027).
This subclass re-registers the `session_request` handler so it works with both.

It also hardens the public socket: a browser connects only from an allowed origin
(`KA2_ALLOWED_ORIGINS`, else the origins given to `rasa run --cors`; never any origin unless "*" is
given explicitly), session ids are checked, and every user message goes through `guard.check_message`
(empty, too long, symbol-only messages and button payloads the bot never offers get a polite reply
without reaching the model; a failure of the server gets "service momentanément indisponible").
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import sys
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint

from .guard import HANDLING_ERRORS, UNAVAILABLE, DomainPolicy, check_message, describe_error, log_refusal

logger = logging.getLogger(__name__)

# Session ids become Rasa sender ids: accept the widget's random hex ids, replace anything else.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
ORIGINS_VARIABLE = "KA2_ALLOWED_ORIGINS"


def cors_origins_from_argv(argv: Sequence[str]) -> List[str]:
    """The origins given to `rasa run --cors a b ...` (the command line of this process)."""
    origins: List[str] = []
    for index, arg in enumerate(argv):
        if arg == "--cors":
            for value in argv[index + 1 :]:
                if value.startswith("-"):
                    break
                origins.append(value)
    return origins


def allowed_origins(environ: Dict[str, str] = os.environ, argv: Sequence[str] = sys.argv) -> List[str]:
    configured = environ.get(ORIGINS_VARIABLE)
    if configured is not None:
        return [o.rstrip("/") for o in re.split(r"[\s,]+", configured) if o]
    return [o.rstrip("/") for o in cors_origins_from_argv(argv)]


def origin_allowed(origin: Optional[str], allowed: Sequence[str]) -> bool:
    """A browser's Origin must be listed; clients that send none (not browsers) are not concerned by CORS."""
    if not origin:
        return True
    return "*" in allowed or origin.rstrip("/") in allowed


async def _settle(result: Any) -> None:
    # Room calls are plain methods before python-socketio 5.10 and coroutines from it on.
    if inspect.isawaitable(result):
        await result


async def join_room(sio: Any, sid: str, room: str, namespace: Optional[str]) -> None:
    """Put `sid` in `room` only: it leaves the rooms of the sessions it asked for before.

    "Recommencer" asks for a new session on the same socket; without leaving the old room, the late
    reply to a question of the previous conversation would land in the new one.
    """
    for previous in list(sio.rooms(sid, namespace=namespace) or []):
        if previous not in (sid, room):
            await _settle(sio.leave_room(sid, previous, namespace=namespace))
    await _settle(sio.enter_room(sid, room, namespace=namespace))


class SocketIOInput(rasa_socketio.SocketIOInput):
    """Stock socket.io input channel whose `session_request` handler awaits the room join."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        policy = DomainPolicy()
        policy.attach(socketio_webhook)
        origins = allowed_origins()
        stock_connect = sio.handlers.get(self.namespace or "/", {}).get("connect")

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict[str, Any], auth: Optional[Dict[str, Any]] = None) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, origins):
                logger.warning(f"socketio: connection refused from origin {origin!r} (allowed: {origins}).")
                return False
            return await stock_connect(sid, environ, auth) if stock_connect else True

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            output = rasa_socketio.SocketIOOutput(sio, self.bot_message_evt)
            data = data if isinstance(data, dict) else {}
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not SESSION_ID.fullmatch(sender_id):
                    logger.info(f"socketio: message without a valid session_id from {sid} ignored.")
                    return
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            metadata = metadata if isinstance(metadata, dict) else {}
            checked = check_message(data.get("message"), policy())
            if checked.refused:
                log_refusal(self.name(), sender_id, checked)
                await output.send_text_message(sid, checked.reply or "")
                return
            try:
                for text in checked.texts:
                    await on_new_message(
                        UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
                    )
            except HANDLING_ERRORS as failure:
                logger.error(f"socketio: the message of {sender_id!r} could not be handled: {describe_error(failure)}")
                await output.send_text_message(sid, UNAVAILABLE)

        # Registering the same event again replaces the stock handler.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Optional[Dict[str, Any]]) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            valid = isinstance(requested, str) and SESSION_ID.fullmatch(requested)
            session_id = requested if valid else uuid.uuid4().hex
            if self.session_persistence:
                await join_room(sio, sid, session_id, self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            logger.debug(f"User {sid} joined session {session_id}.")

        return socketio_webhook

"""Rasa's socket.io channel for the website widget, with the session room joined for real.

Rasa 3.6 calls `sio.enter_room(...)` without `await` when a client asks for a persistent session.
With python-socketio < 5.10 `enter_room` is a plain method and this works; from 5.10 on it is a
coroutine, so the room is never joined and the browser receives no reply (RasaHQ/rasa#13027).
This subclass re-registers the `session_request` handler so it works with both.

It also hardens the public socket:

- a client connects only with an allowed Origin (`KA2_ALLOWED_ORIGINS`, else the origins given to
  `rasa run --cors`; never any origin unless "*" is given explicitly). A client without an Origin
  header (not a browser) is refused too, unless `KA2_SOCKETIO_ALLOW_NO_ORIGIN=1`;
- a session belongs to the socket that asked for it (`session_request`): a client may propose its
  stored id (the widget does, to reconnect after a reload or a server restart), accepted when it is
  well-formed (32 to 64 characters of [A-Za-z0-9_-]) and not held by another live socket; otherwise
  the server gives a fresh one (`secrets.token_urlsafe(24)`, 192 bits). A `user_uttered` naming a
  session its socket does not hold is ignored (logged without the id);
- the conversation is `web:<session>`; the replies go to the room named by the session alone;
- a packet is at most `KA2_MAX_SOCKET_BYTES` (16 KiB; engineio's `max_http_buffer_size`); metadata
  keeps the known keys only, and is dropped above `KA2_MAX_METADATA_BYTES`;
- every message goes through the channel intake (bot/channels/intake.py): the rate limits, then
  `guard.check_message` (empty, too long, symbol-only messages and button payloads the bot never
  offers get a polite reply without reaching the model); a failure of the server gets "service
  momentanément indisponible";
- session ids never appear in INFO logs.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import secrets
import sys
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint

from ka2 import settings

from .intake import Intake, bound_request_size, clean_metadata, client_address, local, max_packet_bytes

logger = logging.getLogger(__name__)

# Session ids become conversation ids (web:<id>): the widget's 32 random hex digits (128 bits) or the
# server's token_urlsafe(24); anything shorter or odd is replaced.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32,64}")
PREFIX = "web"
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


def origin_allowed(origin: Optional[str], allowed: Sequence[str], without_origin: bool = False) -> bool:
    """A browser's Origin must be listed; a client sending none only with `without_origin` (opt-in)."""
    if not origin:
        return without_origin
    return "*" in allowed or origin.rstrip("/") in allowed


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


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


class WebchatOutput(rasa_socketio.SocketIOOutput):
    """Rasa's socket.io output, to the room of the session: the conversation id without its `web:`."""

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await super()._send_message(local(PREFIX, socket_id), response)

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        await super().send_custom_json(local(PREFIX, recipient_id), json_message, **kwargs)


class Sessions:
    """Which socket holds which session, in this process."""

    def __init__(self) -> None:
        self.session_of: Dict[str, str] = {}  # sid -> session id
        self.owner_of: Dict[str, str] = {}  # session id -> sid
        self.client_of: Dict[str, Optional[str]] = {}  # sid -> client address (None: this machine)

    def claim(self, sid: str, requested: Any) -> str:
        """The session `sid` gets: the one it proposes when free and well-formed, else a new one."""
        valid = isinstance(requested, str) and SESSION_ID.fullmatch(requested)
        owner = self.owner_of.get(requested) if valid else None
        if owner not in (None, sid):
            logger.warning("socketio: a session held by another connection was requested; a new one was given.")
        session_id = requested if valid and owner in (None, sid) else new_session_id()
        previous = self.session_of.get(sid)
        if previous and previous != session_id:
            self.owner_of.pop(previous, None)
        self.session_of[sid], self.owner_of[session_id] = session_id, sid
        return session_id

    def holds(self, sid: str, session_id: Any) -> bool:
        return isinstance(session_id, str) and self.session_of.get(sid) == session_id

    def release(self, sid: str) -> None:
        session_id = self.session_of.pop(sid, None)
        if session_id and self.owner_of.get(session_id) == sid:
            del self.owner_of[session_id]
        self.client_of.pop(sid, None)


def read_metadata(raw: Any) -> Dict[str, Any]:
    if isinstance(raw, str):
        if len(raw) > settings.MAX_METADATA_BYTES.get():
            return {}
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            return {}
    metadata, too_large = clean_metadata(raw)
    if too_large:
        logger.info("socketio: oversized metadata dropped.")
    return metadata


class SocketIOInput(rasa_socketio.SocketIOInput):
    """Stock socket.io input channel whose `session_request` handler awaits the room join."""

    def get_output_channel(self) -> Optional[WebchatOutput]:  # type: ignore[override]
        if self.sio is None:
            return None
        return WebchatOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        engine = getattr(sio, "eio", None)
        if engine is not None:  # a packet larger than this closes the socket before it is parsed
            engine.max_http_buffer_size = max_packet_bytes()
        intake = Intake(self.name(), PREFIX)
        intake.attach(socketio_webhook)
        bound_request_size(socketio_webhook)
        sessions = self.sessions = Sessions()
        origins = allowed_origins()
        stock_connect = sio.handlers.get(self.namespace or "/", {}).get("connect")

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict[str, Any], auth: Optional[Dict[str, Any]] = None) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if not origin_allowed(origin, origins, settings.SOCKET_WITHOUT_ORIGIN.get()):
                logger.warning(f"socketio: connection refused from origin {origin!r} (allowed: {origins}).")
                return False
            request = environ.get("sanic.request")
            peer = getattr(request, "ip", None) or environ.get("REMOTE_ADDR")
            sessions.client_of[sid] = client_address(peer, environ.get("HTTP_X_FORWARDED_FOR"))
            return await stock_connect(sid, environ, auth) if stock_connect else True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            sessions.release(sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            output = WebchatOutput(sio, self.bot_message_evt)
            data = data if isinstance(data, dict) else {}
            if self.session_persistence:
                local_id = data.get("session_id")
                if not sessions.holds(sid, local_id):
                    logger.info("socketio: a message naming a session its connection does not hold was ignored.")
                    return
            else:
                local_id = sid
            metadata = read_metadata(data.get(self.metadata_key))
            client = sessions.client_of.get(sid)
            outcome = await intake.receive(on_new_message, [data.get("message")], local_id, output, client, metadata)
            if outcome.reply:
                await output.send_text_message(sid, outcome.reply)

        # Registering the same event again replaces the stock handler.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Optional[Dict[str, Any]]) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = sessions.claim(sid, requested)
            if self.session_persistence:
                await join_room(sio, sid, session_id, self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        return socketio_webhook

"""Rasa's socket.io channel for the website widget, with the session room joined for real.

Rasa 3.6 calls `sio.enter_room(...)` without `await` when a client asks for a persistent session.
With python-socketio < 5.10 `enter_room` is a plain method and this works; from 5.10 on it is a
coroutine, so the room is never joined and the browser receives no reply (RasaHQ/rasa#13027).
This subclass re-registers the `session_request` handler so it works with both.
"""

from __future__ import annotations

import inspect
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint

logger = logging.getLogger(__name__)

# Session ids become Rasa sender ids: accept the widget's random hex ids, replace anything else.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


async def join_room(sio: Any, sid: str, room: str, namespace: Optional[str]) -> None:
    """Put `sid` in `room`, whether `enter_room` is synchronous (< 5.10) or a coroutine (>= 5.10)."""
    joined = sio.enter_room(sid, room, namespace=namespace)
    if inspect.isawaitable(joined):
        await joined


class SocketIOInput(rasa_socketio.SocketIOInput):
    """Stock socket.io input channel whose `session_request` handler awaits the room join."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio

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

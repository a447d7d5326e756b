"""The action server down or slow: a polite answer within a bounded time instead of silence.

Rasa 3.6 waits up to 5 minutes for the action server and, when it is down, logs a trace and sends
the user nothing. `install()` wraps `RemoteAction.run` (also used by forms for validation and their
questions): a call that fails or takes longer than `KA2_ACTION_TIMEOUT` seconds (default 10) is
logged on one line and answered with "Le service est momentanément indisponible…" as a bot message,
so it is recorded in the tracker like any answer; other custom actions of the same turn are skipped
at once (one message per turn, no second wait). The next message calls the action server again, so
the conversation resumes as soon as it is back. A rejection (a form's slot not filled) is not a fault
and passes through unchanged.

Installed when the channels package is imported (every channel of this project is in it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any, List, Optional

from rasa.core.actions import action as rasa_action
from rasa.shared.core.events import BotUttered, UserUttered

from ka2 import settings

from .errors import UNAVAILABLE, conversation_tag, describe_error

logger = logging.getLogger(__name__)

# (sender, timestamp of the user message) of the turns already told the service is unavailable.
_FAILED_TURNS: OrderedDict[tuple, None] = OrderedDict()
_MAX_REMEMBERED = 2000


def action_timeout() -> float:
    return settings.ACTION_TIMEOUT.get()


def _turn(tracker: Any) -> tuple:
    for event in reversed(getattr(tracker, "events", []) or []):
        if isinstance(event, UserUttered):
            return tracker.sender_id, event.timestamp
    return tracker.sender_id, None


def install() -> None:
    """Wrap `RemoteAction.run` once per process."""
    remote = rasa_action.RemoteAction
    if getattr(remote.run, "_ka2_bounded", False):
        return
    original = remote.run

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        turn = _turn(tracker)
        if turn in _FAILED_TURNS:
            logger.info(f"Action server unavailable: '{self.name()}' skipped for the rest of this turn.")
            return []
        try:
            return await asyncio.wait_for(original(self, output_channel, nlg, tracker, domain), action_timeout())
        except rasa_action.ActionExecutionRejection:
            raise
        except Exception as error:
            reason = f"no answer within {action_timeout():g} s" if isinstance(error, asyncio.TimeoutError) else None
            url: Optional[str] = getattr(self.action_endpoint, "url", None)
            logger.error(
                f"Action server unavailable ({url}): '{self.name()}' failed for conversation "
                f"{conversation_tag(tracker.sender_id)}, "
                f"the user was told to try again later: {reason or describe_error(error)}"
            )
            _FAILED_TURNS[turn] = None
            while len(_FAILED_TURNS) > _MAX_REMEMBERED:
                _FAILED_TURNS.popitem(last=False)
            return [BotUttered(UNAVAILABLE, metadata={"ka2_unavailable": True})]

    run._ka2_bounded = True  # type: ignore[attr-defined]
    remote.run = run  # type: ignore[method-assign]

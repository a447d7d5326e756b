"""What the server and the channels say and do when a part the conversation needs is down."""

from __future__ import annotations

import hashlib

UNAVAILABLE = (
    "Le service est momentanément indisponible. Veuillez réessayer dans quelques minutes, s'il vous plaît. "
    "Votre conversation est conservée."
)


class ServiceUnavailable(BaseException):
    """A part the conversation needs (the tracker store) is unreachable: answer "indisponible".

    A BaseException on purpose: Rasa's FailSafeTrackerStore catches every Exception of the store and
    goes on with an empty in-memory tracker, which would answer out of context and lose the turn.
    The channels catch it (HANDLING_ERRORS) and answer UNAVAILABLE instead.
    """


HANDLING_ERRORS = (Exception, ServiceUnavailable)


def conversation_tag(conversation_id: str) -> str:
    """A short, stable stand-in for a conversation id in logs (a widget's id gives access to its session)."""
    return hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:10]


def describe_error(error: BaseException) -> str:
    """One line naming an error, for logs (the tracker store or the action server is down...)."""
    message = " ".join(str(error).split())[:300]
    return f"{type(error).__module__}.{type(error).__name__}: {message}"

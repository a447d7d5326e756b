"""The one way an action speaks to the user: a `Reply` of `Message`s, sent by `Reply.send`.

A message is a text, its buttons, an optional source line (which document backs the text) or, in
place of the text, a response of the domain (chit-chat). Nothing else in bot/actions calls
`dispatcher.utter_message`: what a user sees is built here and rendered in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

Button = Dict[str, str]
Event = Dict[str, Any]


def button(title: str, payload: str) -> Button:
    """A button as every channel receives it: its title, and what a click sends back."""
    return {"title": title, "payload": payload}


def intent_button(title: str, intent: str, **entities: str) -> Button:
    """A button that sends `/intent{"entity":"value",...}`, understood without the NLU."""
    payload = "/" + intent
    if entities:
        payload += "{" + ",".join(f'"{k}":"{v}"' for k, v in entities.items()) + "}"
    return button(title, payload)


def sourced(text: str, source: str) -> str:
    """A text with its source line under it."""
    # One newline, not two: channels split a text into bubbles at blank lines, and the source
    # belongs in the same bubble as the answer it backs.
    return f"{text}\n{source}"


@dataclass
class Message:
    """One bubble: its text (or a domain response), its buttons, the source line that backs it."""

    text: str
    buttons: List[Button] = field(default_factory=list)
    response: Optional[str] = None  # a chit-chat response of the domain, sent instead of the text
    source: Optional[str] = None  # "Source : Guide du programme 2021, ..." under the text

    @property
    def full_text(self) -> str:
        return sourced(self.text, self.source) if self.source else self.text

    def as_kwargs(self) -> Dict[str, Any]:
        """The arguments of `dispatcher.utter_message` for this message."""
        if self.response:
            return {"response": self.response}
        kwargs: Dict[str, Any] = {"text": self.full_text}
        if self.buttons:
            kwargs["buttons"] = self.buttons
        return kwargs


@dataclass
class Reply:
    """What an action says (messages, in order) and the slot events it returns."""

    messages: List[Message] = field(default_factory=list)
    events: List[Event] = field(default_factory=list)

    def send(self, dispatcher: Any) -> List[Event]:
        """Utter every message, return the events for the action's `run`."""
        for message in self.messages:
            dispatcher.utter_message(**message.as_kwargs())
        return self.events


def say(dispatcher: Any, *messages: Message, events: Optional[List[Event]] = None) -> List[Event]:
    """`Reply(messages, events).send(dispatcher)`, for an action that says a few sentences."""
    return Reply(list(messages), list(events or [])).send(dispatcher)

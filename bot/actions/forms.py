"""What the forms share: telling an answer to the question asked from a side question or a command.

`AnswerForm` is the base of the forms' validation actions (project_matching.py, handoff.py): their
`extract_<slot>` methods fill a slot only from a message that answers it, so "stop", "bonjour" or
"c'est quoi un KA210 ?" asked in the middle of a form is never taken for a name or a description.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Optional

from rasa_sdk import FormValidationAction, Tracker

from ka2.knowledge import KnowledgeBase

from . import slots
from .query import latest_intent, resolve_entities, typed_text

# Messages with these intents are questions or commands, never an answer to the form.
NOT_AN_ANSWER = {
    "stop",
    "request_human",
    "bot_capabilities",
    "greet",
    "goodbye",
    "thank",
    "change_project_description",
    "start_handoff",
    "rate_answer",
}
# Intents that, when asked for an answer, mean "I did not understand you" rather than a side question.
UNCLEAR = {"nlu_fallback", "describe_project", "affirm", "deny", "dont_know", "inform_sector"}
# A question has a question mark or is short; a long statement is a description, whatever its intent.
SHORT_QUESTION_WORDS = 6


def is_side_question(intent: str, text: str) -> bool:
    """A question asked in the middle of a form, answered without leaving it."""
    asks = intent.startswith("ask_") or intent == "out_of_scope"
    return asks and intent != "ask_priority_matching" and ("?" in text or len(text.split()) <= SHORT_QUESTION_WORDS)


def sector_in_message(kb: KnowledgeBase, tracker: Tracker) -> Optional[str]:
    """The sector the latest message names, by NLU entity or by a knowledge-base synonym."""
    message = tracker.latest_message or {}
    found = resolve_entities(kb, message.get("entities") or [], typed_text(tracker)).get("sector", [])
    return found[0] if found else None


class AnswerForm(FormValidationAction):
    """A form's validation action; its subclasses name the form and extract its slots."""

    @abstractmethod
    def name(self) -> str:
        """`validate_<form>`; abstract, so that rasa_sdk does not register this base as an action."""

    @staticmethod
    def requested(tracker: Tracker) -> Optional[str]:
        """The slot the form is asking for, None before it asks."""
        return tracker.get_slot(slots.REQUESTED_SLOT)

    @classmethod
    def answer_to(cls, tracker: Tracker, slot: str) -> str:
        """What the user typed, if the form asks for `slot` and the message is no command; else ""."""
        text = typed_text(tracker)
        if cls.requested(tracker) != slot or not text or latest_intent(tracker) in NOT_AN_ANSWER:
            return ""
        return text

"""👍 / 👎 on a factual answer: stored with the question, for the staff console (`ka2-staff stats`)."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.types import DomainDict

from ka2.helpdesk_store import AnswerRating, last_question, save_feedback
from ka2.knowledge import get_knowledge_base

from . import slots
from .reply import Message, intent_button, say

RATINGS = ("up", "down")


def rating_of(tracker: Tracker) -> str:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "rating" and entity.get("value") in RATINGS:
            return str(entity["value"])
    return ""


class ActionRateAnswer(Action):
    def name(self) -> str:
        return "action_rate_answer"

    def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        rating, answer_id = rating_of(tracker), tracker.get_slot(slots.LAST_OBJECT)
        if not rating or not answer_id:
            return say(dispatcher, Message(kb.say("rating_nothing_to_rate")))
        save_feedback(
            AnswerRating(
                sender_id=tracker.sender_id,
                answer_id=answer_id,
                rating=rating,
                question=last_question(tracker.events),
                channel=tracker.get_latest_input_channel(),
            )
        )
        if rating == "up":
            return say(dispatcher, Message(kb.say("rating_thanks_up")))
        return say(
            dispatcher,
            Message(kb.say("rating_thanks_down"), [intent_button(kb.say("button_handoff_start"), "start_handoff")]),
        )

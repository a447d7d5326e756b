"""The custom actions the Rasa server calls: thin wrappers over answers.py."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from ka2.knowledge import get_knowledge_base

from . import slots
from .answers import answer, answer_clarify, answer_human_contact, answer_out_of_scope
from .query import query_from_tracker
from .rendering import rating_buttons


class ActionAnswerQuestion(Action):
    """Answers every KA2 question family from the knowledge base."""

    def name(self) -> str:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        reply = answer(kb, query_from_tracker(kb, tracker), tracker)
        if any(e.get("name") == slots.LAST_OBJECT and e.get("value") for e in reply.events):
            reply.messages[-1].buttons = reply.messages[-1].buttons + rating_buttons(kb)
        return reply.send(dispatcher)


class ActionClarify(Action):
    """Low NLU confidence: ask, with buttons to the main topics, rather than guess."""

    def name(self) -> str:
        return "action_clarify"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        return answer_clarify(kb, query_from_tracker(kb, tracker)).send(dispatcher)


class ActionAnswerOutOfScope(Action):
    """Says what the assistant covers and where else to ask."""

    def name(self) -> str:
        return "action_answer_out_of_scope"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        return answer_out_of_scope(kb, query_from_tracker(kb, tracker)).send(dispatcher)


class ActionOfferHumanContact(Action):
    """Gives the verified contacts of the agency that can help (the handoff form comes later)."""

    def name(self) -> str:
        return "action_offer_human_contact"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        return answer_human_contact(kb, query_from_tracker(kb, tracker)).send(dispatcher)

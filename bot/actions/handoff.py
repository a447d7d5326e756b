"""Handoff to a person.

A form collects the user's name, email, sector and question, then the request is stored (and notified)
for the helpdesk of the right agency.

Slots are filled by the `extract_*` methods: a side question is not taken for a name, and an
email address is recognised wherever it is in the message.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.types import DomainDict

from ka2 import settings
from ka2.helpdesk_store import HandoffRequest, conversation_summary, count_handoffs, utc_now
from ka2.knowledge import get_knowledge_base
from ka2.notify import save_and_notify

from . import slots
from .forms import AnswerForm, is_side_question, sector_in_message
from .query import latest_intent, typed_text
from .rendering import render_agency as agency_contacts
from .rendering import sector_buttons
from .reply import Message, intent_button, say

NAME, EMAIL, SECTOR, QUESTION, CONFIRMED = slots.HANDOFF_SLOTS
HANDOFF_SLOTS = list(slots.HANDOFF_SLOTS)
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
NAME_PREFIXES = re.compile(r"^(je m'appelle|je suis|moi c'est|c'est|mon nom est|mon nom c'est|nom\s*:)\s+", re.I)
MAX_NAME_CHARS = 80
MAX_QUESTION_CHARS = 2000


def find_email(text: str) -> Optional[str]:
    match = EMAIL_PATTERN.search(text or "")
    return match.group(0).strip(".").lower() if match else None


def clean_name(text: str) -> Optional[str]:
    """The name in "je m'appelle Awa Diallo", or None if the text cannot be a name."""
    name = NAME_PREFIXES.sub("", text.strip()).strip(" .!,")
    if not name or len(name) > MAX_NAME_CHARS or "@" in name or any(c.isdigit() for c in name):
        return None
    return name


class ValidateHandoffForm(AnswerForm):
    def name(self) -> str:
        return "validate_handoff_form"

    async def extract_handoff_name(self, dispatcher, tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        text, intent = self.answer_to(tracker, NAME), latest_intent(tracker)
        if not text:
            return {}
        # A bare name ("Awa Diallo") looks like nothing the assistant knows, hence out_of_scope: here
        # it is the answer, unless it is asked as a question.
        if is_side_question(intent, text) and (intent != "out_of_scope" or "?" in text):
            return {}
        return {NAME: clean_name(text) or ""}

    def validate_handoff_name(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        if value is None:
            return {}
        if not value:
            say(dispatcher, Message(get_knowledge_base().say("handoff_name_invalid")))
            return {NAME: None}
        return {NAME: value}

    async def extract_handoff_email(self, dispatcher, tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        text = typed_text(tracker)
        email = find_email(text)
        if email:
            return {EMAIL: email}
        if self.answer_to(tracker, EMAIL):
            return {EMAIL: ""}
        return {}

    def validate_handoff_email(self, value: Any, dispatcher, tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        if value is None:
            return {}
        if not find_email(value):
            say(dispatcher, Message(get_knowledge_base().say("handoff_email_invalid")))
            return {EMAIL: None}
        return {EMAIL: value}

    async def extract_handoff_sector(self, dispatcher, tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        requested = self.requested(tracker)
        if requested is None and tracker.get_slot(slots.PROJECT_SECTOR):
            return {SECTOR: tracker.get_slot(slots.PROJECT_SECTOR)}  # known from the matching dialogue
        if requested != SECTOR:
            return {}
        sector = sector_in_message(get_knowledge_base(), tracker)
        return {SECTOR: sector} if sector else {}

    async def extract_handoff_question(self, dispatcher, tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        text = self.answer_to(tracker, QUESTION)
        if not text:
            return {}
        # Here a question is the answer: the user tells the advisor what they want to know.
        return {QUESTION: text[:MAX_QUESTION_CHARS]}

    async def extract_handoff_confirmed(self, dispatcher, tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
        if self.requested(tracker) != CONFIRMED:
            return {}
        intent = latest_intent(tracker)
        return {CONFIRMED: intent == "affirm"} if intent in ("affirm", "deny") else {}


class _AskWithSentence(Action):
    """An `action_ask_<slot>` that says one sentence of knowledge/messages.yml."""

    action_name = ""
    message_key = ""

    def name(self) -> str:
        return self.action_name

    def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        return say(dispatcher, Message(get_knowledge_base().say(self.message_key)))


class ActionAskHandoffName(_AskWithSentence):
    action_name, message_key = "action_ask_handoff_name", "ask_handoff_name"


class ActionAskHandoffEmail(_AskWithSentence):
    action_name, message_key = "action_ask_handoff_email", "ask_handoff_email"


class ActionAskHandoffQuestion(_AskWithSentence):
    action_name, message_key = "action_ask_handoff_question", "ask_handoff_question"


class ActionAskHandoffSector(Action):
    def name(self) -> str:
        return "action_ask_handoff_sector"

    def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        return say(dispatcher, Message(kb.say("ask_handoff_sector"), sector_buttons(kb)))


class ActionAskHandoffConfirmed(Action):
    def name(self) -> str:
        return "action_ask_handoff_confirmed"

    def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        sector = kb.entries[tracker.get_slot(SECTOR)]
        text = kb.say(
            "handoff_summary",
            name=tracker.get_slot(NAME),
            email=tracker.get_slot(EMAIL),
            agency=kb.entries[sector["agency"]]["label"],
            question=tracker.get_slot(QUESTION),
        )
        buttons = [
            intent_button(kb.say("button_handoff_confirm"), "affirm"),
            intent_button(kb.say("button_handoff_cancel"), "deny"),
        ]
        return say(dispatcher, Message(text, buttons))


class ActionSubmitHandoff(Action):
    """Store the request (then notify the agency), and tell the user what happens next."""

    def name(self) -> str:
        return "action_submit_handoff"

    def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        reset = [SlotSet(slot, None) for slot in HANDOFF_SLOTS]
        if not tracker.get_slot(CONFIRMED):
            return say(dispatcher, Message(kb.say("handoff_cancelled")), events=reset)
        sector = kb.entries[tracker.get_slot(SECTOR)]
        agency = kb.entries[sector["agency"]]
        filed = count_handoffs(tracker.sender_id, utc_now() - dt.timedelta(days=1))
        if filed >= settings.MAX_HANDOFFS_PER_DAY.get():  # a cap per sender: no flood of the helpdesk's inbox
            limit = Message(kb.say("handoff_limit_reached", count=filed, agency=agency["label"]))
            return say(dispatcher, limit, agency_contacts(kb, agency), events=reset)
        summary = conversation_summary(tracker.events)
        request = HandoffRequest(
            sender_id=tracker.sender_id,
            name=tracker.get_slot(NAME),
            email=tracker.get_slot(EMAIL),
            question=tracker.get_slot(QUESTION),
            sector=sector["id"],
            agency_id=agency["id"],
            channel=tracker.get_latest_input_channel(),
            topic=summary.topic,
            last_messages=summary.messages,
        )
        handoff_id, _ = save_and_notify(request, kb=kb)
        saved = Message(kb.say("handoff_saved", number=handoff_id, agency=agency["label"]))
        return say(dispatcher, saved, agency_contacts(kb, agency), events=reset)


class ActionCancelHandoff(Action):
    def name(self) -> str:
        return "action_cancel_handoff"

    def run(self, dispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        events = [ActiveLoop(None), SlotSet(slots.REQUESTED_SLOT, None), *[SlotSet(s, None) for s in HANDOFF_SLOTS]]
        return say(dispatcher, Message(get_knowledge_base().say("handoff_cancelled")), events=events)

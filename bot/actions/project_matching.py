"""The priority-matching dialogue: sector, project description, organisation profile, then the result.

The form's slots are filled by the `extract_*` methods below, not by generic mappings, so that a
side question, a "stop" or a sector change is never mistaken for an answer, and so that a sector
named inside a project description does not overwrite the sector already chosen.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from ka2.knowledge import KnowledgeBase, get_knowledge_base
from ka2.matching import get_matcher

from . import slots
from .forms import NOT_AN_ANSWER, UNCLEAR, AnswerForm, is_side_question, sector_in_message
from .matching_replies import (
    ask_description,
    ask_profile,
    ask_sector,
    explain_sectors,
    render_result,
)
from .query import latest_intent, typed_text
from .rendering import has_action
from .reply import Message, Reply, intent_button, say

FORM = slots.MATCHING_FORM
SECTOR, DESCRIPTION, PROFILE, DRAFT = slots.MATCHING_SLOTS
FORM_SLOTS = list(slots.MATCHING_SLOTS)
PROFILE_BY_INTENT = {"affirm": "small", "deny": "experienced"}
UNRECOGNISED = "unrecognised"


def needs_profile(kb: KnowledgeBase, sector_id: Optional[str]) -> bool:
    """Ask about the organisation only where a small-scale partnership exists for the sector."""
    sector = kb.get(sector_id or "")
    return bool(sector) and has_action(kb, sector, "small_scale_action")


class ValidateProjectMatchingForm(AnswerForm):
    def name(self) -> str:
        return "validate_project_matching_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        slots = [SECTOR, DESCRIPTION]
        if needs_profile(get_knowledge_base(), tracker.get_slot(SECTOR)):
            slots.append(PROFILE)
        return slots

    async def extract_project_sector(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        kb = get_knowledge_base()
        requested = self.requested(tracker)
        intent = latest_intent(tracker)
        if intent in NOT_AN_ANSWER:
            return {}
        sector = sector_in_message(kb, tracker)
        # Asked for the sector, or "en fait c'est plutôt pour des jeunes" later: a (new) sector.
        # A sector word inside a project description is part of the description, not a change.
        if sector and (requested in (None, SECTOR) or intent == "inform_sector"):
            return {SECTOR: sector}
        if requested == SECTOR and intent == "dont_know":
            return {SECTOR: "dont_know"}
        if requested == SECTOR and intent in UNCLEAR:
            return {SECTOR: UNRECOGNISED}
        return {}

    def validate_project_sector(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        kb = get_knowledge_base()
        if value is None:  # cleared by a reset: nothing to check
            return {}
        if value == "dont_know":
            say(dispatcher, explain_sectors(kb))
            return {SECTOR: None}
        if value == UNRECOGNISED:
            say(dispatcher, Message(kb.say("sector_not_recognised")))
            return {SECTOR: None}
        if kb.get(value or "") is None or kb.entries[value]["type"] != "sector":
            return {SECTOR: None}
        return {SECTOR: value}

    async def extract_project_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        requested = self.requested(tracker)
        intent = latest_intent(tracker)
        text = typed_text(tracker)
        if not text or intent in NOT_AN_ANSWER or is_side_question(intent, text):
            return {}
        if requested == DESCRIPTION:
            if intent == "inform_sector" and len(text.split()) < 8:
                return {}  # a sector change, handled by extract_project_sector
            return {DESCRIPTION: text}
        # The message that opened the form may already describe the project; judged against the
        # sector it names ("une maison de jeunes"), whose own priorities it may be about.
        if requested is None and intent in {"describe_project", "ask_priority_matching"}:
            sector = tracker.get_slot(SECTOR) or sector_in_message(get_knowledge_base(), tracker)
            if not get_matcher().match(text, sector).vague:
                return {DESCRIPTION: text}
        return {}

    def validate_project_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if not value:  # cleared by a reset or a "change the description"
            return {}
        # Several short messages add up: the draft keeps what the user said so far.
        draft = tracker.get_slot(DRAFT) or ""
        full = value if not draft or draft.endswith(value) else f"{draft} {value}"
        if get_matcher().match(full, tracker.get_slot(SECTOR)).vague:
            return {DESCRIPTION: None, DRAFT: full}
        return {DESCRIPTION: full, DRAFT: full}

    async def extract_organisation_profile(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if self.requested(tracker) != PROFILE:
            return {}
        intent = latest_intent(tracker)
        if intent in PROFILE_BY_INTENT:
            return {PROFILE: PROFILE_BY_INTENT[intent]}
        return {PROFILE: UNRECOGNISED} if intent in UNCLEAR else {}

    def validate_organisation_profile(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return {PROFILE: value if value in PROFILE_BY_INTENT.values() else None}


class ActionAskProjectSector(Action):
    def name(self) -> str:
        return "action_ask_project_sector"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        return say(dispatcher, ask_sector(get_knowledge_base()))


class ActionAskProjectDescription(Action):
    def name(self) -> str:
        return "action_ask_project_description"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        return say(dispatcher, ask_description(kb, tracker.get_slot(SECTOR), bool(tracker.get_slot(DRAFT))))


class ActionAskOrganisationProfile(Action):
    def name(self) -> str:
        return "action_ask_organisation_profile"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        return say(dispatcher, ask_profile(get_knowledge_base()))


class ActionMatchPriorities(Action):
    """The result: the priorities that fit, why, the rule, the partnership type and the agency."""

    def name(self) -> str:
        return "action_match_priorities"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        sector = tracker.get_slot(SECTOR)
        description = tracker.get_slot(DESCRIPTION) or ""
        result = get_matcher().match(description, sector)
        shown = [m.priority_id for m in result.matches]
        events = [SlotSet(slots.LISTED_OBJECTS, shown)] if shown else []
        return Reply(render_result(kb, sector, result, tracker.get_slot(PROFILE)), events).send(dispatcher)


class ActionResetProjectMatching(Action):
    """Start again.

    Forget the project's answers, but not what the user said of themselves (their sector, a small or new
    organisation): the dialogue never asks what it already knows.
    """

    def name(self) -> str:
        return "action_reset_project_matching"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        known_sector = tracker.get_slot(slots.USER_SECTOR)
        return [SlotSet(SECTOR, known_sector), SlotSet(DESCRIPTION, None), SlotSet(DRAFT, None)]


class ActionChangeProjectDescription(Action):
    """Describe the project again, keeping the sector and the organisation's profile."""

    def name(self) -> str:
        return "action_change_project_description"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        return [SlotSet(DESCRIPTION, None), SlotSet(DRAFT, None)]


class ActionCancelProjectMatching(Action):
    def name(self) -> str:
        return "action_cancel_project_matching"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        kb = get_knowledge_base()
        restart = intent_button(kb.say("button_restart_matching"), "start_matching")
        events = [ActiveLoop(None), SlotSet(slots.REQUESTED_SLOT, None), *[SlotSet(slot, None) for slot in FORM_SLOTS]]
        return say(dispatcher, Message(kb.say("matching_cancelled"), [restart]), events=events)

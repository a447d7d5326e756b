"""What the user asked, read once from the tracker: intent, entities mapped to knowledge ids, context."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from ka2.knowledge import ENTITY_ENTRY_TYPES, KnowledgeBase
from ka2.understanding.interpret import Frame, Interpretation, interpret

from . import slots


@dataclass
class Query:
    intent: str
    text: str = ""  # what the user typed; empty for a button payload
    entities: Dict[str, List[str]] = field(default_factory=dict)
    last_object: Optional[str] = None
    listed: List[str] = field(default_factory=list)
    pending: Optional[str] = None
    mention: Optional[str] = None
    intent_ranking: List[Dict[str, Any]] = field(default_factory=list)
    previous_intent: Optional[str] = None
    frame: Frame = field(default_factory=Frame)
    understood: Optional[Interpretation] = None

    @property
    def kind(self) -> Optional[str]:
        return self.understood.kind if self.understood else None

    def ids(self, entity: str) -> List[str]:
        return self.entities.get(entity, [])

    def first(self, entity: str) -> Optional[str]:
        found = self.ids(entity)
        return found[0] if found else None


def resolve_entities(kb: KnowledgeBase, extracted: List[Dict[str, Any]], text: str) -> Dict[str, List[str]]:
    """Knowledge ids per entity: what the NLU extracted, else what the text names by a synonym.

    The synonym scan catches phrasings the NLU did not tag (it is built from the same synonyms), so
    a newly added synonym works before the next training.
    """
    found: Dict[str, List[str]] = {}
    for entity in extracted:
        resolved = kb.resolve(entity.get("entity", ""), str(entity.get("value") or ""))
        if resolved and resolved not in found.setdefault(entity["entity"], []):
            found[entity["entity"]].append(resolved)
    for entity in ENTITY_ENTRY_TYPES:
        if not found.get(entity) and text:
            hits = kb.find_mentions(entity, text)
            if hits:
                found[entity] = hits
    return {k: v for k, v in found.items() if v}


# A year of the programme's era (20[1-4]x); "2025 €" is an amount, not a year.
YEAR = re.compile(r"(?<![\d.,])(20[1-4]\d)(?!\d|[.,]\d|\s*(?:€|eur))", re.IGNORECASE)


def years_mentioned(text: str) -> List[int]:
    """The years a typed message names ("la date limite pour 2025 ?")."""
    return [int(y) for y in YEAR.findall(text)]


def typed_text(tracker: Tracker) -> str:
    """What the user typed in the latest message; a button payload ("/intent{...}") is not text."""
    text = (tracker.latest_message or {}).get("text") or ""
    return "" if text.startswith("/") else text.strip()


def latest_intent(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def frame_from_tracker(tracker: Tracker) -> Frame:
    entities = tracker.get_slot(slots.LAST_ENTITIES)
    return Frame(
        last_kinds=list(tracker.get_slot(slots.LAST_KINDS) or []),
        last_entities=dict(entities) if isinstance(entities, dict) else {},
        listed=list(tracker.get_slot(slots.LISTED_OBJECTS) or []),
        last_object=tracker.get_slot(slots.LAST_OBJECT),
        user_sector=tracker.get_slot(slots.USER_SECTOR),
        user_community=tracker.get_slot(slots.USER_COMMUNITY),
        small_organisation=tracker.get_slot(slots.ORGANISATION_PROFILE) == "small",
        pending=tracker.get_slot(slots.PENDING_QUESTION),
    )


def query_from_tracker(kb: KnowledgeBase, tracker: Tracker) -> Query:
    message = tracker.latest_message or {}
    # A button payload ("/intent{...}") carries its entities; its text names nothing by itself.
    text = typed_text(tracker)
    intent = (message.get("intent") or {}).get("name") or ""
    confidence = float((message.get("intent") or {}).get("confidence") or 0.0)
    nlu_entities = resolve_entities(kb, message.get("entities") or [], "")
    frame = frame_from_tracker(tracker)
    ranking = [(r.get("name") or "", float(r.get("confidence") or 0.0)) for r in message.get("intent_ranking") or []]
    understood = interpret(kb, text, intent, confidence, nlu_entities, frame, ranking)
    return Query(
        intent=intent,
        text=text,
        entities=understood.entities,
        last_object=frame.last_object,
        listed=frame.listed,
        pending=frame.pending,
        mention=tracker.get_slot(slots.MENTION),
        intent_ranking=list(message.get("intent_ranking") or []),
        previous_intent=previous_user_intent(tracker.events),
        frame=frame,
        understood=understood,
    )


def previous_user_intent(events: List[Dict[str, Any]]) -> Optional[str]:
    """The intent of the user message before the latest one (two fallbacks in a row offer a person)."""
    users = [e for e in events if e.get("event") == "user"]
    intents = [((e.get("parse_data") or {}).get("intent") or {}).get("name") for e in users]
    return intents[-2] if len(intents) >= 2 else None


__all__ = [
    "Query",
    "query_from_tracker",
    "resolve_entities",
    "typed_text",
    "years_mentioned",
    "latest_intent",
]

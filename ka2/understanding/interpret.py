"""One message understood in its conversation.

The question kinds it asks, the knowledge entities it is about, and what it says of the user, with
elliptical follow-ups resolved against the frame.

The intent classifier is one signal among three: the cues of knowledge/understanding.yml (what is
asked, in any wording), the entities found from the base itself (what it is about), and the frame
of the conversation (what was asked and shown before). Pure functions: no Rasa here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..knowledge import KnowledgeBase
from ..text import words
from .entities import find_entities
from .kinds import ordinal_index, scan_kinds
from .profile import ProfileFacts, read_profile

# The kind each trained intent asks; None: the classifier could not tell.
INTENT_KINDS: Dict[str, Optional[str]] = {
    "ask_ka2_definition": "definition",
    "ask_actions": "actions",
    "ask_action_details": "action_details",
    "ask_priorities": "priorities",
    "ask_horizontal_priorities": "horizontal",
    "ask_priority_rule": "priority_rule",
    "ask_priority_details": "priority_details",
    "ask_activities": "activities",
    "ask_where_submit": "where_submit",
    "ask_agency_contact": "contact",
    "ask_youth_rules": "youth_rules",
    "ask_funding": "funding",
    "ask_duration": "duration",
    "ask_partners": "partners",
    "ask_deadline": "deadline",
    "ask_eligibility": "eligibility",
    "ask_countries": "countries",
    "ask_selection": "selection",
    "ask_current_call": "current_call",
    "ask_more_details": "ordinal",
    "ask_not_in_base": "not_in_base",
    "ask_priority_matching": "matching",
    "describe_project": "matching",
    "inform_sector": "inform",
    "introduce_self": "introduce",
    "out_of_scope": "out_of_scope",
    "ask_topic": "topic",
    "greet": "smalltalk",
    "goodbye": "smalltalk",
    "thank": "smalltalk",
    "nlu_fallback": None,
}
# Strong cues, most specific first: the first one found is what the message asks.
CUE_ORDER = [
    "out_of_scope",
    "not_in_base",
    "coordinator",
    "priority_rule",
    "matching",
    "priority_check",
    "ka2_purpose",
    "compare",
    "partnership_type",
    "others",
    "ordinal",
    "count",
    "codes",
    "where_submit",
    "who_manages",
    "youth_rules",
    "deadline",
    "duration",
    "activities",
    "funding",
    "partners",
    "selection",
    "countries",
    "contact",
    "eligibility",
    "priorities",
    "actions",
    "definition",
]
# Cues that say only "a priority" or "what is": a more specific intent refines them.
GENERIC_CUES = {"priorities", "definition", "eligibility"}
# Kinds that can be answered together in one reply ("la date et l'endroit pour déposer ?").
COMBINABLE = {
    "where_submit",
    "deadline",
    "duration",
    "funding",
    "partners",
    "who_manages",
    "partnership_type",
    "youth_rules",
}
# Kinds about one action: an elliptical "et la durée ?" takes the action from the frame.
ACTION_KINDS = {
    "funding",
    "duration",
    "partners",
    "deadline",
    "eligibility",
    "selection",
    "codes",
    "who_manages",
    "action_details",
}
STICKY_KINDS = {"not_in_base", "out_of_scope", "current_call"}
STICKY_CONFIDENCE = 0.6
# Below this the classifier's intent is a guess; above it, it answers a message with no cue.
INTENT_TRUSTED = 0.3
FOLLOWUP_START = re.compile(r"^(?:et|alors|ok et|ok|mais|du coup|pareil)\b")
CORRECTION_START = re.compile(r"^(?:non|pardon|en fait|plutot|enfin|oups|correction|je veux dire|je voulais dire)\b")
SHORT_MESSAGE_WORDS = 7
DEMONSTRATIVE = re.compile(r"\b(?:ces|cette|cet|ceux ci|celles ci|detaill\w*|precis\w*|c est a dire)\b")
# The programme's own name: a question that says it is about KA2 is not out of scope.
KA2_NAMED = re.compile(r"\b(?:ka ?2|action cle (?:2|deux)|key action 2|ka ?2\d\d)\b")
# Entity types that say what a message is about (community and applicant say who is asking).
TOPIC_ENTITIES = ("action_type", "management", "sector", "theme", "agency", "activity", "applicant")


@dataclass
class Frame:
    """The conversation so far, as kept in slots (so it survives a restart)."""

    last_kinds: List[str] = field(default_factory=list)
    last_entities: Dict[str, List[str]] = field(default_factory=dict)
    listed: List[str] = field(default_factory=list)
    last_object: Optional[str] = None
    user_sector: Optional[str] = None
    user_community: Optional[str] = None
    small_organisation: bool = False
    pending: Optional[str] = None


@dataclass
class Interpretation:
    kinds: List[str]
    entities: Dict[str, List[str]]
    profile: ProfileFacts
    followup: bool = False
    correction: bool = False
    ordinal: Optional[int] = None
    confident: bool = True

    @property
    def kind(self) -> Optional[str]:
        return self.kinds[0] if self.kinds else None

    def ids(self, entity: str) -> List[str]:
        return self.entities.get(entity, [])


def merge_entities(*sources: Dict[str, List[str]]) -> Dict[str, List[str]]:
    merged: Dict[str, List[str]] = {}
    for source in sources:
        for entity, ids in source.items():
            bucket = merged.setdefault(entity, [])
            bucket += [i for i in ids if i not in bucket]
    return {k: v for k, v in merged.items() if v}


def choose_kinds(cues: List[str], intent_kind: Optional[str], confidence: float, names_ka2: bool = False) -> List[str]:
    """The kinds a message asks, from its strong cues and the classifier's intent."""
    trusted = intent_kind if intent_kind and confidence >= INTENT_TRUSTED else None
    if trusted == "smalltalk" and cues:
        trusted = None  # "bonjour, c'est quoi le KA2 ?" is a question, whatever its greeting
    # What the base does not hold (a grant for students, an OID number, the 2025 call): the classifier
    # knows these questions, the cues do not; a KA2 action or priority named overrides "out of scope".
    if trusted in STICKY_KINDS and confidence >= STICKY_CONFIDENCE and not (trusted == "out_of_scope" and names_ka2):
        return [trusted]
    if trusted == "out_of_scope" and names_ka2 and not cues:
        trusted = "definition"  # "le KA2, c'est pour envoyer des étudiants à l'étranger ?"
    specific = [k for k in cues if k not in GENERIC_CUES]
    if not specific:
        if trusted and trusted not in ("inform", "introduce", "topic", "out_of_scope"):
            return [trusted]
        return cues[:1] or ([trusted] if trusted else [])
    kinds = specific[:1]
    second = next((k for k in specific[1:] if k in COMBINABLE and kinds[0] in COMBINABLE), None)
    if second:
        kinds.append(second)
    return kinds


def interpret(
    kb: KnowledgeBase,
    text: str,
    intent: str,
    confidence: float,
    nlu_entities: Dict[str, List[str]],
    frame: Frame,
    ranking: Sequence[Tuple[str, float]] = (),
) -> Interpretation:
    """What the message asks and about what, with the frame filling what an elliptical message omits."""
    if not text:  # a button payload: its intent and entities say it all
        return Interpretation([INTENT_KINDS.get(intent) or "topic"], nlu_entities, ProfileFacts())
    if intent == "nlu_fallback":
        # Below the fallback threshold the classifier still ranks intents: its best guess is a signal.
        intent, confidence = next(((n, c) for n, c in ranking if n != "nlu_fallback"), ("nlu_fallback", 0.0))
    normalised = words(text)
    # The base's own forms first; the trained extractor adds the entity types they did not find.
    found = find_entities(kb, text)
    entities = merge_entities(found, {k: v for k, v in nlu_entities.items() if k not in found})
    profile = read_profile(kb, text)
    if profile.impact_sector:
        # The sector the project's impact targets decides, whatever the organisation's type.
        others = [s for s in entities.get("sector", []) if s != profile.impact_sector]
        entities["sector"] = [profile.impact_sector] + (others if not profile.organisation_sector else [])
    intent_kind = INTENT_KINDS.get(intent)
    scan = scan_kinds(kb.cues, text)
    cues = [k for k in CUE_ORDER if k in scan.strong]
    # A cue whose kind needs an entity the message does not name, or a list the conversation has not shown.
    cues = [k for k in cues if k not in NEEDS_ENTITY or any(entities.get(e) for e in NEEDS_ENTITY[k])]
    # What "la deuxième" can point to: the last list shown, else the items of the last entry shown.
    items = frame.listed or (kb.entries.get(frame.last_object or "") or {}).get("sub_items") or []
    if not items and "ordinal" in cues and not PRIORITY_CUES & set(cues):
        cues.remove("ordinal")
    names_ka2 = any(entities.get(e) for e in ("action_type", "theme", "management", "applicant")) or bool(
        KA2_NAMED.search(normalised)
    )
    kinds = choose_kinds(cues, intent_kind, confidence, names_ka2)
    if scan.weak and (not kinds or (kinds == ["not_in_base"] and confidence < STICKY_CONFIDENCE)):
        # No strong cue, an unsure classifier: a weak cue among its best guesses decides.
        guesses = [INTENT_KINDS.get(n) for n, _ in ranking[:3]]
        kinds = [k for k in scan.weak if k in guesses][:1] or kinds
    kinds = _fit_entities(kinds, entities, "priority_rule" in cues)
    if kinds[1:] == ["who_manages"] and not any(entities.get(e) for e in ("action_type", "management")):
        kinds = kinds[:1]  # "le sport, c'est quelle agence qui gère ?" asks where, once
    ordinal = ordinal_index(text) if items else None
    if "ordinal" in kinds and ordinal is None:
        # "et la troisième ?" with no list shown: the handler says so, unless the message asks something else.
        kinds = [k for k in kinds if k != "ordinal"] or [k for k in cues if k != "ordinal"][:1] or ["ordinal"]
    if ordinal is not None and not any(entities.get(e) for e in TOPIC_ENTITIES) and "ordinal" not in kinds:
        kinds = ["ordinal"]
    named = any(entities.get(e) for e in TOPIC_ENTITIES)
    short = len(normalised.split()) <= SHORT_MESSAGE_WORDS
    correction = bool(CORRECTION_START.match(normalised)) and named and bool(frame.last_kinds)
    elliptical = bool(FOLLOWUP_START.match(normalised)) or short
    followup = described = False
    weak_kinds = {None, "inform", "topic", "introduce", "out_of_scope", "definition"}
    if (
        frame.last_kinds
        and named
        and (
            correction
            or (
                elliptical
                and (not specific_cues(cues))
                and (intent_kind in weak_kinds or confidence < 0.8 or FOLLOWUP_START.match(normalised))
            )
        )
    ):
        # "et la formation pro ?", "et pour le sport ?", "non, c'est pour des adultes": the last question
        # again, about the entity just named.
        if not specific_cues(cues):
            kinds = list(frame.last_kinds)
            followup = True
    if kinds == ["definition"] and not named and frame.last_object and DEMONSTRATIVE.search(normalised):
        # "c'est quoi ces catégories ?", "tu peux détailler ?": the entry just shown, in full.
        kinds, followup = ["more"], True
    if not kinds and not named and frame.last_kinds and FOLLOWUP_START.match(normalised):
        # "et au maximum ?": the last question again, on the same entities.
        kinds, followup = list(frame.last_kinds), True
    if kinds and kinds[0] in ACTION_KINDS and not any(entities.get(e) for e in ("action_type", "management", "agency")):
        for carried_type in ("action_type", "management", "agency"):
            carried = frame.last_entities.get(carried_type)
            if carried and (elliptical or not named):
                entities[carried_type] = list(carried)
                followup = True
    if not specific_cues(cues) and "?" not in text and (profile.organisation_sector or profile.community):
        if not kinds or kinds[0] in ("inform", "introduce", "definition", "matching", "smalltalk"):
            kinds, described = ["inform"], True  # "Je suis prof dans un CEFA à Liège.": the user presents themselves
    if not kinds and named:
        kinds, described = ["definition"], True  # "excellence ?", "KA210-YOU ?": what the base says of it
    if not kinds and names_ka2:
        kinds, described = ["definition"], True
    if followup:
        # What the follow-up does not name, it keeps from the last question ("et pour le sport ?" keeps KA220).
        for entity, ids in frame.last_entities.items():
            if entity not in entities and not (correction and entity == "sector"):
                if entity == "sector" and entities.get("applicant"):
                    continue
                entities[entity] = list(ids)
    confident = bool(kinds) and (bool(cues) or confidence >= INTENT_TRUSTED or followup or described)
    return Interpretation(kinds, entities, profile, followup, correction, ordinal, confident)


# Kinds about priorities, and the entities that can be their subject.
PRIORITY_KINDS = {"priorities", "horizontal", "priority_details", "matching", "priority_check"}
PRIORITY_CUES = {"priorities", "priority_check"}
NOT_PRIORITY_SUBJECTS = ("action_type", "agency", "applicant", "management")


# Kinds that need one of these entities to be what a message asks ("un site web ?" is no contact).
NEEDS_ENTITY = {"contact": ("agency", "community"), "compare": ("action_type",)}


def _fit_entities(kinds: List[str], entities: Dict[str, List[str]], from_cue: bool) -> List[str]:
    """A priority question naming an action or an agency, and no priority, asks about that entity.

    As in "les Teacher Academies, ça rentre dans quelle action ?" or "EACEA ça veut dire quoi ?".
    """
    if kinds and kinds[0] in PRIORITY_KINDS and not entities.get("theme") and not entities.get("sector"):
        if any(entities.get(e) for e in NOT_PRIORITY_SUBJECTS):
            return ["definition"]
    if kinds == ["priority_rule"] and not from_cue and entities.get("theme"):
        return ["priorities"]  # "la petite enfance, c'est une priorité du scolaire ?" names its subject
    return kinds


def specific_cues(cues: List[str]) -> List[str]:
    return [k for k in cues if k not in GENERIC_CUES]

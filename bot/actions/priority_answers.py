"""Questions about priorities.

A sector's list, "which priority covers X?", "is X a priority of sector Y?", "in which sectors is X?",
and a project described in one message (the matcher at once, then the offer of the guided dialogue).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from ka2.knowledge import KnowledgeBase
from ka2.matching import PriorityMatch, get_matcher
from ka2.text import words
from ka2.understanding.entities import without_mentions

from .matching_replies import render_result
from .query import Query
from .rendering import Message, bullet_list, intent_button, role_button, with_source

# "c'est une priorité ?", "est-ce prioritaire ?", "ça fait partie des priorités ?": a yes/no question.
YES_NO = re.compile(
    r"\b(?:c est (?:une|dans les|dans la|bien une) priorit\w*|est ce (?:une|que c est une) priorit\w*|prioritaire|"
    r"fait partie des priorit\w*|(?:est|c est|sont) (?:couvert|concerne|vise)\w*|"
    r"une priorite (?:du|de la|de l|des|pour)|(?:is|are) .* priorit\w*)\b"
)
# "c'est quel secteur ?", "dans quels secteurs ?", "ça appartient à quel secteur ?"
WHICH_SECTOR = re.compile(
    r"\b(?:quels? secteurs?|quelle secteur|appartient|dans quels?|pour quel secteur|de quel secteur)\b"
)
# "les priorités horizontales / transversales" name the list of the four horizontal priorities.
HORIZONTAL = re.compile(r"\b(?:horizonta\w*|transversa\w*|tous les secteurs|horizontal)\b")
# "pour nous", "notre secteur": the user's own sector, said earlier.
OWN = re.compile(r"\b(?:nous|notre|nos|on|mon|ma|mes|moi|je|j|chez nous|sectorielles?)\b")
# Words of a priority question that say nothing of its subject.
QUESTION_WORDS = set(
    "priorite priorites prio prios priority priorities horizontale horizontales horizontal sectorielle sectorielles "
    "transversale transversales secteur secteurs quelle quelles quel quels ca c est rentre dans colle correspond "
    "est ce une un la le les de du des pour en a au aux svp stp quoi".split()
)
# A subject's match needs this score and a word of the user's to count ("qualité" alone does not).
SUBJECT_SCORE = 1.0


def subject_text(kb: KnowledgeBase, text: str) -> str:
    rest = without_mentions(kb, text, ("sector", "action_type"))
    return " ".join(w for w in rest.split() if w not in QUESTION_WORDS)


def subject_matches(kb: KnowledgeBase, text: str) -> List[PriorityMatch]:
    """The priorities whose keywords, synonyms or text the question's subject names."""
    subject = subject_text(kb, text)
    if not subject:
        return []
    matches = [m for m in get_matcher().match_all(subject) if m.score >= SUBJECT_SCORE and m.words]
    if not matches:
        return []
    # Near-ties only: "l'assurance qualité" is two sectors' priority; a weaker third is noise.
    return [m for m in matches if m.score >= matches[0].score * 0.75][:4]


def _scope_label(kb: KnowledgeBase, priority: Dict[str, Any]) -> str:
    if priority["scope"] == "horizontal":
        return kb.say("priority_scope_short_horizontal")
    return kb.say("priority_scope_short_sector", sector=kb.entries[priority["scope"]]["label"])


def _priority_line(kb: KnowledgeBase, priority_id: str) -> str:
    priority = kb.entries[priority_id]
    return f"**{priority['label']}** ({_scope_label(kb, priority)}) : {priority['text'].strip()}"


def _candidates(kb: KnowledgeBase, query: Query) -> List[str]:
    themes = [t for t in query.ids("theme") if kb.entries[t]["type"] == "priority"]
    found = [m.priority_id for m in subject_matches(kb, query.text)]
    return list(dict.fromkeys([*themes, *found]))


def check_priority_of_sector(kb: KnowledgeBase, query: Query, sector_id: str, candidates: List[str]) -> List[Message]:
    """ "L'employabilité, c'est une priorité du scolaire ?": oui or non, and where it is instead."""
    sector = kb.entries[sector_id]
    inside = [c for c in candidates if kb.entries[c]["scope"] in (sector_id, "horizontal")]
    own = [c for c in inside if kb.entries[c]["scope"] == sector_id]
    if own or inside:
        found = own or inside
        key = "priority_check_yes" if own else "priority_check_horizontal"
        lines = [kb.say(key, sector=sector["label"])] + [f"- {_priority_line(kb, c)}" for c in found[:2]]
    else:
        lines = [kb.say("priority_check_no", sector=sector["label"])]
        elsewhere = candidates[:3]
        if elsewhere:
            lines.append(kb.say("priority_check_elsewhere"))
            lines += [f"- {_priority_line(kb, c)}" for c in elsewhere]
    intro = kb.role("sector_priorities")
    buttons = [
        role_button(kb, "horizontal_priorities"),
        intent_button(kb.say("button_match_my_project"), "start_matching"),
    ]
    if kb.of_type("priority", scope=sector_id):
        sector_list = kb.say("button_sector_list", sector=sector["label"])
        buttons.insert(0, intent_button(sector_list, "ask_priorities", sector=sector_id))
    return [Message(with_source(kb, "\n".join(lines), intro), buttons)]


def priorities_by_sector(kb: KnowledgeBase, candidates: List[str], yes_no: bool) -> List[Message]:
    """ "L'assurance qualité, c'est pour quel secteur ?": each priority that covers it, with its sector."""
    sectors = list(dict.fromkeys(_scope_label(kb, kb.entries[c]) for c in candidates))
    key = "priority_found_several" if len(sectors) > 1 else "priority_found_one"
    first = kb.say(key, count=len(sectors), scopes=", ".join(sectors))
    if yes_no:
        first = kb.say("verdict_yes") + " " + first
    lines = [first] + [f"- {_priority_line(kb, c)}" for c in candidates]
    source = kb.entries[candidates[0]]
    buttons = [
        role_button(kb, "priority_rule"),
        intent_button(kb.say("button_match_my_project"), "start_matching"),
    ]
    return [Message(with_source(kb, "\n".join(lines), source), buttons)]


# A project is described when its subject has this many words beyond the sector and the question.
DESCRIPTION_WORDS = 2


def direct_match(kb: KnowledgeBase, query: Query, sector_id: Optional[str]) -> Optional[List[Message]]:
    """A project described in the question: the best priorities at once, then the guided dialogue."""
    if len(subject_text(kb, query.text).split()) < DESCRIPTION_WORDS:
        return None
    result = get_matcher().match(query.text, sector_id)
    if result.vague or not result.matches:
        return None
    profile = "small" if query.frame.small_organisation or query.understood and query.understood.profile.small else None
    messages = render_result(kb, sector_id, result, profile)
    messages[-1].buttons = [intent_button(kb.say("button_guided_matching"), "start_matching")] + [
        b for b in messages[-1].buttons if "change_project_description" not in b["payload"]
    ][:2]
    return messages


def priority_sector(kb: KnowledgeBase, query: Query) -> Optional[str]:
    """The sector whose priorities are asked: named, else the user's own when they say "nous"."""
    named = [s for s in query.ids("sector") if kb.of_type("priority", scope=s)]
    if named:
        return named[0]
    own = query.frame.user_sector
    if own and kb.of_type("priority", scope=own) and (OWN.search(words(query.text)) or not query.text):
        return own
    return None


def priority_question(kb: KnowledgeBase, query: Query) -> Optional[List[Message]]:
    """The answer to a priority question about a subject, or None when it asks for a plain list."""
    text = words(query.text)
    if not text:
        return None
    candidates = _candidates(kb, query)
    sector_id = priority_sector(kb, query)
    # "C'est une priorité pour le sport ?": a sector without priorities of its own has the horizontal ones.
    checked = sector_id or next(iter(query.ids("sector")), None)
    if candidates and checked and YES_NO.search(text):
        return check_priority_of_sector(kb, query, checked, candidates)
    if candidates and (WHICH_SECTOR.search(text) or YES_NO.search(text)) and not sector_id:
        return priorities_by_sector(kb, candidates, bool(YES_NO.search(text)))
    matched = direct_match(kb, query, sector_id)
    if matched:
        return matched
    if candidates and sector_id:
        in_sector = [c for c in candidates if kb.entries[c]["scope"] in (sector_id, "horizontal")]
        if in_sector:
            return priorities_by_sector(kb, in_sector, False)
    if candidates and not (HORIZONTAL.search(text) and not query.ids("theme")):
        if HORIZONTAL.search(text):
            candidates = [c for c in candidates if kb.entries[c]["scope"] == "horizontal"] or candidates
        return priorities_by_sector(kb, candidates, False)
    return None


def count_priorities(kb: KnowledgeBase, sector_id: Optional[str]) -> Message:
    if sector_id:
        sector = kb.entries[sector_id]
        own = kb.of_type("priority", scope=sector_id)
        text = kb.say("priority_count_sector", sector=sector["label"], count=len(own))
        intro = kb.role("sector_priorities")
        return Message(with_source(kb, f"{text}\n{bullet_list(p['label'] for p in own)}", intro))
    horizontal = kb.of_type("priority", scope="horizontal")
    topic = kb.role("horizontal_priorities")
    text = kb.say("priority_count_horizontal", count=len(horizontal))
    return Message(with_source(kb, f"{text}\n{bullet_list(p['label'] for p in horizontal)}", topic))

"""Answers to KA2 questions, built from the knowledge base: one pure function per question family."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk.events import SlotSet
from rasa_sdk.knowledge_base.storage import KnowledgeBase as SdkKnowledgeBase
from rasa_sdk.knowledge_base.utils import resolve_mention

from .knowledge import KnowledgeBase, entity_entries
from .query import (
    SLOT_LAST_OBJECT,
    SLOT_LAST_OBJECT_TYPE,
    SLOT_LISTED_OBJECTS,
    SLOT_MENTION,
    SLOT_PENDING_QUESTION,
    Query,
    years_mentioned,
)
from .rendering import (
    Message,
    bullet_list,
    button_for,
    intent_button,
    related_buttons,
    render_agency,
    render_entry,
    render_sector_priorities,
    render_submission,
    render_submission_choice,
    sector_buttons,
    with_source,
)

# Which fact attribute each question family asks about.
ATTRIBUTE_BY_INTENT = {
    "ask_funding": "funding",
    "ask_duration": "duration",
    "ask_partners": "partners",
    "ask_deadline": "deadline",
    "ask_eligibility": "eligibility",
    "ask_selection": "selection",
}
# rasa_sdk's ordinal mapping ("1".."10", "LAST"); French ordinals map to these keys by NLU synonyms.
ORDINAL_MENTIONS = SdkKnowledgeBase().ordinal_mention_mapping


@dataclass
class Reply:
    messages: List[Message]
    events: List[Dict[str, Any]] = field(default_factory=list)


def _remember(entry_ids: List[str], kb: KnowledgeBase, listed: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """Slots that let the user refer back ("et la deuxième ?", "et la durée ?")."""
    events = [SlotSet(SLOT_MENTION, None), SlotSet(SLOT_PENDING_QUESTION, None)]
    if entry_ids:
        last = kb.entries[entry_ids[0]]
        events += [SlotSet(SLOT_LAST_OBJECT, last["id"]), SlotSet(SLOT_LAST_OBJECT_TYPE, last["type"])]
    if listed:
        events.append(SlotSet(SLOT_LISTED_OBJECTS, listed))
    return events


def answer_entry(kb: KnowledgeBase, entry_id: str) -> Reply:
    entry = kb.entries[entry_id]
    listed = [item["id"] for item in kb.listed(entry)]
    if entry["type"] == "topic" and listed and not entry.get("related"):
        buttons = [button_for(kb, item) for item in listed[:4]]
        return Reply([render_entry(kb, entry, buttons)], _remember([entry_id], kb, listed))
    return Reply([render_entry(kb, entry)], _remember([entry_id], kb, listed or None))


def main_topic_buttons(kb: KnowledgeBase) -> List[Dict[str, str]]:
    return [button_for(kb, e["id"]) for e in kb.of_type("topic") if e.get("intent")][:4]


def answer_topic(kb: KnowledgeBase, query: Query) -> Reply:
    """A button payload naming an entry, or a question family answered by one topic."""
    entry_id = query.first("topic") if query.first("topic") in kb.entries else None
    topic = kb.get(entry_id) if entry_id else kb.topic_for_intent(query.intent)
    if topic is None:
        return answer_clarify(kb, query)
    return answer_entry(kb, topic["id"])


def answer_actions(kb: KnowledgeBase, query: Query) -> Reply:
    overview = kb.entries["topic.actions_overview"]
    wanted = query.ids("management")
    groups = [e for e in entity_entries(kb, "management") if not wanted or e["id"] in wanted]
    if len(groups) == 1:
        return answer_entry(kb, groups[0]["id"])
    lines = [overview["answer"].strip()]
    listed: List[str] = []
    for group in groups:
        items = kb.listed(group)
        listed += [i["id"] for i in items]
        lines.append(f"{group['answer']}\n{bullet_list(i['label'] for i in items)}")
    buttons = [button_for(kb, i) for i in ("action.cooperation", "action.small_scale", "topic.centralised_actions")]
    return Reply(
        [Message(with_source(kb, "\n\n".join(lines), overview), buttons)], _remember([overview["id"]], kb, listed)
    )


def answer_action_details(kb: KnowledgeBase, query: Query) -> Reply:
    actions = query.ids("action_type")
    if not actions:
        return answer_actions(kb, query)
    if len(actions) == 1:
        return answer_entry(kb, actions[0])
    # "quelle différence entre KA220 et KA210 ?": each action named, side by side; buttons once, at the end.
    rendered = [answer_entry(kb, action_id).messages[0] for action_id in actions]
    messages = [Message(f"**{kb.entries[a]['label']}**\n{m.text}") for a, m in zip(actions, rendered, strict=True)]
    messages[-1].buttons = rendered[-1].buttons
    return Reply(messages, _remember([], kb))


def _actions_in_context(kb: KnowledgeBase, query: Query) -> List[str]:
    if query.ids("action_type"):
        return query.ids("action_type")
    last = kb.get(query.last_object or "")
    if last and last["type"] == "action":
        return [last["id"]]
    if last and last["type"] == "fact":
        return [last["about"]]
    return [a["id"] for a in kb.of_type("action", management="decentralised")]


def _with_website(agency: Dict[str, Any]) -> str:
    return f"{agency['label']} ({agency['website']})" if agency.get("website") else agency["label"]


def agency_names(kb: KnowledgeBase, agency_ids: List[str]) -> str:
    """ "BIJ (Bureau International Jeunesse) (https://www.lebij.be), AEF-Europe (...)": whom to ask."""
    return ", ".join(
        kb.say("fact_unknown_eacea") if a == "agency.eacea" else _with_website(kb.entries[a]) for a in agency_ids
    )


def agencies_asked(kb: KnowledgeBase, query: Query) -> List[str]:
    """The agencies a question names, else those of the sectors it names, else the two national agencies."""
    agencies = query.ids("agency") or [kb.entries[s]["agency"] for s in query.ids("sector")]
    return list(dict.fromkeys(agencies)) or ["agency.bij", "agency.aef_europe"]


def described_years(kb: KnowledgeBase) -> str:
    return ", ".join(str(y) for y in kb.years)


def answer_not_in_base(kb: KnowledgeBase, query: Query) -> Reply:
    """A KA2 question the base has no verified answer to (OID, payments, reports...): say so, name whom to ask."""
    names = agency_names(kb, agencies_asked(kb, query))
    text = kb.say("not_in_base", years=described_years(kb), agencies=names)
    return Reply([Message(text, handoff_buttons(kb) + main_topic_buttons(kb)[:2])], _remember([], kb))


def answer_fact(kb: KnowledgeBase, query: Query) -> Reply:
    attribute = ATTRIBUTE_BY_INTENT[query.intent]
    messages: List[Message] = []
    answered: List[str] = []
    for action_id in _actions_in_context(kb, query):
        action = kb.entries[action_id]
        fact = kb.fact(action_id, attribute)
        if fact:
            text = f"**{action['label']}**\n" + render_entry(kb, fact).text
            messages.append(Message(text))
            answered.append(fact["id"])
        else:
            names = agency_names(kb, action["managed_by"])
            messages.append(Message(kb.say("fact_unknown", action=action["label"], agencies=names)))
    last_fact = kb.get(answered[-1]) if answered else None
    buttons = related_buttons(kb, last_fact) if last_fact else [button_for(kb, "topic.current_call")]
    messages[-1].buttons = buttons
    focus = answered[:1] if len(answered) == 1 else []
    return Reply(messages, _remember(focus, kb))


def answer_priorities(kb: KnowledgeBase, query: Query) -> Reply:
    sectors = [s for s in query.ids("sector") if kb.of_type("priority", scope=s)]
    if sectors:
        sector = kb.entries[sectors[0]]
        own = [p["id"] for p in kb.of_type("priority", scope=sector["id"])]
        return Reply(render_sector_priorities(kb, sector), _remember([sector["id"]], kb, own))
    overview = kb.entries["topic.priorities_overview"]
    first = render_entry(kb, overview, buttons=[])
    choose = Message(
        kb.say("choose_sector_for_priorities"),
        [
            intent_button(s["label"], "ask_priorities", sector=s["id"])
            for s in kb.of_type("sector")
            if kb.of_type("priority", scope=s["id"])
        ]
        + [intent_button(kb.say("button_match_my_project"), "ask_priority_matching")],
    )
    listed = [p["id"] for p in kb.listed(overview)]
    return Reply([first, choose], _remember([overview["id"]], kb, listed))


def answer_priority_details(kb: KnowledgeBase, query: Query) -> Reply:
    themes = query.ids("theme")
    if not themes:
        return answer_entry(kb, "topic.horizontal_priorities")
    return answer_entry(kb, themes[0])


def answer_activities(kb: KnowledgeBase, query: Query) -> Reply:
    activities = query.ids("activity")
    return answer_entry(kb, activities[0] if activities else "topic.activities")


def ask_for_sector(kb: KnowledgeBase, intent: str) -> Reply:
    question = Message(kb.say("ask_sector_for_submission"), sector_buttons(kb))
    return Reply([question], [SlotSet(SLOT_PENDING_QUESTION, intent)])


def answer_where_submit(kb: KnowledgeBase, query: Query) -> Reply:
    sectors = query.ids("sector")
    if not sectors:
        return ask_for_sector(kb, "ask_where_submit")
    if len(sectors) > 1:
        chosen = [kb.entries[s] for s in sectors]
        return Reply([render_submission_choice(kb, chosen)], _remember(["topic.where_submit"], kb))
    return Reply([render_submission(kb, kb.entries[sectors[0]])], _remember([sectors[0]], kb))


def answer_inform_sector(kb: KnowledgeBase, query: Query) -> Reply:
    if not query.ids("sector"):
        return answer_clarify(kb, query)
    if query.pending == "ask_priorities":
        return answer_priorities(kb, query)
    return answer_where_submit(kb, query)


def answer_agency_contact(kb: KnowledgeBase, query: Query) -> Reply:
    agencies = agencies_asked(kb, query)
    return Reply([render_agency(kb, kb.entries[a]) for a in agencies[:2]], _remember(agencies[:1], kb))


def answer_more_details(kb: KnowledgeBase, query: Query, tracker: Any = None) -> Reply:
    """ "Et la deuxième ?": rasa_sdk's mention resolution over the last list shown."""
    target = resolve_mention(tracker, ORDINAL_MENTIONS) if tracker is not None else None
    if target is None and query.mention in ORDINAL_MENTIONS and query.listed:
        try:
            target = ORDINAL_MENTIONS[query.mention](query.listed)
        except IndexError:
            target = None
    if target in kb.entries:
        return answer_entry(kb, target)
    return Reply([Message(kb.say("mention_unresolved"), main_topic_buttons(kb))], [SlotSet(SLOT_MENTION, None)])


def handoff_buttons(kb: KnowledgeBase) -> List[Dict[str, str]]:
    return [intent_button(kb.say("button_handoff_start"), "start_handoff")]


def answer_clarify(kb: KnowledgeBase, query: Query) -> Reply:
    if query.intent == "nlu_fallback" and query.previous_intent == "nlu_fallback":
        # Two misunderstandings in a row: offer a person rather than a third guess.
        buttons = handoff_buttons(kb) + main_topic_buttons(kb)[:3]
        return Reply([Message(kb.say("second_fallback_offer"), buttons)])
    return Reply([Message(kb.say("clarify"), main_topic_buttons(kb))])


def answer_out_of_scope(kb: KnowledgeBase, query: Query) -> Reply:
    text = kb.say(
        "out_of_scope",
        bij_site=kb.entries["agency.bij"]["website"],
        aef_site=kb.entries["agency.aef_europe"]["website"],
    )
    return Reply([Message(text, main_topic_buttons(kb)[:3])])


def answer_human_contact(kb: KnowledgeBase, query: Query) -> Reply:
    """The agencies' verified contacts, then the offer to be contacted back by an advisor."""
    contacts = answer_agency_contact(kb, query)
    offer = Message(
        kb.say("handoff_offer"),
        handoff_buttons(kb) + [intent_button(kb.say("button_handoff_no"), "deny")],
    )
    return Reply([Message(kb.say("human_contact"))] + contacts.messages + [offer], contacts.events)


HANDLERS: Dict[str, Callable[[KnowledgeBase, Query], Reply]] = {
    "ask_topic": answer_topic,
    "ask_actions": answer_actions,
    "ask_action_details": answer_action_details,
    "ask_priorities": answer_priorities,
    "ask_priority_details": answer_priority_details,
    "ask_activities": answer_activities,
    "ask_where_submit": answer_where_submit,
    "inform_sector": answer_inform_sector,
    "ask_agency_contact": answer_agency_contact,
    "ask_more_details": answer_more_details,
    "ask_not_in_base": answer_not_in_base,
    **{intent: answer_fact for intent in ATTRIBUTE_BY_INTENT},
}


def with_year_notice(kb: KnowledgeBase, query: Query, reply: Reply) -> Reply:
    """Say first when the user asks about a call the base does not describe ("pour 2025 ?")."""
    if query.intent == "ask_current_call":  # its answer is precisely what the base says of later calls
        return reply
    asked = years_mentioned(query.text)
    if not asked or set(asked) & set(kb.years) or not kb.years:
        return reply  # "2021-2027" names the described call: no notice
    notice = kb.say(
        "year_not_covered",
        asked=" et ".join(str(y) for y in dict.fromkeys(asked)),
        years=described_years(kb),
    )
    return Reply([Message(notice)] + reply.messages, reply.events)


def answer(kb: KnowledgeBase, query: Query, tracker: Any = None) -> Reply:
    """The reply to a KA2 question; topics named by `intent` in the base need no handler."""
    if query.intent == "ask_more_details":
        return answer_more_details(kb, query, tracker)
    handler = HANDLERS.get(query.intent, answer_topic)
    return with_year_notice(kb, query, handler(kb, query))

"""Answers to KA2 questions, built from the knowledge base: one pure function per question family."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.knowledge_base.storage import KnowledgeBase as SdkKnowledgeBase
from rasa_sdk.knowledge_base.utils import resolve_mention

from ka2.knowledge import KnowledgeBase, entity_entries
from ka2.routing import community_agency
from ka2.rules import check_case, other_action_fits, read_case
from ka2.text import words
from ka2.understanding.interpret import KA2_NAMED
from ka2.understanding.kinds import ordinal_index
from ka2.understanding.retrieval import nearest_entries

from . import slots
from .matching_replies import partnership_advice
from .priority_answers import HORIZONTAL, count_priorities, direct_match, priority_question, priority_sector
from .query import Query, years_mentioned
from .rendering import (
    MAX_BUTTONS,
    Message,
    agency_phrase,
    bullet_list,
    button_for,
    intent_button,
    related_buttons,
    render_agency,
    render_entry,
    render_sector_priorities,
    role_button,
    sector_buttons,
    with_source,
)
from .reply import Reply
from .submission_answers import where_to_submit, who_manages

# Which fact attribute each question family asks about.
ATTRIBUTE_BY_KIND = {kind: kind for kind in ("funding", "duration", "partners", "deadline", "eligibility", "selection")}
# Kinds whose answer is no question to come back to ("et pour l'école ?" does not repeat them).
FRAMELESS_KINDS = {
    "ordinal",
    "more",
    "others",
    "count",
    "topic",
    "inform",
    "introduce",
    "out_of_scope",
    "not_in_base",
    "smalltalk",
    "fallback",
}
FRAME_ENTITIES = ("action_type", "management", "sector", "theme", "agency", "applicant", "activity")
# The priority-matching form, started when a project is not described enough to match at once.
MATCHING_FORM = slots.MATCHING_FORM
MATCHING_SECTOR_SLOT = slots.PROJECT_SECTOR
# Not the organisation's profile: what the user said of themselves outlives the form.
MATCHING_FORM_SLOTS = (
    slots.PROJECT_SECTOR,
    slots.PROJECT_DESCRIPTION,
    slots.PROJECT_DESCRIPTION_DRAFT,
    slots.REQUESTED_SLOT,
)
# rasa_sdk's ordinal mapping ("1".."10", "LAST"); French ordinals map to these keys by NLU synonyms.
ORDINAL_MENTIONS = SdkKnowledgeBase().ordinal_mention_mapping


def _remember(entry_ids: List[str], kb: KnowledgeBase, listed: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """Slots that let the user refer back ("et la deuxième ?", "et la durée ?")."""
    events = [SlotSet(slots.MENTION, None), SlotSet(slots.PENDING_QUESTION, None)]
    if entry_ids:
        last = kb.entries[entry_ids[0]]
        events += [SlotSet(slots.LAST_OBJECT, last["id"]), SlotSet(slots.LAST_OBJECT_TYPE, last["type"])]
    if listed:
        events.append(SlotSet(slots.LISTED_OBJECTS, listed))
    return events


def remember_frame(query: Query, reply: Reply) -> Reply:
    """The question kinds and entities just answered, and what the user said of themselves."""
    understood = query.understood
    if understood is None:
        return reply
    events = list(reply.events)
    answered = [k for k in understood.kinds if k not in FRAMELESS_KINDS]
    if answered:
        events.append(SlotSet(slots.LAST_KINDS, answered))
        kept = {k: v for k, v in understood.entities.items() if k in FRAME_ENTITIES}
        events.append(SlotSet(slots.LAST_ENTITIES, kept))
    profile = understood.profile
    sector = profile.impact_sector or profile.organisation_sector
    if sector and (profile.organisation_sector or understood.correction or query.kind in ("inform", "introduce")):
        events.append(SlotSet(slots.USER_SECTOR, sector))
    elif query.kind in ("inform", "introduce") and understood.ids("sector"):
        events.append(SlotSet(slots.USER_SECTOR, understood.ids("sector")[0]))
    if profile.community:
        events.append(SlotSet(slots.USER_COMMUNITY, profile.community))
    if profile.small:
        events.append(SlotSet(slots.ORGANISATION_PROFILE, "small"))
    return Reply(reply.messages, events)


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
    overview = kb.role("actions_overview")
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
    buttons = [role_button(kb, r) for r in ("cooperation_action", "small_scale_action", "centralised_actions")]
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
    executive = kb.role("executive_agency")["id"]
    return ", ".join(
        kb.say("fact_unknown_eacea") if a == executive else _with_website(kb.entries[a]) for a in agency_ids
    )


def agencies_asked(kb: KnowledgeBase, query: Query) -> List[str]:
    """The agencies a question names, else those of the sectors it names, else the two national agencies."""
    agencies = query.ids("agency") or [kb.entries[s]["agency"] for s in query.ids("sector")]
    return list(dict.fromkeys(agencies)) or list(kb.national_agencies)


def described_years(kb: KnowledgeBase) -> str:
    return ", ".join(str(y) for y in kb.years)


def answer_not_in_base(kb: KnowledgeBase, query: Query) -> Reply:
    """A KA2 question the base has no verified answer to (OID, payments, reports...): say so, name whom to ask."""
    names = agency_names(kb, agencies_asked(kb, query))
    text = kb.say("not_in_base", years=described_years(kb), agencies=names)
    return Reply([Message(text, handoff_buttons(kb) + main_topic_buttons(kb)[:2])], _remember([], kb))


def answer_fact(kb: KnowledgeBase, query: Query) -> Reply:
    attribute = ATTRIBUTE_BY_KIND[query.kind or ""]
    if attribute == "deadline" and query.ids("applicant"):
        return answer_entry(kb, query.ids("applicant")[0])
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
    buttons = related_buttons(kb, last_fact) if last_fact else [role_button(kb, "current_call")]
    messages[-1].buttons = buttons
    focus = answered[:1] if len(answered) == 1 else []
    # A fact with items ("les deux dates") becomes what "la deuxième ?" points to.
    items = bool(focus) and bool(kb.entries[focus[0]].get("sub_items"))
    return Reply(messages, _remember(focus, kb) + ([SlotSet(slots.LISTED_OBJECTS, [])] if items else []))


def answer_priorities(kb: KnowledgeBase, query: Query) -> Reply:
    sectors = [s for s in query.ids("sector") if kb.of_type("priority", scope=s)]
    if sectors:
        sector = kb.entries[sectors[0]]
        own = [p["id"] for p in kb.of_type("priority", scope=sector["id"])]
        return Reply(render_sector_priorities(kb, sector), _remember([sector["id"]], kb, own))
    overview = kb.role("priorities_overview")
    first = render_entry(kb, overview, buttons=[])
    choose = Message(
        kb.say("choose_sector_for_priorities"),
        [
            intent_button(s["label"], "ask_priorities", sector=s["id"])
            for s in kb.of_type("sector")
            if kb.of_type("priority", scope=s["id"])
        ]
        + [intent_button(kb.say("button_match_my_project"), "start_matching")],
    )
    listed = [p["id"] for p in kb.listed(overview)]
    return Reply([first, choose], _remember([overview["id"]], kb, listed))


def answer_activities(kb: KnowledgeBase, query: Query) -> Reply:
    activities = query.ids("activity")
    reply = answer_entry(kb, activities[0] if activities else kb.role("activities_overview")["id"])
    actions = [a for a in query.ids("action_type") if a in kb.entries]
    if actions and not activities:
        # "Dans un petit partenariat, les activités ?": what the base says of that action's format too.
        action = answer_entry(kb, actions[0])
        return Reply([Message(reply.messages[0].text)] + action.messages, reply.events)
    return reply


def answer_inform_sector(kb: KnowledgeBase, query: Query) -> Reply:
    if not query.ids("sector"):
        return answer_clarify(kb, query)
    if query.pending == "ask_priorities":
        return answer_priorities(kb, query)
    return answer_where_kind(kb, query)


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
    return Reply([Message(kb.say("mention_unresolved"), main_topic_buttons(kb))], [SlotSet(slots.MENTION, None)])


def handoff_buttons(kb: KnowledgeBase) -> List[Dict[str, str]]:
    return [intent_button(kb.say("button_handoff_start"), "start_handoff")]


def answer_clarify(kb: KnowledgeBase, query: Query) -> Reply:
    if query.intent == "nlu_fallback" and query.previous_intent == "nlu_fallback":
        # Two misunderstandings in a row: offer a person rather than a third guess.
        buttons = handoff_buttons(kb) + main_topic_buttons(kb)[:3]
        return Reply([Message(kb.say("second_fallback_offer"), buttons)])
    guesses = nearest_entries(kb, query.text) if query.text else []
    agencies = agency_names(kb, agencies_asked(kb, query))
    if guesses:
        text = kb.say("best_guesses", agencies=agencies)
        return Reply([Message(text, [button_for(kb, g) for g in guesses])], _remember([], kb))
    return Reply([Message(kb.say("clarify", agencies=agencies), main_topic_buttons(kb))])


def answer_out_of_scope(kb: KnowledgeBase, query: Query) -> Reply:
    text = kb.say("out_of_scope")
    return Reply([Message(text, main_topic_buttons(kb)[:3])])


def answer_human_contact(kb: KnowledgeBase, query: Query) -> Reply:
    """The agencies' verified contacts, then the offer to be contacted back by an advisor."""
    contacts = answer_agency_contact(kb, query)
    offer = Message(
        kb.say("handoff_offer"),
        handoff_buttons(kb) + [intent_button(kb.say("button_handoff_no"), "deny")],
    )
    return Reply([Message(kb.say("human_contact"))] + contacts.messages + [offer], contacts.events)


def answer_where_kind(kb: KnowledgeBase, query: Query) -> Reply:
    message = where_to_submit(kb, query)
    if message is not None:
        return Reply([message], _remember([], kb))
    # Nothing says the sector: the rule, then the question with one button per sector.
    rule = kb.role("where_submit")
    text = with_source(kb, rule["answer"].strip(), rule) + "\n" + kb.say("ask_sector_for_submission")
    return Reply([Message(text, sector_buttons(kb))], [SlotSet(slots.PENDING_QUESTION, "ask_where_submit")])


def answer_who_manages(kb: KnowledgeBase, query: Query) -> Reply:
    if query.ids("management") and not query.ids("action_type"):
        return answer_actions(kb, replace(query, entities={**query.entities, "management": []}))
    message = who_manages(kb, query)
    if message is None:
        return answer_actions(kb, query)
    return Reply([message], _remember(query.ids("action_type")[:1], kb))


def answer_kind_topic(kb: KnowledgeBase, query: Query) -> Reply:
    topic = kb.topic_for_kind(query.kind or "")
    return answer_entry(kb, topic["id"]) if topic else answer_clarify(kb, query)


def answer_count(kb: KnowledgeBase, query: Query) -> Reply:
    sector_id = priority_sector(kb, query)
    if sector_id or HORIZONTAL.search(words(query.text)) or not query.listed:
        return Reply([count_priorities(kb, sector_id)], _remember([], kb))
    labels = [kb.entries[i]["label"] for i in query.listed if i in kb.entries]
    text = kb.say("list_count", count=len(labels)) + "\n" + bullet_list(labels)
    return Reply([Message(text, [button_for(kb, i) for i in query.listed[:MAX_BUTTONS] if i in kb.entries])])


def _code_with_sector(kb: KnowledgeBase, code: str) -> str:
    sector = next((s for s in kb.of_type("sector") if code in s.get("codes", [])), None)
    return f"{code} ({sector['label'].lower()})" if sector else code


def answer_codes(kb: KnowledgeBase, query: Query) -> Reply:
    actions = query.ids("action_type") or [a["id"] for a in kb.of_type("action") if a.get("codes")]
    sectors = query.ids("sector")
    messages: List[Message] = []
    for action_id in actions:
        action = kb.entries[action_id]
        codes = action.get("codes") or []
        if not codes:
            continue
        if sectors:
            sector = kb.entries[sectors[0]]
            shared = [c for c in codes if c in sector.get("codes", [])]
            if not shared:
                others = ", ".join(sector.get("codes", [])) or kb.say("no_code")
                label = action["label"][0].lower() + action["label"][1:]
                text = kb.say("codes_none_in_sector", action=label, sector=sector["label"], codes=others)
                messages.append(Message(with_source(kb, text, sector)))
                continue
            codes = shared
        text = (
            kb.say("codes_intro", action=action["label"])
            + " "
            + ", ".join(_code_with_sector(kb, c) for c in codes)
            + "."
        )
        messages.append(Message(with_source(kb, text, action)))
    if not messages and sectors:
        sector = kb.entries[sectors[0]]
        codes = ", ".join(sector.get("codes", [])) or kb.say("no_code")
        messages.append(
            Message(with_source(kb, kb.say("codes_of_sector", sector=sector["label"], codes=codes), sector))
        )
    if not messages:
        return answer_actions(kb, query)
    messages[-1].buttons = related_buttons(kb, kb.entries[actions[0]])
    return Reply(messages, _remember(actions[:1], kb))


COMPARED_ATTRIBUTES = ("partners", "duration", "funding")


def answer_compare(kb: KnowledgeBase, query: Query) -> Reply:
    """ "KA210 ou KA220 ?": for each action, who it is for and its partners, duration and amount."""
    actions = query.ids("action_type")
    if len(actions) == 1:
        management = kb.entries[actions[0]]["management"]
        actions += [a["id"] for a in kb.of_type("action", management=management) if a["id"] not in actions]
    messages = []
    for action_id in actions[:2]:
        action = kb.entries[action_id]
        lines = [f"**{action['label']}**", action["answer"].strip()]
        for attribute in COMPARED_ATTRIBUTES:
            fact = kb.fact(action_id, attribute)
            if fact:
                lines.append(f"- {fact['label']} : {fact['answer'].strip()}")
        messages.append(Message(with_source(kb, "\n".join(lines), action)))
    if not messages:
        return answer_actions(kb, query)
    messages[-1].buttons = [button_for(kb, a) for a in actions[:2]]
    return Reply(messages, _remember([], kb))


def _min_partners(kb: KnowledgeBase, action_id: str) -> int:
    return ((kb.fact(action_id, "partners") or {}).get("rule") or {}).get("min_organisations", 1_000)


def answer_partnership_type(kb: KnowledgeBase, query: Query) -> Reply:
    """ "Quel type de partenariat ?".

    The small-scale one for a new or small organisation where the sector has it, else the comparison of the
    two decentralised formats.
    """
    understood = query.understood
    small = query.frame.small_organisation or bool(understood and understood.profile.small)
    sector_id = next(iter(query.ids("sector")), None) or query.frame.user_sector
    sector = kb.entries.get(sector_id or "")
    advice = partnership_advice(kb, sector, "small" if small else None) if sector else None
    if advice is None and small:
        # The lighter format: the decentralised action that needs the fewest partners.
        action = min(kb.of_type("action", management="decentralised"), key=lambda a: _min_partners(kb, a["id"]))
        advice = Message(with_source(kb, kb.say("matching_small_scale", summary=action["summary"]), action))
    comparison = answer_compare(
        kb,
        replace(
            query,
            entities={
                **query.entities,
                "action_type": [a["id"] for a in kb.of_type("action", management="decentralised")],
            },
        ),
    )
    messages = ([advice] if advice else []) + comparison.messages
    return Reply(messages, comparison.events)


def eligibility_verdict(kb: KnowledgeBase, query: Query) -> Optional[Message]:
    """ "Un partenariat à petite échelle en enseignement supérieur ?": an action has no code in the sector."""
    actions = query.ids("action_type")
    sectors = query.ids("sector") or ([query.frame.user_sector] if query.frame.user_sector else [])
    if len(actions) != 1 or not sectors:
        return None
    action, sector = kb.entries[actions[0]], kb.entries[sectors[0]]
    # Only a sector coded like the actions ("KA220-HED", not the sport call's code) can lack one.
    families = {code.split("-")[0] for a in kb.of_type("action") for code in a.get("codes", [])}
    sector_families = {code.split("-")[0] for code in sector.get("codes", [])}
    if not action.get("codes") or not sector_families & families or set(action["codes"]) & set(sector["codes"]):
        return None
    label = action["label"][0].lower() + action["label"][1:]
    text = kb.say("action_not_in_sector", action=label, sector=sector["label"])
    others = [a for a in kb.of_type("action") if set(a.get("codes", [])) & set(sector["codes"])]
    if others:
        text += " " + kb.say("action_instead", action=others[0]["label"])
    return Message(with_source(kb, text, action))


def answer_others(kb: KnowledgeBase, query: Query) -> Reply:
    """ "Et les autres ?": the entries of the same type that the last list did not show."""
    shown = [kb.entries[i] for i in query.listed if i in kb.entries]
    if not shown:
        return answer_clarify(kb, query)
    rest = [e["id"] for e in kb.of_type(shown[0]["type"]) if e["id"] not in query.listed]
    topic = next((t for t in kb.of_type("topic") if t.get("lists") and [e["id"] for e in kb.listed(t)] == rest), None)
    if topic:
        return answer_entry(kb, topic["id"])
    labels = [kb.entries[i]["label"] for i in rest]
    return Reply(
        [Message(bullet_list(labels), [button_for(kb, i) for i in rest[:MAX_BUTTONS]])], _remember([], kb, rest)
    )


def answer_ordinal(kb: KnowledgeBase, query: Query, tracker: Any = None) -> Reply:
    index = query.understood.ordinal if query.understood else None
    last = kb.get(query.last_object or "")
    if index is not None and query.listed:
        try:
            return answer_entry(kb, query.listed[index])
        except IndexError:
            pass
    elif index is not None and last and last.get("sub_items"):
        # "pour la deuxième ?" after the two KA210 deadlines: that item of the entry just shown.
        items = last["sub_items"]
        if -len(items) <= index < len(items):
            text = f"**{last['label']}**\n{items[index].rstrip(' ;.')}."
            return Reply([Message(with_source(kb, text, last), related_buttons(kb, last))], [])
    return answer_more_details(kb, query, tracker)


def answer_more(kb: KnowledgeBase, query: Query) -> Reply:
    last = kb.get(query.last_object or "")
    return answer_entry(kb, last["id"]) if last else answer_clarify(kb, query)


def answer_definition(kb: KnowledgeBase, query: Query) -> Reply:
    """ "C'est quoi X ?".

    The entry X names, else the definition of the KA2 (also when the KA2 is named beside a priority or an
    activity mentioned in passing).
    """
    named_ka2 = bool(KA2_NAMED.search(words(query.text)))
    entity_types = ("applicant", "action_type", "agency", "management") + (() if named_ka2 else ("theme", "activity"))
    for entity in entity_types:
        if query.ids(entity):
            return answer_entry(kb, query.ids(entity)[0])
    return answer_entry(kb, kb.topic_for_intent("ask_ka2_definition")["id"])


def answer_priority_kind(kb: KnowledgeBase, query: Query) -> Reply:
    index = ordinal_index(query.text)
    if index is not None and not query.ids("theme"):
        # "priorité horizontale numéro 1 ?": that item of the list the question names.
        sector_id = priority_sector(kb, query)
        listed = kb.of_type("priority", scope=sector_id or "horizontal")
        if -len(listed) <= index < len(listed):
            return answer_entry(kb, listed[index]["id"])
    messages = priority_question(kb, query)
    if messages:
        return Reply(messages, _remember([], kb))
    if query.kind == "horizontal" or (HORIZONTAL.search(words(query.text)) and not query.ids("sector")):
        return answer_entry(kb, kb.topic_for_intent("ask_horizontal_priorities")["id"])
    if query.kind == "priority_details" and query.ids("theme"):
        return answer_entry(kb, query.ids("theme")[0])
    sector_id = priority_sector(kb, query)
    return answer_priorities(
        kb, replace(query, entities={**query.entities, "sector": [sector_id] if sector_id else []})
    )


def answer_matching(kb: KnowledgeBase, query: Query) -> Reply:
    """A project described at once gets its priorities at once; otherwise the guided dialogue starts."""
    sector_id = priority_sector(kb, query) or query.frame.user_sector
    messages = direct_match(kb, query, sector_id) or priority_question(kb, query)
    if messages:
        return Reply(messages, _remember([], kb))
    events: List[Dict[str, Any]] = [SlotSet(slot, None) for slot in MATCHING_FORM_SLOTS]
    if sector_id:
        events.append(SlotSet(MATCHING_SECTOR_SLOT, sector_id))
    return Reply([], events + [FollowupAction(MATCHING_FORM)])


def answer_inform(kb: KnowledgeBase, query: Query) -> Reply:
    """A sector or an organisation given alone: the pending question, else what it means for the user."""
    if query.pending and query.ids("sector"):
        return answer_inform_sector(kb, query)
    understood = query.understood
    sector_id = (understood.profile.impact_sector or (query.ids("sector") or [None])[0]) if understood else None
    community = (query.ids("community") or [None])[0]
    if sector_id:
        routing_query = replace(query, entities={**query.entities, "sector": [sector_id]})
        where = where_to_submit(kb, routing_query)
        sector = kb.entries[sector_id]
        agency = community_agency(kb, community, sector["agency"])
        text = kb.say("profile_noted", sector=sector["label"], agency=agency_phrase(kb, agency))
        buttons = [
            intent_button(kb.say("button_sector_priorities"), "ask_priorities", sector=sector_id),
            intent_button(kb.say("button_match_my_project"), "start_matching"),
            role_button(kb, "ka2_definition"),
        ]
        return Reply([Message(where.text if where and community else text, buttons)], _remember([], kb))
    if community:
        entry = kb.entries[community]
        return Reply([Message(with_source(kb, entry["answer"].strip(), entry), main_topic_buttons(kb))])
    return answer_clarify(kb, query)


def answer_countries(kb: KnowledgeBase, query: Query) -> Reply:
    """The 2021 country labels; with an action named, that action's rule on partner countries first."""
    topic = answer_entry(kb, kb.topic_for_intent("ask_countries")["id"])
    actions = [a for a in query.ids("action_type") if kb.fact(a, "partners")]
    if not actions:
        return topic
    partners = answer_entry(kb, kb.fact(actions[0], "partners")["id"])
    return Reply([Message(partners.messages[0].text)] + topic.messages, partners.events)


def answer_smalltalk(kb: KnowledgeBase, query: Query) -> Reply:
    """Greetings, thanks, goodbyes: the domain's own response (utter_greet, utter_thank...)."""
    return Reply([Message("", response=f"utter_{query.intent}")])


KIND_HANDLERS: Dict[str, Callable[[KnowledgeBase, Query], Reply]] = {
    "smalltalk": answer_smalltalk,
    "countries": answer_countries,
    "definition": answer_definition,
    "actions": answer_actions,
    "action_details": answer_action_details,
    "priorities": answer_priority_kind,
    "horizontal": answer_priority_kind,
    "priority_details": answer_priority_kind,
    "priority_check": answer_priority_kind,
    "activities": answer_activities,
    "where_submit": answer_where_kind,
    "who_manages": answer_who_manages,
    "contact": answer_agency_contact,
    "count": answer_count,
    "codes": answer_codes,
    "coordinator": answer_kind_topic,
    "ka2_purpose": answer_kind_topic,
    "compare": lambda kb, query: answer_compare(kb, query),
    "partnership_type": answer_partnership_type,
    "others": answer_others,
    "more": answer_more,
    "not_in_base": answer_not_in_base,
    "matching": answer_matching,
    "inform": answer_inform,
    "introduce": answer_inform,
    "out_of_scope": answer_out_of_scope,
    "topic": answer_topic,
    **{kind: answer_fact for kind in ATTRIBUTE_BY_KIND},
}
# Kinds answered by the topic whose `intent` names them in knowledge/topics.yml.
TOPIC_INTENT_BY_KIND = {
    "priority_rule": "ask_priority_rule",
    "youth_rules": "ask_youth_rules",
    "current_call": "ask_current_call",
}


def with_year_notice(kb: KnowledgeBase, query: Query, reply: Reply) -> Reply:
    """Say first when the user asks about a call the base does not describe ("pour 2025 ?")."""
    if query.intent == "ask_current_call":  # its answer is precisely what the base says of later calls
        return reply
    asked = years_mentioned(query.text)
    start = read_case(kb, query.text).start if asked else None
    if start and start[0] in asked:
        asked.remove(start[0])  # "commencer en janvier 2022" names a project's start, not a call
    if not asked or set(asked) & set(kb.years) or not kb.years:
        return reply  # "2021-2027" names the described call: no notice
    notice = kb.say(
        "year_not_covered",
        asked=" et ".join(str(y) for y in dict.fromkeys(asked)),
        years=described_years(kb),
    )
    later = kb.topic_for_intent("ask_current_call")
    if later and max(asked) > max(kb.years):
        notice += "\n" + later["answer"].strip()
    return Reply([Message(notice)] + reply.messages, reply.events)


def _answer_kind(kb: KnowledgeBase, query: Query, kind: str, tracker: Any) -> Reply:
    if kind in ("action_details", "definition", "eligibility", "where_submit"):
        verdict = eligibility_verdict(kb, query)
        if verdict is not None:
            return Reply([verdict], _remember(query.ids("action_type")[:1], kb))
    if kind == "ordinal":
        return answer_ordinal(kb, query, tracker)
    if kind in TOPIC_INTENT_BY_KIND:
        topic = kb.topic_for_intent(TOPIC_INTENT_BY_KIND[kind])
        return answer_entry(kb, topic["id"]) if topic else answer_clarify(kb, query)
    return KIND_HANDLERS.get(kind, answer_topic)(kb, query)


# Kinds whose answer starts with the user's own case checked against the rules, when they give values.
CASE_KINDS = {
    "deadline",
    "partners",
    "countries",
    "eligibility",
    "duration",
    "funding",
    "action_details",
    "definition",
    "compare",
    "topic",
}


def case_verdicts(kb: KnowledgeBase, query: Query) -> List[Message]:
    """ "Un KA210 de 30 mois ?", "90 000 € ?", "un partenaire marocain ?": oui or non, the rule, the way out."""
    if not query.text or query.kind not in CASE_KINDS:
        return []
    case = read_case(kb, query.text)
    if case.months is None and case.amount is None and case.organisations is None and not case.countries:
        if case.start is None:
            return []
    actions = [a for a in query.ids("action_type") if kb.fact(a, "partners") or kb.fact(a, "duration")]
    if not actions:
        actions = [a["id"] for a in kb.of_type("action", management="decentralised")]
    messages = []
    for action_id in actions[:2]:
        verdicts = sorted(check_case(kb, action_id, case), key=lambda v: v.ok)
        if not verdicts:
            continue
        # A country's own note ("ne fait plus partie des pays participant") comes first, once.
        notes = list(dict.fromkeys(v.values["note"] for v in verdicts if v.values.get("note")))
        lines = notes + [kb.say(v.key, **{**v.values, "note": ""}).strip() for v in verdicts]
        other = other_action_fits(kb, action_id, case) if not any(v.ok for v in verdicts) else None
        if other and len(actions) == 1:
            lines.append(
                kb.say("rule_other_action", action=kb.entries[other].get("short") or kb.entries[other]["label"])
            )
        attribute = (
            "duration"
            if case.months is not None
            else "funding"
            if case.amount is not None
            else "deadline"
            if case.start is not None and not case.countries and case.organisations is None
            else "partners"
        )
        source = kb.fact(action_id, attribute) or kb.entries[action_id]
        messages.append(Message(with_source(kb, "\n".join(lines), source)))
    return messages


def answer(kb: KnowledgeBase, query: Query, tracker: Any = None) -> Reply:
    """The reply to a KA2 question: each question kind the message asks, from the knowledge base."""
    understood = query.understood
    if understood is None or not understood.kinds:
        return answer_clarify(kb, query)
    if not understood.confident:
        return answer_clarify(kb, query)
    replies = [
        _answer_kind(kb, replace(query, understood=replace(understood, kinds=[k])), k, tracker)
        for k in understood.kinds
    ]
    verdicts = case_verdicts(kb, query)
    messages = verdicts + [m for r in replies for m in r.messages]
    for message in messages[:-1]:
        if len(replies) > 1 or verdicts:
            message.buttons = []
    events = [e for r in replies for e in r.events]
    return remember_frame(query, with_year_notice(kb, query, Reply(messages, events)))

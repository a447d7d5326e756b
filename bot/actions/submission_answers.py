"""Where to submit and who manages what.

The routing rule of ka2.routing, said the way an agency would ("Déposez auprès du BIJ : ..."), with a
verdict when the user proposed an agency.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from ka2.knowledge import KnowledgeBase
from ka2.routing import Routing, community_agency, route
from ka2.text import words

from .query import Query
from .rendering import (
    MAX_BUTTONS,
    Message,
    agency_phrase,
    button_for,
    intent_button,
    related_buttons,
    role_button,
    with_source,
)

DECENTRALISED_ASKED = re.compile(r"\b(?:decentralis\w*|agences? nationales?|niveau (?:belge|national)|en belgique)\b")
CENTRALISED_ASKED = re.compile(r"\b(?:(?<!de)centralis\w*|niveau europeen|directement)\b")


def _verdict(kb: KnowledgeBase, proposed: List[str], agencies: List[str]) -> str:
    """ "Oui." / "Non." when the user proposed agencies ("c'est le BIJ ?", "au BIJ ou à l'AEF ?")."""
    if not proposed or len(proposed) > 1:
        return ""
    return kb.say("verdict_yes" if proposed[0] in agencies else "verdict_no") + " "


def _routing_text(kb: KnowledgeBase, routing: Routing) -> str:
    agency = routing.agencies[0] if routing.agencies else None
    values: Dict[str, Any] = {"agency": agency_phrase(kb, agency) if agency else ""}
    if routing.sector:
        values["sector"] = kb.entries[routing.sector]["label"]
    if routing.community:
        values["community"] = kb.entries[routing.community]["label"]
    if routing.action:
        values["action"] = kb.entries[routing.action]["label"]
    if routing.reason == "route_applicant":
        return kb.entries[routing.applicant]["answer"].strip()
    if routing.reason == "route_community":
        return kb.entries[routing.community]["answer"].strip()
    return kb.say(routing.reason, **values)


def _submission_source(kb: KnowledgeBase, routing: Routing) -> Dict[str, Any]:
    for entry_id in (
        routing.applicant,
        routing.community if routing.reason != "route_sector" else None,
        routing.action,
    ):
        if entry_id:
            return kb.entries[entry_id]
    return kb.role("where_submit")


def render_choice(kb: KnowledgeBase, routing: Routing) -> Message:
    """Several sectors named: the rule (the sector the impact targets most decides), then each one's agency."""
    rule = kb.role("where_submit")
    lines = [kb.say("submit_several_sectors")]
    agencies = []
    for sector_id in routing.choices:
        sector = kb.entries[sector_id]
        agency = community_agency(kb, routing.community, sector["agency"])
        agencies.append(agency)
        lines.append(kb.say("submit_if_sector", sector=sector["label"], agency=agency_phrase(kb, agency)))
    buttons = [button_for(kb, a) for a in dict.fromkeys(agencies)]
    return Message(with_source(kb, "\n".join(lines), rule), buttons[:MAX_BUTTONS])


def where_to_submit(kb: KnowledgeBase, query: Query) -> Optional[Message]:
    """The agency for the user's case, or None when the question says nothing to decide it."""
    understood = query.understood
    sectors = query.ids("sector") or ([query.frame.user_sector] if query.frame.user_sector else [])
    community = (query.ids("community") or [query.frame.user_community or ""])[0] or None
    routing = route(kb, sectors, query.ids("action_type"), query.ids("applicant"), community)
    if routing is None:
        return None
    if routing.reason == "route_several_sectors":
        return render_choice(kb, routing)
    proposed = [a for a in query.ids("agency") if kb.entries[a]["type"] == "agency"] if understood else []
    text = _verdict(kb, proposed, routing.agencies) + _routing_text(kb, routing)
    lines = [text]
    for agency_id in routing.agencies[:2]:
        agency = kb.entries[agency_id]
        if agency.get("website"):
            lines.append(kb.say("agency_contact_line", kind=kb.say("contact_kind_website"), value=agency["website"]))
    buttons = [button_for(kb, a) for a in routing.agencies[:2]]
    if routing.sector and kb.of_type("priority", scope=routing.sector):
        buttons.insert(0, intent_button(kb.say("button_sector_priorities"), "ask_priorities", sector=routing.sector))
    buttons += [role_button(kb, "coordinator_submits")]
    return Message(with_source(kb, "\n".join(lines), _submission_source(kb, routing)), buttons[:MAX_BUTTONS])


def _managed_line(kb: KnowledgeBase, action: Dict[str, Any]) -> str:
    key = "manages_centralised" if action["management"] == "centralised" else "manages_decentralised"
    return kb.say(key, action=action["label"])


def _management_verdict(kb: KnowledgeBase, text: str, actions: List[Dict[str, Any]]) -> str:
    if len(actions) != 1:
        return ""
    centralised = actions[0]["management"] == "centralised"
    if DECENTRALISED_ASKED.search(text):
        return kb.say("verdict_no" if centralised else "verdict_yes") + " "
    if CENTRALISED_ASKED.search(text):
        return kb.say("verdict_yes" if centralised else "verdict_no") + " "
    return ""


def who_manages(kb: KnowledgeBase, query: Query) -> Optional[Message]:
    """ "Les alliances, c'est géré par qui ?": each action named, decentralised or centralised, and by whom."""
    actions = [kb.entries[a] for a in query.ids("action_type")]
    if not actions:  # with an action named, "décentralisé ?" is what is asked of it, not a subject
        for topic_id in query.ids("management"):
            actions += [a for a in kb.listed(kb.entries[topic_id]) if a not in actions]
    if not actions:
        agencies = [a for a in query.ids("agency") if kb.entries[a].get("managed_by") is None]
        managed = [a for a in kb.of_type("action") if set(a["managed_by"]) & set(agencies)]
        if not managed:
            return None
        agency = kb.entries[agencies[0]]
        name = agency["article"].capitalize() + agency["short"] if agency["article"] != "l'" else "L'" + agency["short"]
        lines = [kb.say("agency_manages", agency=name)] + [f"- {a['label']}" for a in managed]
        buttons = [button_for(kb, a["id"]) for a in managed[:MAX_BUTTONS]]
        return Message(with_source(kb, "\n".join(lines), agency), buttons)
    text = words(query.text)
    lines = [_management_verdict(kb, text, actions) + _managed_line(kb, actions[0])]
    lines += [_managed_line(kb, a) for a in actions[1:4]]
    buttons = related_buttons(kb, actions[0])
    return Message(with_source(kb, "\n".join(lines), actions[0]), buttons)

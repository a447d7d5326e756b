"""The priority-matching dialogue's messages, built from the knowledge base (pure functions)."""

from __future__ import annotations

from typing import Dict, List, Optional

from ka2.knowledge import KnowledgeBase
from ka2.matching import MatchResult, PriorityMatch

from .rendering import Message, agency_phrase, has_action, intent_button, sector_buttons, with_source
from .reply import button

RESTART_PAYLOAD = "/start_matching"
CHANGE_DESCRIPTION_PAYLOAD = "/change_project_description"


def ask_sector(kb: KnowledgeBase) -> Message:
    dont_know = intent_button(kb.say("button_dont_know_sector"), "dont_know")
    return Message(kb.say("ask_project_sector"), sector_buttons(kb) + [dont_know])


def explain_sectors(kb: KnowledgeBase) -> Message:
    lines = [kb.say("sector_help")]
    for sector in kb.of_type("sector"):
        agency = kb.entries[sector["agency"]]
        lines.append(kb.say("sector_help_line", sector=sector["label"], agency=agency["label"]))
    rule = kb.role("where_submit")
    return Message(with_source(kb, "\n".join(lines), rule))


def ask_description(kb: KnowledgeBase, sector_id: Optional[str], asked_before: bool) -> Message:
    if asked_before:
        return Message(kb.say("project_description_too_short", example=kb.say("project_description_example")))
    return Message(kb.say("ask_project_description"))


def ask_profile(kb: KnowledgeBase) -> Message:
    return Message(
        kb.say("ask_organisation_profile"),
        [
            intent_button(kb.say("button_profile_small"), "affirm"),
            intent_button(kb.say("button_profile_experienced"), "deny"),
        ],
    )


def quoted(words: List[str]) -> str:
    return ", ".join(f"« {w} »" for w in words)


def render_match(kb: KnowledgeBase, rank: int, match: PriorityMatch) -> Message:
    priority = kb.entries[match.priority_id]
    scope = (
        kb.say("matching_scope_horizontal")
        if priority["scope"] == "horizontal"
        else kb.say("matching_scope_sector", sector=kb.entries[priority["scope"]]["label"])
    )
    # Horizontal priorities have a long text: their one-sentence summary reads better in a chat.
    wording = (priority.get("summary") or priority["text"]).strip()
    values = dict(rank=rank, label=priority["label"], scope=scope, text=wording[0].upper() + wording[1:])
    if match.words:
        text = kb.say("matching_item", words=quoted(list(match.words)), **values)
    else:
        text = kb.say("matching_item_meaning", **values)
    return Message(with_source(kb, text, priority))


def render_result(
    kb: KnowledgeBase, sector_id: Optional[str], result: MatchResult, profile: Optional[str]
) -> List[Message]:
    end_buttons = [
        button(kb.say("button_change_description"), CHANGE_DESCRIPTION_PAYLOAD),
        button(kb.say("button_restart_matching"), RESTART_PAYLOAD),
    ]
    if result.vague or not result.matches:
        return [Message(kb.say("matching_no_result"), end_buttons)]
    sector = kb.entries[sector_id] if sector_id in kb.entries else None
    rule = kb.role("priority_rule")
    intro = kb.say("matching_intro", count=len(result.matches), year=rule["year"]) + "\n" + kb.say("matching_rule")
    messages = [Message(with_source(kb, intro, rule))]
    messages += [render_match(kb, rank, match) for rank, match in enumerate(result.matches, start=1)]
    partnership = partnership_advice(kb, sector, profile)
    if partnership:
        messages.append(partnership)
    if sector:
        messages.append(submission_advice(kb, sector))
    if sector and kb.of_type("priority", scope=sector["id"]):
        end_buttons.insert(0, intent_button(kb.say("button_sector_priorities"), "ask_priorities", sector=sector["id"]))
    messages[-1].buttons = end_buttons
    return messages


def partnership_advice(kb: KnowledgeBase, sector: Optional[Dict], profile: Optional[str]) -> Optional[Message]:
    """Small-scale where the organisation said it is new or small and the sector has KA210."""
    if not sector:
        return None
    has_small_scale = has_action(kb, sector, "small_scale_action")
    if profile == "small" and has_small_scale:
        action = kb.role("small_scale_action")
        return Message(with_source(kb, kb.say("matching_small_scale", summary=action["summary"]), action))
    if has_action(kb, sector, "cooperation_action"):
        action = kb.role("cooperation_action")
        key = "matching_cooperation" if has_small_scale else "matching_cooperation_only"
        return Message(with_source(kb, kb.say(key, summary=action["summary"]), action))
    return None


def submission_advice(kb: KnowledgeBase, sector: Dict) -> Message:
    agency = kb.entries[sector["agency"]]
    rule = kb.role("where_submit")
    key = "matching_submit_eacea" if agency["id"] == kb.role("executive_agency")["id"] else "matching_submit"
    text = kb.say(key, sector=sector["label"], agency=agency_phrase(kb, agency["id"]))
    if agency.get("website"):
        text += "\n" + kb.say("agency_contact_line", kind=kb.say("contact_kind_website"), value=agency["website"])
    return Message(with_source(kb, text, rule))

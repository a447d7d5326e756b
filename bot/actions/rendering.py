"""Turn knowledge entries into chat messages: short text, a source line, follow-up buttons.

Pure functions over the knowledge base; channel-specific formatting happens in the channels.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from ka2.knowledge import KnowledgeBase, topic_payload
from ka2.wording import body, bullet_list, source_line

from .reply import Button, Message, button, intent_button, sourced

# Re-exported: the answers build messages from here (and staff/search.py reads body and source_line).
__all__ = ["Button", "Message", "body", "bullet_list", "intent_button", "source_line"]
MAX_BUTTONS = 4


def button_for(kb: KnowledgeBase, entry_id: str) -> Button:
    entry = kb.entries[entry_id]
    return button(entry.get("button", entry["label"]), topic_payload(entry_id))


def role_button(kb: KnowledgeBase, role: str) -> Button:
    """The button to the entry playing `role` (knowledge/schema.yml)."""
    return button_for(kb, kb.role(role)["id"])


def has_action(kb: KnowledgeBase, sector: Dict[str, Any], role: str) -> bool:
    """Whether the action playing `role` exists in the sector (they share a code: KA210-YOU)."""
    return bool(set(kb.role(role).get("codes", [])) & set(sector.get("codes", [])))


def related_buttons(kb: KnowledgeBase, entry: Dict[str, Any], exclude: Iterable[str] = ()) -> List[Button]:
    skip = set(exclude) | {entry["id"]}
    targets = [target for target in entry.get("related", []) if target not in skip][:MAX_BUTTONS]
    buttons = [button_for(kb, target) for target in targets]
    # Two entries may share a short button text ("Combien de partenaires ?" for each action): the user
    # could not tell them apart, so those buttons show the entries' own labels instead.
    titles = [b["title"] for b in buttons]
    for target, shown in zip(targets, buttons, strict=False):
        if titles.count(shown["title"]) > 1:
            shown["title"] = kb.entries[target]["label"]
    return buttons


def with_source(kb: KnowledgeBase, text: str, entry: Dict[str, Any]) -> str:
    """The text with the entry's source line under it, as `Message(text, source=...)` renders it."""
    return sourced(text, source_line(kb, entry))


def render_entry(kb: KnowledgeBase, entry: Dict[str, Any], buttons: Optional[List[Button]] = None) -> Message:
    """The standard answer for one entry, whatever its type."""
    if entry["type"] == "priority":
        return render_priority(kb, entry)
    if entry["type"] == "agency":
        return render_agency(kb, entry)
    if entry["type"] == "sector":
        return render_submission(kb, entry)
    if buttons is None:
        buttons = related_buttons(kb, entry)
    return Message(with_source(kb, body(kb, entry), entry), buttons)


def render_priority(kb: KnowledgeBase, priority: Dict[str, Any]) -> Message:
    if priority["scope"] == "horizontal":
        scope = kb.say("priority_scope_horizontal", year=priority["year"])
        buttons = [role_button(kb, "horizontal_priorities"), role_button(kb, "priority_rule")]
    else:
        sector = kb.entries[priority["scope"]]
        scope = kb.say("priority_scope_sector", sector=sector["label"], year=priority["year"])
        buttons = [
            intent_button(sector["label"], "ask_priorities", sector=sector["id"]),
            role_button(kb, "horizontal_priorities"),
            role_button(kb, "priority_rule"),
        ]
    text = f"**{priority['label']}**\n{priority['text']}\n{scope}"
    return Message(with_source(kb, text, priority), buttons)


def render_sector_priorities(kb: KnowledgeBase, sector: Dict[str, Any]) -> List[Message]:
    """A sector's priorities, then the horizontal ones and the rule, as short messages."""
    intro = kb.role("sector_priorities")
    own = kb.of_type("priority", scope=sector["id"])
    horizontal = kb.of_type("priority", scope="horizontal")
    rule = kb.role("priority_rule")
    first = kb.say("sector_priorities_intro", year=intro["year"], sector=sector["label"])
    return [
        Message(with_source(kb, f"{first}\n{bullet_list(p['label'] for p in own)}", intro)),
        Message(f"{kb.say('horizontal_addition')}\n{bullet_list(p['label'] for p in horizontal)}"),
        Message(
            with_source(kb, rule["answer"].strip(), rule),
            [
                intent_button(kb.say("button_match_my_project"), "start_matching"),
                intent_button(kb.role("where_submit")["button"], "ask_where_submit", sector=sector["id"]),
                role_button(kb, "horizontal_priorities"),
            ],
        ),
    ]


def agency_phrase(kb: KnowledgeBase, agency_id: str, preposition: str = "auprès de") -> str:
    """ "auprès du **BIJ**", "auprès de l'**AEF-Europe**"."""
    agency = kb.entries[agency_id]
    plain = kb.with_article(preposition, agency_id)
    return plain[: len(plain) - len(agency["short"])] + f"**{agency['short']}**"


def render_submission(kb: KnowledgeBase, sector: Dict[str, Any]) -> Message:
    agency = kb.entries[sector["agency"]]
    rule = kb.role("where_submit")
    key = "route_sector" if agency["id"] in kb.national_agencies else "route_sector_european"
    # The answer for this sector only: restating the general rule would name the other agency.
    lines = [kb.say(key, sector=sector["label"], agency=agency_phrase(kb, agency["id"]))]
    if agency.get("website"):
        lines.append(kb.say("agency_contact_line", kind=kb.say("contact_kind_website"), value=agency["website"]))
    buttons = [button_for(kb, agency["id"])]
    if kb.of_type("priority", scope=sector["id"]):
        buttons.insert(0, intent_button(kb.say("button_sector_priorities"), "ask_priorities", sector=sector["id"]))
    buttons.extend(related_buttons(kb, rule, exclude=[agency["id"]]))
    return Message(with_source(kb, "\n".join(lines), rule), buttons[:MAX_BUTTONS])


def render_agency(kb: KnowledgeBase, agency: Dict[str, Any]) -> Message:
    full_name = agency.get("full_name", "")
    title = f"**{agency['label']}**" + (f" – {full_name}" if full_name and full_name not in agency["label"] else "")
    lines = [title, agency["answer"].strip()]
    kinds = ("website", "email", "phone", "address")
    contacts = [(k, agency[k]) for k in kinds if agency.get(k)]
    if contacts:
        lines += [kb.say("agency_contact_line", kind=kb.say(f"contact_kind_{k}"), value=v) for k, v in contacts]
        if agency.get("contact_note"):
            lines.append(kb.say("contact_note", note=agency["contact_note"]))
        # "Le téléphone du BIJ ?": say which details the base lacks rather than leave them out silently.
        missing = [kb.say(f"contact_kind_{k}").lower() for k in kinds if not agency.get(k)]
        if missing:
            lines.append(kb.say("contact_missing", kinds=", ".join(missing)))
    else:
        lines.append(kb.say("no_verified_contact", agency=agency["label"]))
    return Message(with_source(kb, "\n".join(lines), agency), related_buttons(kb, agency))


def rating_buttons(kb: KnowledgeBase) -> List[Button]:
    """The 👍 / 👎 pair under a factual answer; the rating goes to the helpdesk store."""
    return [
        intent_button(kb.say("button_rate_up"), "rate_answer", rating="up"),
        intent_button(kb.say("button_rate_down"), "rate_answer", rating="down"),
    ]


def sector_buttons(kb: KnowledgeBase) -> List[Button]:
    """One button per sector of the base, answering "which sector?" with its id."""
    return [intent_button(s["label"], "inform_sector", sector=s["id"]) for s in kb.of_type("sector")]

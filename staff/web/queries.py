"""What the web console reads beyond the CLI's queries (staff/conversations.py, staff/reports.py).

Conversation search and transcripts from Rasa's `events` table, counts of entities, the share of
questions understood, agency filtering of contact requests, and the exports (CSV, YAML). The CLI's
functions are called, not copied: messages come from `conversations.read_messages`, groups from
`reports.group_unanswered`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ka2 import staff_store
from ka2.helpdesk_store import StoredHandoff, StoredRating
from ka2.knowledge import KnowledgeBase, get_knowledge_base
from ka2.text import normalise
from staff import conversations
from staff.conversations import UserMessage
from staff.reports import UnansweredGroup, csv_cell, group_cells

TRANSCRIPT_TYPES = ("user", "bot", "action", "slot", "session_started")


def agency_ids(agency: str, kb: Optional[KnowledgeBase] = None) -> Optional[Set[str]]:
    """The knowledge ids of the agency a staff account belongs to.

    `bij` -> the BIJ's entry, through the base's synonyms; None for admins (`all`), who see every
    request; an unknown agency: nothing.
    """
    if agency == "all":
        return None
    found = (kb or get_knowledge_base()).resolve("agency", agency)
    return {found} if found else set()


def visible_handoffs(
    handoffs: Iterable[StoredHandoff], agency: str, kb: Optional[KnowledgeBase] = None
) -> List[StoredHandoff]:
    """The requests an account of `agency` may see, newest first."""
    allowed = agency_ids(agency, kb)
    kept = [h for h in handoffs if allowed is None or h.agency_id in allowed]
    return sorted(kept, key=lambda h: (h.created_at or dt.datetime.min, h.id), reverse=True)


def may_see(handoff: StoredHandoff, agency: str, kb: Optional[KnowledgeBase] = None) -> bool:
    allowed = agency_ids(agency, kb)
    return allowed is None or handoff.agency_id in allowed


# ---------------------------------------------------------------------------------------------
# Conversations


@dataclass
class ConversationRow:
    sender_id: str
    channel: str
    first: dt.datetime
    last: dt.datetime
    messages: int = 0
    intents: Counter = field(default_factory=Counter)
    ratings: Counter = field(default_factory=Counter)
    first_text: str = ""


def search_conversations(
    messages: Sequence[UserMessage],
    ratings: Sequence[StoredRating],
    until: Optional[dt.date] = None,
    channel: str = "",
    text: str = "",
    intent: str = "",
    rating: str = "",
) -> List[ConversationRow]:
    """Conversations whose messages match every filter given, the most recent first."""
    ratings_by_sender: Dict[str, Counter] = {}
    for item in ratings:
        ratings_by_sender.setdefault(item.sender_id, Counter())[item.rating] += 1
    needle = normalise(text) if text else ""
    rows: Dict[str, ConversationRow] = {}
    matched: set = set()
    for message in messages:
        if until is not None and message.day > until:
            continue
        row = rows.get(message.sender_id)
        if row is None:
            row = rows[message.sender_id] = ConversationRow(
                message.sender_id, message.channel, message.when, message.when, first_text=message.text
            )
        row.last = message.when
        row.messages += 1
        if message.intent:
            row.intents[message.intent] += 1
        ok = (not channel or message.channel == channel) and (not intent or message.intent == intent)
        ok = ok and (not needle or needle in normalise(message.text))
        if ok:
            matched.add(message.sender_id)
    out = []
    for sender in matched:
        row = rows[sender]
        row.ratings = ratings_by_sender.get(sender, Counter())
        if rating and not row.ratings.get(rating):
            continue
        out.append(row)
    return sorted(out, key=lambda r: r.last, reverse=True)


@dataclass
class TranscriptLine:
    speaker: str  # "user" | "bot" | "action" | "slot" | "session"
    when: dt.datetime
    text: str = ""
    intent: Optional[str] = None
    confidence: Optional[float] = None
    entities: List[Dict[str, Any]] = field(default_factory=list)
    ranking: List[Dict[str, Any]] = field(default_factory=list)
    channel: Optional[str] = None
    buttons: List[str] = field(default_factory=list)


def transcript(engine: Engine, sender_id: str) -> List[TranscriptLine]:
    """A conversation as it happened: messages with what the NLU understood, actions, the replies."""
    if not conversations.events_table_exists(engine):
        return []
    types = ", ".join(f"'{t}'" for t in TRANSCRIPT_TYPES)
    query = sa.text(
        f"SELECT type_name, timestamp, action_name, data FROM events WHERE sender_id = :s "
        f"AND type_name IN ({types}) ORDER BY id"
    )
    with engine.connect() as connection:
        rows = connection.execute(query, {"s": sender_id}).mappings().all()
    lines: List[TranscriptLine] = []
    for row in rows:
        data = json.loads(row["data"] or "{}")
        when = dt.datetime.fromtimestamp(float(row["timestamp"]))
        kind = row["type_name"]
        if kind == "user":
            parse = data.get("parse_data") or {}
            intent = parse.get("intent") or {}
            lines.append(
                TranscriptLine(
                    "user",
                    when,
                    str(data.get("text") or ""),
                    intent.get("name"),
                    float(intent.get("confidence") or 0.0),
                    [
                        {"entity": e.get("entity"), "value": e.get("value"), "text": e.get("text") or ""}
                        for e in parse.get("entities") or []
                    ],
                    [
                        {"name": r.get("name"), "confidence": float(r.get("confidence") or 0.0)}
                        for r in (parse.get("intent_ranking") or [])[:3]
                    ],
                    data.get("input_channel"),
                )
            )
        elif kind == "bot":
            buttons = [str(b.get("title", "")) for b in (data.get("data") or {}).get("buttons") or []]
            lines.append(TranscriptLine("bot", when, str(data.get("text") or ""), buttons=buttons))
        elif kind == "action" and row["action_name"] not in conversations.NOT_REPLIES:
            lines.append(TranscriptLine("action", when, str(row["action_name"] or "")))
        elif kind == "slot" and data.get("name") == "knowledge_base_last_object" and data.get("value"):
            lines.append(TranscriptLine("slot", when, str(data["value"])))
        elif kind == "session_started":
            lines.append(TranscriptLine("session", when))
    return lines


def entity_counts(engine: Engine, since: Optional[dt.datetime] = None, top: int = 10) -> List[tuple]:
    """The entities the NLU found most often: ((entity, value), count)."""
    if not conversations.events_table_exists(engine):
        return []
    query = "SELECT data FROM events WHERE type_name = 'user'"
    params = {}
    if since is not None:
        query += " AND timestamp >= :since"
        params["since"] = since.timestamp()
    found: Counter = Counter()
    with engine.connect() as connection:
        for (data,) in connection.execute(sa.text(query), params):
            for entity in (json.loads(data or "{}").get("parse_data") or {}).get("entities") or []:
                found[(str(entity.get("entity")), str(entity.get("value")))] += 1
    return found.most_common(top)


def understood_share(messages: Sequence[UserMessage]) -> Optional[float]:
    """Share of typed questions (not buttons, not form answers) with no reason to count as unanswered."""
    asked = [m for m in messages if not m.is_button and not m.in_form]
    if not asked:
        return None
    return sum(not conversations.unanswered_reasons(m) for m in asked) / len(asked)


# ---------------------------------------------------------------------------------------------
# Not understood: groups and exports


def group_key(group: UnansweredGroup) -> str:
    """A stable name for a group: its representative message, normalised."""
    return " ".join(normalise(group.text).split())[:255]


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV for a spreadsheet (';' separator, as the CLI's export), formula-looking cells escaped."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return "\ufeff" + out.getvalue()


def unanswered_csv(groups: Sequence[UnansweredGroup], marks: Dict[str, staff_store.GroupMark]) -> str:
    rows = []
    for group in groups:
        mark = marks.get(group_key(group))
        rows.append([*group_cells(group), mark.verdict if mark else "", mark.note if mark else ""])
    header = ["nombre", "message", "variantes", "raisons", "intentions proches", "dernier", "décision", "note"]
    return csv_text(header, rows)


def training_yaml(groups: Sequence[UnansweredGroup], marks: Dict[str, staff_store.GroupMark]) -> str:
    """Candidate NLU examples for the maintainers to review, from groups marked "exemple à ajouter".

    Each example goes under the closest intent the NLU saw; nothing is written to bot/data here.
    """
    by_intent: Dict[str, List[str]] = {}
    for group in groups:
        mark = marks.get(group_key(group))
        if not mark or mark.verdict != "example":
            continue
        intent = (group.closest_intents or ["a_choisir"])[0]
        texts = by_intent.setdefault(intent, [])
        for text in [group.text, *group.variants]:
            if text not in texts:
                texts.append(text)
    lines = [
        "# Exemples candidats proposés par le personnel (console) : à relire avant de les ajouter à bot/data/.",
        'version: "3.1"',
        "nlu:",
    ]
    for intent, texts in sorted(by_intent.items()):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        # A literal block: any character is safe on one line.
        lines += [f"    - {' '.join(text.split())}" for text in texts]
    if not by_intent:
        lines.append("# (aucun groupe marqué « exemple à ajouter »)")
    return "\n".join(lines) + "\n"

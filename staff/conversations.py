"""Read the real conversation store: Rasa's SQL tracker store table `events`.

Columns used: sender_id, type_name, timestamp (seconds since the epoch), intent_name, action_name
and data (the event as JSON; a user event holds `text`, `parse_data` and `input_channel`).
Each user message is paired with the actions the assistant ran in reply, which say whether it was
understood. Messages typed while a form was active (a name, an email address, a project
description) are answers to the form, not questions: they are never counted as unanswered.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

EVENTS_TABLE = "events"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE_INTENT = "out_of_scope"
# Actions that mean "not understood" / "not my subject".
FALLBACK_ACTIONS = {"action_clarify", "action_default_fallback", "utter_default", "action_two_stage_fallback"}
OUT_OF_SCOPE_ACTIONS = {"action_answer_out_of_scope"}
NOT_REPLIES = {"action_listen", "action_session_start", "action_unlikely_intent"}
# Event types read: messages, actions, and what tells whether a form is active.
EVENT_TYPES = ("user", "action", "bot", "active_loop", "session_started", "restart")
LOW_CONFIDENCE = 0.6

REASON_FALLBACK = "incompris"
REASON_OUT_OF_SCOPE = "hors sujet"
REASON_LOW_CONFIDENCE = "confiance faible"


@dataclass
class UserMessage:
    """One message a user typed, with what the NLU made of it and what the assistant did."""

    sender_id: str
    timestamp: float
    text: str
    intent: Optional[str]
    confidence: float
    channel: str
    closest_intent: Optional[str] = None  # the best real intent when the NLU fell back
    actions: List[str] = field(default_factory=list)
    bot_replies: int = 0
    in_form: bool = False  # typed while a form (handoff, project matching) was asking its questions

    @property
    def is_button(self) -> bool:
        return self.text.startswith("/")

    @property
    def day(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.timestamp).date()

    @property
    def when(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp)


def events_table_exists(engine: Engine) -> bool:
    return sa.inspect(engine).has_table(EVENTS_TABLE)


def _closest_intent(parse_data: Mapping) -> Optional[str]:
    ranking = parse_data.get("intent_ranking") or []
    return next((r.get("name") for r in ranking if r.get("name") != FALLBACK_INTENT), None)


def user_message_from_event(sender_id: str, timestamp: float, data: Mapping) -> UserMessage:
    parse_data = data.get("parse_data") or {}
    intent = parse_data.get("intent") or {}
    return UserMessage(
        sender_id=sender_id,
        timestamp=float(timestamp),
        text=" ".join(str(data.get("text") or "").split()),
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        channel=conversation_channel(sender_id, data.get("input_channel")),
        closest_intent=_closest_intent(parse_data),
    )


def messages_from_rows(rows: Iterable[Mapping]) -> List[UserMessage]:
    """User messages, each with the actions and bot messages that followed it (rows in id order)."""
    last_by_sender: Dict[str, UserMessage] = {}
    form_by_sender: Dict[str, Optional[str]] = {}
    messages: List[UserMessage] = []
    for row in rows:
        sender, kind = row["sender_id"], row["type_name"]
        if kind == "user":
            message = user_message_from_event(sender, row["timestamp"], json.loads(row["data"] or "{}"))
            message.in_form = bool(form_by_sender.get(sender))
            last_by_sender[sender] = message
            messages.append(message)
        elif kind == "active_loop":
            form_by_sender[sender] = json.loads(row["data"] or "{}").get("name")
        elif kind in ("session_started", "restart"):
            form_by_sender[sender] = None
        elif sender in last_by_sender and kind == "action":
            if row["action_name"] and row["action_name"] not in NOT_REPLIES:
                last_by_sender[sender].actions.append(row["action_name"])
        elif sender in last_by_sender and kind == "bot":
            last_by_sender[sender].bot_replies += 1
    return messages


def read_messages(engine: Engine, since: Optional[dt.datetime] = None) -> List[UserMessage]:
    """Every user message since a local time, oldest first."""
    if not events_table_exists(engine):
        return []
    types = ", ".join(f"'{t}'" for t in EVENT_TYPES)
    query = f"SELECT sender_id, type_name, timestamp, action_name, data FROM events WHERE type_name IN ({types})"
    params = {}
    if since is not None:
        query += " AND timestamp >= :since"
        params["since"] = since.timestamp()
    with engine.connect() as connection:
        rows = connection.execute(sa.text(query + " ORDER BY id"), params).mappings().all()
    return messages_from_rows(rows)


def unanswered_reasons(message: UserMessage, threshold: float = LOW_CONFIDENCE) -> List[str]:
    """Why a message counts as unanswered (empty if it was answered)."""
    if message.is_button or message.in_form:
        return []
    reasons = []
    if message.intent == FALLBACK_INTENT or FALLBACK_ACTIONS & set(message.actions):
        reasons.append(REASON_FALLBACK)
    if message.intent == OUT_OF_SCOPE_INTENT or OUT_OF_SCOPE_ACTIONS & set(message.actions):
        reasons.append(REASON_OUT_OF_SCOPE)
    if message.intent != FALLBACK_INTENT and message.confidence < threshold:
        reasons.append(REASON_LOW_CONFIDENCE)
    return reasons


# Conversation ids are namespaced by the channel that set them (`web:`, `tg:`, `rest:`): a bare id
# typed by staff may be any of them. Ids stored before the namespaces have none.
NAMESPACES = {"web": "widget", "tg": "Telegram", "rest": "REST"}


def namespace(sender_id: str) -> Optional[str]:
    """The channel namespace of a conversation id (`tg` of `tg:12345`), None for a bare id."""
    head, sep, _ = sender_id.partition(":")
    return head if sep and head in NAMESPACES else None


def conversation_channel(sender_id: str, input_channel: Optional[str] = None) -> str:
    """What staff see as the channel: the namespace's name, else Rasa's input channel."""
    space = namespace(sender_id)
    return NAMESPACES[space] if space else (input_channel or "inconnu")


def candidate_ids(sender_id: str) -> List[str]:
    """The ids a staff-typed id may stand for: itself if namespaced, else itself and each namespace's."""
    sender_id = sender_id.strip()
    if namespace(sender_id):
        return [sender_id]
    return [sender_id, *(f"{space}:{sender_id}" for space in NAMESPACES)]


def existing_ids(engine: Engine, ids: Sequence[str]) -> List[str]:
    """Those of `ids` that have events in the store, in the order given."""
    if not ids or not events_table_exists(engine):
        return []
    query = sa.text("SELECT DISTINCT sender_id FROM events WHERE sender_id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    with engine.connect() as connection:
        found = set(connection.execute(query, {"ids": list(ids)}).scalars())
    return [i for i in ids if i in found]


def delete_conversation(engine: Engine, sender_id: str) -> int:
    """Delete every event of one conversation; the number of events deleted."""
    if not events_table_exists(engine):
        return 0
    with engine.begin() as connection:
        return connection.execute(sa.text("DELETE FROM events WHERE sender_id = :s"), {"s": sender_id}).rowcount


@dataclass(frozen=True)
class PurgedEvents:
    conversations: int  # conversations left without any event (deleted whole)
    events: int  # events deleted in all
    trimmed_conversations: int  # conversations still active that lost their old events
    trimmed_events: int  # events deleted from those


def delete_events_older_than(engine: Engine, cutoff: dt.datetime) -> PurgedEvents:
    """Delete every event older than `cutoff`, whatever the age of the conversation's last event.

    A conversation active yesterday that began a year ago loses its year-old events (messages, the
    name and e-mail address of a handoff's slots): retention is per event, not per conversation.
    """
    if not events_table_exists(engine):
        return PurgedEvents(0, 0, 0, 0)
    params = {"cutoff": cutoff.timestamp()}
    per_sender = (
        "SELECT sender_id, SUM(CASE WHEN timestamp < :cutoff THEN 1 ELSE 0 END) AS old, COUNT(*) AS total "
        "FROM events GROUP BY sender_id HAVING SUM(CASE WHEN timestamp < :cutoff THEN 1 ELSE 0 END) > 0"
    )
    with engine.begin() as connection:
        counts = connection.execute(sa.text(per_sender), params).all()
        deleted = connection.execute(sa.text("DELETE FROM events WHERE timestamp < :cutoff"), params).rowcount
    whole = [row for row in counts if row.old == row.total]
    trimmed = [row for row in counts if row.old < row.total]
    return PurgedEvents(len(whole), int(deleted), len(trimmed), int(sum(row.old for row in trimmed)))


def delete_conversations_idle_since(engine: Engine, cutoff: dt.datetime) -> Sequence[int]:
    """(conversations deleted whole, events deleted): now by event age, see delete_events_older_than."""
    purged = delete_events_older_than(engine, cutoff)
    return (purged.conversations, purged.events)

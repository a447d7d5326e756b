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
        channel=data.get("input_channel") or "inconnu",
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


def delete_conversation(engine: Engine, sender_id: str) -> int:
    """Delete every event of one conversation; the number of events deleted."""
    if not events_table_exists(engine):
        return 0
    with engine.begin() as connection:
        return connection.execute(sa.text("DELETE FROM events WHERE sender_id = :s"), {"s": sender_id}).rowcount


def delete_conversations_idle_since(engine: Engine, cutoff: dt.datetime) -> Sequence[int]:
    """Delete whole conversations whose last event is older than `cutoff`: (conversations, events)."""
    if not events_table_exists(engine):
        return (0, 0)
    old = "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"
    params = {"cutoff": cutoff.timestamp()}
    with engine.begin() as connection:
        senders = connection.execute(sa.text(f"SELECT COUNT(*) FROM ({old}) AS old"), params).scalar_one()
        deleted = connection.execute(sa.text(f"DELETE FROM events WHERE sender_id IN ({old})"), params).rowcount
    return (int(senders), int(deleted))

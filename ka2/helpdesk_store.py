"""The helpdesk's own records: handoff requests to a person, and ratings of answers.

Stored with SQLAlchemy in the project's database (by default the SQLite file of the conversation
store, `var/tracker.db`; PostgreSQL in production, see `database_url.py`), never only in a log.
Two tables, created on first use:

- `ka2_handoff_requests`: who asked for a person, how to reach them, for which agency, their
  question and a summary of the conversation; `status` is `open` until staff mark it `done`;
  `notified_at` is set once the agency was emailed.
- `ka2_answer_feedback`: a 👍 (`up`) or 👎 (`down`) on an answer, with the answer's knowledge id and
  the user's question.

Every function takes an optional `db_url`; without it the configured database is used. Times are
naive UTC datetimes.

Typical use from an action:

    summary = conversation_summary(tracker.events)
    handoff_id = save_handoff(HandoffRequest(sender_id=tracker.sender_id, name=..., email=...,
                                             question=..., sector="sector.youth",
                                             agency_id="agency.bij", channel="rest",
                                             topic=summary.topic, last_messages=summary.messages))
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Type, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from .database_url import helpdesk_db_url

STATUS_OPEN = "open"
STATUS_DONE = "done"
STATUSES = (STATUS_OPEN, STATUS_DONE)
RATING_UP = "up"
RATING_DOWN = "down"
RATINGS = (RATING_UP, RATING_DOWN)
SUMMARY_MESSAGES = 6
# The slot rasa_sdk's knowledge-base helpers set to the entry last talked about.
TOPIC_SLOT = "knowledge_base_last_object"
# Intents that say nothing about the topic of a conversation.
GENERIC_INTENTS = {
    "greet", "goodbye", "thank", "affirm", "deny", "bot_capabilities", "request_human",
    "out_of_scope", "nlu_fallback", "ask_more_details",
}  # fmt: skip

metadata = sa.MetaData()

handoff_requests = sa.Table(
    "ka2_handoff_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64)),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("sector", sa.String(64)),
    sa.Column("agency_id", sa.String(64)),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("topic", sa.String(128)),
    sa.Column("last_messages", sa.Text, nullable=False, default="[]"),  # JSON [[speaker, text], ...]
    sa.Column("status", sa.String(8), nullable=False, default=STATUS_OPEN, index=True),
    sa.Column("notified_at", sa.DateTime),
)

answer_feedback = sa.Table(
    "ka2_answer_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64)),
    sa.Column("answer_id", sa.String(128), nullable=False),
    sa.Column("question", sa.Text, nullable=False, default=""),
    sa.Column("rating", sa.String(4), nullable=False),
)

# A line of conversation: ("user" | "bot", text).
ConversationLine = Tuple[str, str]


@dataclass(frozen=True)
class ConversationSummary:
    topic: Optional[str]
    messages: List[ConversationLine]


@dataclass(frozen=True)
class HandoffRequest:
    """What the handoff form collected. `agency_id` is a knowledge id (`agency.bij`, ...)."""

    sender_id: str
    name: str
    email: str
    question: str
    sector: Optional[str] = None
    agency_id: Optional[str] = None
    channel: Optional[str] = None
    topic: Optional[str] = None
    last_messages: List[ConversationLine] = field(default_factory=list)


@dataclass(frozen=True)
class StoredHandoff(HandoffRequest):
    id: int = 0
    created_at: Optional[dt.datetime] = None
    status: str = STATUS_OPEN
    notified_at: Optional[dt.datetime] = None


@dataclass(frozen=True)
class AnswerRating:
    """A 👍/👎 on one answer; `answer_id` is the knowledge id the answer was built from."""

    sender_id: str
    answer_id: str
    rating: str
    question: str = ""
    channel: Optional[str] = None


@dataclass(frozen=True)
class StoredRating(AnswerRating):
    id: int = 0
    created_at: Optional[dt.datetime] = None


@dataclass(frozen=True)
class DeletedCounts:
    handoffs: int
    feedback: int


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------------
# Conversation summary (pure)


def _event_text(event: Mapping[str, Any]) -> str:
    return " ".join(str(event.get("text") or "").split())


def detected_topic(events: Iterable[Mapping[str, Any]]) -> Optional[str]:
    """The knowledge entry last answered about, else the last topical intent of the user."""
    topic: Optional[str] = None
    intent: Optional[str] = None
    for event in events:
        if event.get("event") == "slot" and event.get("name") == TOPIC_SLOT and event.get("value"):
            topic = str(event["value"])
        elif event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name and name not in GENERIC_INTENTS:
                intent = name
    return topic or intent


def conversation_summary(events: Iterable[Mapping[str, Any]], limit: int = SUMMARY_MESSAGES) -> ConversationSummary:
    """The last `limit` user and bot messages and the detected topic, from tracker events."""
    events = list(events)
    lines: List[ConversationLine] = []
    for event in events:
        kind = event.get("event")
        if kind in ("user", "bot") and _event_text(event):
            lines.append((str(kind), _event_text(event)))
    return ConversationSummary(detected_topic(events), lines[-limit:] if limit else [])


def last_question(events: Iterable[Mapping[str, Any]]) -> str:
    """The last message the user typed (button payloads such as a 👎 are skipped), for a rating."""
    typed = [
        _event_text(e) for e in events if e.get("event") == "user" and not str(e.get("text") or "").startswith("/")
    ]
    return typed[-1] if typed else ""


# ---------------------------------------------------------------------------------------------
# Database


def _create_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


@functools.lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database, with the helpdesk tables created if missing."""
    _create_sqlite_directory(url)
    options: Dict[str, Any] = {"future": True}
    if make_url(url).get_backend_name() == "sqlite":
        # The Rasa server writes to the same file: wait for its lock rather than fail.
        options["connect_args"] = {"timeout": 30}
    # A failed insert's parameters are a user's name, e-mail address and question: never in a log.
    engine = sa.create_engine(url, hide_parameters=True, **options)
    metadata.create_all(engine, checkfirst=True)
    return engine


def _engine(db_url: Optional[str]) -> Engine:
    return engine_for(db_url or helpdesk_db_url())


Stored = TypeVar("Stored")


def _from_row(cls: Type[Stored], row: Mapping[str, Any], **decoded: Any) -> Stored:
    """A stored dataclass from a table row: columns and fields share their names."""
    return cls(**{f.name: decoded.get(f.name, row[f.name]) for f in fields(cls)})  # type: ignore[arg-type]


def _handoff_from_row(row: Mapping[str, Any]) -> StoredHandoff:
    lines = [tuple(line) for line in json.loads(row["last_messages"] or "[]")]
    return _from_row(StoredHandoff, row, last_messages=lines)


def _rating_from_row(row: Mapping[str, Any]) -> StoredRating:
    return _from_row(StoredRating, row)


def save_handoff(request: HandoffRequest, db_url: Optional[str] = None, now: Optional[dt.datetime] = None) -> int:
    """Store a handoff request (status `open`) and return its id."""
    if not request.name.strip() or not request.email.strip() or not request.question.strip():
        raise ValueError("a handoff request needs a name, an email address and a question")
    values = {
        "created_at": now or utc_now(),
        "sender_id": request.sender_id,
        "channel": request.channel,
        "name": request.name.strip(),
        "email": request.email.strip(),
        "sector": request.sector,
        "agency_id": request.agency_id,
        "question": request.question.strip(),
        "topic": request.topic,
        "last_messages": json.dumps([list(line) for line in request.last_messages], ensure_ascii=False),
        "status": STATUS_OPEN,
    }
    with _engine(db_url).begin() as connection:
        result = connection.execute(handoff_requests.insert().values(**values))
        return int(result.inserted_primary_key[0])


def get_handoff(handoff_id: int, db_url: Optional[str] = None) -> Optional[StoredHandoff]:
    with _engine(db_url).connect() as connection:
        row = (
            connection.execute(handoff_requests.select().where(handoff_requests.c.id == handoff_id)).mappings().first()
        )
    return _handoff_from_row(row) if row else None


def list_handoffs(
    status: Optional[str] = STATUS_OPEN, db_url: Optional[str] = None, since: Optional[dt.datetime] = None
) -> List[StoredHandoff]:
    """Handoff requests, oldest first; `status=None` lists every status."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r} (expected one of {STATUSES})")
    query = handoff_requests.select().order_by(handoff_requests.c.created_at, handoff_requests.c.id)
    if status is not None:
        query = query.where(handoff_requests.c.status == status)
    if since is not None:
        query = query.where(handoff_requests.c.created_at >= since)
    with _engine(db_url).connect() as connection:
        return [_handoff_from_row(row) for row in connection.execute(query).mappings()]


def _update_handoff(handoff_id: int, db_url: Optional[str], **values: Any) -> bool:
    with _engine(db_url).begin() as connection:
        result = connection.execute(
            handoff_requests.update().where(handoff_requests.c.id == handoff_id).values(**values)
        )
        return bool(result.rowcount > 0)


def mark_done(handoff_id: int, db_url: Optional[str] = None) -> bool:
    """Close a handoff request; False if there is no such request."""
    return _update_handoff(handoff_id, db_url, status=STATUS_DONE)


def mark_notified(handoff_id: int, db_url: Optional[str] = None, now: Optional[dt.datetime] = None) -> bool:
    """Record that the agency was notified of the request."""
    return _update_handoff(handoff_id, db_url, notified_at=now or utc_now())


def save_feedback(rating: AnswerRating, db_url: Optional[str] = None, now: Optional[dt.datetime] = None) -> int:
    """Store a 👍 (`up`) or 👎 (`down`) on an answer and return its id."""
    if rating.rating not in RATINGS:
        raise ValueError(f"unknown rating {rating.rating!r} (expected one of {RATINGS})")
    values = {
        "created_at": now or utc_now(),
        "sender_id": rating.sender_id,
        "channel": rating.channel,
        "answer_id": rating.answer_id,
        "question": rating.question,
        "rating": rating.rating,
    }
    with _engine(db_url).begin() as connection:
        return int(connection.execute(answer_feedback.insert().values(**values)).inserted_primary_key[0])


def list_feedback(
    since: Optional[dt.datetime] = None, rating: Optional[str] = None, db_url: Optional[str] = None
) -> List[StoredRating]:
    """Ratings, oldest first, optionally since a time and of one kind (`up` / `down`)."""
    query = answer_feedback.select().order_by(answer_feedback.c.created_at, answer_feedback.c.id)
    if since is not None:
        query = query.where(answer_feedback.c.created_at >= since)
    if rating is not None:
        query = query.where(answer_feedback.c.rating == rating)
    with _engine(db_url).connect() as connection:
        return [_rating_from_row(row) for row in connection.execute(query).mappings()]


def count_handoffs(sender_id: str, since: dt.datetime, db_url: Optional[str] = None) -> int:
    """How many handoff requests one conversation filed since a (naive UTC) time: the daily cap."""
    query = (
        sa.select(sa.func.count())
        .select_from(handoff_requests)
        .where(handoff_requests.c.sender_id == sender_id, handoff_requests.c.created_at >= since)
    )
    with _engine(db_url).connect() as connection:
        return int(connection.execute(query).scalar_one())


def senders_with_records(sender_ids: Iterable[str], db_url: Optional[str] = None) -> List[str]:
    """Those of `sender_ids` with a handoff request or a rating, in the order given (for `forget`)."""
    ids = list(sender_ids)
    if not ids:
        return []
    with _engine(db_url).connect() as connection:
        found = set(
            connection.execute(sa.select(handoff_requests.c.sender_id).where(handoff_requests.c.sender_id.in_(ids)))
            .scalars()
            .all()
        )
        found |= set(
            connection.execute(sa.select(answer_feedback.c.sender_id).where(answer_feedback.c.sender_id.in_(ids)))
            .scalars()
            .all()
        )
    return [i for i in ids if i in found]


def forget(sender_id: str, db_url: Optional[str] = None) -> DeletedCounts:
    """Delete every handoff request and rating of one user (the right to erasure)."""
    with _engine(db_url).begin() as connection:
        handoffs = connection.execute(handoff_requests.delete().where(handoff_requests.c.sender_id == sender_id))
        feedback = connection.execute(answer_feedback.delete().where(answer_feedback.c.sender_id == sender_id))
        return DeletedCounts(handoffs.rowcount, feedback.rowcount)


def purge(older_than_days: int, db_url: Optional[str] = None, now: Optional[dt.datetime] = None) -> DeletedCounts:
    """Delete handoff requests (open or done) and ratings created more than `older_than_days` ago."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be zero or more")
    cutoff = (now or utc_now()) - dt.timedelta(days=older_than_days)
    with _engine(db_url).begin() as connection:
        handoffs = connection.execute(handoff_requests.delete().where(handoff_requests.c.created_at < cutoff))
        feedback = connection.execute(answer_feedback.delete().where(answer_feedback.c.created_at < cutoff))
        return DeletedCounts(handoffs.rowcount, feedback.rowcount)

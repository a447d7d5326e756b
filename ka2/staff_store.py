"""The staff web console's own records, beside the helpdesk tables (same database, `helpdesk_db_url`).

- `ka2_staff_users`: personal accounts (e-mail, agency `bij` | `aef` | `all`, argon2 hash);
- `ka2_staff_sessions`: signed-in browsers (only a keyed hash of the cookie is stored), with expiry;
- `ka2_staff_login_failures`: failed sign-ins, counted per account and per address (rate limit);
- `ka2_staff_reset_tokens`: "mot de passe oublié" links (hashed, one use, one hour);
- `ka2_staff_request_events`: what staff did on a contact request (taken, note, reply, done),
  append-only: two people acting on one request at once each add a row, nothing is overwritten;
- `ka2_staff_group_marks`: the verdict on a group of not-understood messages, append-only too;
- `ka2_staff_audit`: every staff action (who, what, when), shown to admins.

Hashing, cookies and HTTP live in staff/web; this module only stores. Times are naive UTC.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import helpdesk_store
from .database_url import helpdesk_db_url
from .helpdesk_store import utc_now

# A staff account's agency: a name the knowledge base resolves to an agency entry (`bij`, `aef`), or
# `all` for admins (staff/web/queries.py: agency_ids).
AGENCIES = ("bij", "aef", "all")
REQUEST_ACTIONS = ("take", "note", "reply", "done", "reopen")
GROUP_VERDICTS = ("answer", "example", "off_topic")

metadata = sa.MetaData()

users = sa.Table(
    "ka2_staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("agency", sa.String(8), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)

sessions = sa.Table(
    "ka2_staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
)

login_failures = sa.Table(
    "ka2_staff_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("address", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
)

reset_tokens = sa.Table(
    "ka2_staff_reset_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("used", sa.Boolean, nullable=False, default=False),
)

request_events = sa.Table(
    "ka2_staff_request_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.Integer, nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("user_email", sa.String(320), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False, default=""),
)

group_marks = sa.Table(
    "ka2_staff_group_marks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("group_key", sa.String(255), nullable=False, index=True),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("user_email", sa.String(320), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
)

audit_log = sa.Table(
    "ka2_staff_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("user_email", sa.String(320), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
)


@dataclass(frozen=True)
class StaffUser:
    id: int
    email: str
    agency: str
    password_hash: str
    active: bool = True

    @property
    def is_admin(self) -> bool:
        return self.agency == "all"


@dataclass(frozen=True)
class RequestEvent:
    handoff_id: int
    at: dt.datetime
    user_email: str
    action: str
    text: str


@dataclass(frozen=True)
class GroupMark:
    group_key: str
    verdict: str
    note: str
    user_email: str
    at: dt.datetime


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    user_email: str
    action: str
    detail: str


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    engine = helpdesk_store.engine_for(url)
    metadata.create_all(engine, checkfirst=True)
    return engine


def engine(db_url: Optional[str] = None) -> Engine:
    return _engine_for(db_url or helpdesk_db_url())


def normalised_email(email: str) -> str:
    return email.strip().lower()


def _user(row: Optional[Mapping[str, Any]]) -> Optional[StaffUser]:
    if row is None:
        return None
    return StaffUser(row["id"], row["email"], row["agency"], row["password_hash"], bool(row["active"]))


# ---------------------------------------------------------------------------------------------
# Accounts


def add_user(email: str, agency: str, password_hash: str, db_url: Optional[str] = None) -> int:
    """Create an account, or replace the agency and password of an existing one; returns its id."""
    if agency not in AGENCIES:
        raise ValueError(f"agence inconnue « {agency} » (attendu : {', '.join(AGENCIES)})")
    email = normalised_email(email)
    if "@" not in email:
        raise ValueError(f"adresse e-mail invalide « {email} »")
    with engine(db_url).begin() as connection:
        existing = connection.execute(sa.select(users.c.id).where(users.c.email == email)).scalar()
        if existing is not None:
            connection.execute(
                users.update()
                .where(users.c.id == existing)
                .values(agency=agency, password_hash=password_hash, active=True)
            )
            return int(existing)
        values = dict(email=email, agency=agency, password_hash=password_hash, created_at=utc_now(), active=True)
        return int(connection.execute(users.insert().values(**values)).inserted_primary_key[0])


def get_user_by_email(email: str, db_url: Optional[str] = None) -> Optional[StaffUser]:
    with engine(db_url).connect() as connection:
        row = connection.execute(users.select().where(users.c.email == normalised_email(email))).mappings().first()
    return _user(row)


def get_user(user_id: int, db_url: Optional[str] = None) -> Optional[StaffUser]:
    with engine(db_url).connect() as connection:
        return _user(connection.execute(users.select().where(users.c.id == user_id)).mappings().first())


def list_users(db_url: Optional[str] = None) -> List[StaffUser]:
    with engine(db_url).connect() as connection:
        rows = connection.execute(users.select().order_by(users.c.email)).mappings()
        return [user for user in map(_user, rows) if user is not None]


def set_password(user_id: int, password_hash: str, db_url: Optional[str] = None) -> None:
    """A new password ends every session of the account."""
    with engine(db_url).begin() as connection:
        connection.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))
        connection.execute(sessions.delete().where(sessions.c.user_id == user_id))


def set_active(user_id: int, active: bool, db_url: Optional[str] = None) -> None:
    with engine(db_url).begin() as connection:
        connection.execute(users.update().where(users.c.id == user_id).values(active=active))
        if not active:
            connection.execute(sessions.delete().where(sessions.c.user_id == user_id))


# ---------------------------------------------------------------------------------------------
# Sessions, sign-in failures, reset links


def create_session(token_hash: str, user_id: int, minutes: int, db_url: Optional[str] = None) -> None:
    now = utc_now()
    with engine(db_url).begin() as connection:
        connection.execute(sessions.delete().where(sessions.c.expires_at < now))
        connection.execute(
            sessions.insert().values(
                token_hash=token_hash, user_id=user_id, created_at=now, expires_at=now + dt.timedelta(minutes=minutes)
            )
        )


def session_user(token_hash: str, db_url: Optional[str] = None) -> Optional[StaffUser]:
    """The active account of an unexpired session, else None."""
    query = (
        sa.select(users)
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > utc_now(), users.c.active.is_(True))
    )
    with engine(db_url).connect() as connection:
        return _user(connection.execute(query).mappings().first())


def end_session(token_hash: str, db_url: Optional[str] = None) -> None:
    with engine(db_url).begin() as connection:
        connection.execute(sessions.delete().where(sessions.c.token_hash == token_hash))


def record_login_failure(email: str, address: str, db_url: Optional[str] = None) -> None:
    with engine(db_url).begin() as connection:
        connection.execute(login_failures.insert().values(email=normalised_email(email), address=address, at=utc_now()))


def recent_login_failures(email: str, address: str, minutes: int, db_url: Optional[str] = None) -> Dict[str, int]:
    """Failed sign-ins in the last `minutes`: {"email": n for this account, "address": n from this address}."""
    since = utc_now() - dt.timedelta(minutes=minutes)
    count = sa.select(sa.func.count()).select_from(login_failures).where(login_failures.c.at >= since)
    with engine(db_url).connect() as connection:
        by_email = connection.execute(count.where(login_failures.c.email == normalised_email(email))).scalar_one()
        by_address = connection.execute(count.where(login_failures.c.address == address)).scalar_one()
    return {"email": int(by_email), "address": int(by_address)}


def clear_login_failures(email: str, db_url: Optional[str] = None) -> None:
    with engine(db_url).begin() as connection:
        connection.execute(login_failures.delete().where(login_failures.c.email == normalised_email(email)))


def create_reset_token(token_hash: str, user_id: int, minutes: int = 60, db_url: Optional[str] = None) -> None:
    expires = utc_now() + dt.timedelta(minutes=minutes)
    with engine(db_url).begin() as connection:
        connection.execute(reset_tokens.insert().values(token_hash=token_hash, user_id=user_id, expires_at=expires))


def use_reset_token(token_hash: str, db_url: Optional[str] = None) -> Optional[int]:
    """The account of a valid, unused reset link, which is used up by this call; else None."""
    with engine(db_url).begin() as connection:
        result = connection.execute(
            reset_tokens.update()
            .where(
                reset_tokens.c.token_hash == token_hash,
                reset_tokens.c.used.is_(False),
                reset_tokens.c.expires_at > utc_now(),
            )
            .values(used=True)
        )
        if result.rowcount != 1:
            return None
        user_id: int = connection.execute(
            sa.select(reset_tokens.c.user_id).where(reset_tokens.c.token_hash == token_hash)
        ).scalar_one()
        return user_id


def reset_token_valid(token_hash: str, db_url: Optional[str] = None) -> bool:
    query = sa.select(reset_tokens.c.user_id).where(
        reset_tokens.c.token_hash == token_hash, reset_tokens.c.used.is_(False), reset_tokens.c.expires_at > utc_now()
    )
    with engine(db_url).connect() as connection:
        return connection.execute(query).first() is not None


# ---------------------------------------------------------------------------------------------
# Work on contact requests and not-understood groups (append-only)


def add_request_event(
    handoff_id: int, user_email: str, action: str, text: str = "", db_url: Optional[str] = None
) -> None:
    if action not in REQUEST_ACTIONS:
        raise ValueError(f"unknown request action {action!r}")
    with engine(db_url).begin() as connection:
        connection.execute(
            request_events.insert().values(
                handoff_id=handoff_id, at=utc_now(), user_email=user_email, action=action, text=text
            )
        )


def request_history(handoff_ids: Sequence[int], db_url: Optional[str] = None) -> Dict[int, List[RequestEvent]]:
    """Every staff action on these requests, oldest first, by request."""
    out: Dict[int, List[RequestEvent]] = {i: [] for i in handoff_ids}
    if not handoff_ids:
        return out
    query = (
        request_events.select()
        .where(request_events.c.handoff_id.in_(list(handoff_ids)))
        .order_by(request_events.c.at, request_events.c.id)
    )
    with engine(db_url).connect() as connection:
        for row in connection.execute(query).mappings():
            out[row["handoff_id"]].append(
                RequestEvent(row["handoff_id"], row["at"], row["user_email"], row["action"], row["text"])
            )
    return out


def mark_group(group_key: str, verdict: str, note: str, user_email: str, db_url: Optional[str] = None) -> None:
    if verdict not in GROUP_VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    with engine(db_url).begin() as connection:
        connection.execute(
            group_marks.insert().values(
                group_key=group_key[:255], verdict=verdict, note=note, user_email=user_email, at=utc_now()
            )
        )


def group_marks_by_key(db_url: Optional[str] = None) -> Dict[str, GroupMark]:
    """The latest verdict of each group."""
    out: Dict[str, GroupMark] = {}
    with engine(db_url).connect() as connection:
        for row in connection.execute(group_marks.select().order_by(group_marks.c.at, group_marks.c.id)).mappings():
            out[row["group_key"]] = GroupMark(
                row["group_key"], row["verdict"], row["note"], row["user_email"], row["at"]
            )
    return out


def audit(user_email: str, action: str, detail: str = "", db_url: Optional[str] = None) -> None:
    with engine(db_url).begin() as connection:
        connection.execute(audit_log.insert().values(at=utc_now(), user_email=user_email, action=action, detail=detail))


def audit_entries(limit: int = 500, db_url: Optional[str] = None) -> List[AuditEntry]:
    """The latest staff actions, newest first."""
    query = audit_log.select().order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    with engine(db_url).connect() as connection:
        return [
            AuditEntry(row["at"], row["user_email"], row["action"], row["detail"])
            for row in connection.execute(query).mappings()
        ]


def forget_request_events(handoff_ids: Sequence[int], db_url: Optional[str] = None) -> int:
    """Delete staff notes and replies of these requests (the right to erasure covers them too)."""
    if not handoff_ids:
        return 0
    with engine(db_url).begin() as connection:
        deleted: int = connection.execute(
            request_events.delete().where(request_events.c.handoff_id.in_(list(handoff_ids)))
        ).rowcount
        return deleted

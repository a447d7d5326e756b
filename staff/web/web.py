"""The console's shared context: its configuration (from the environment) and the helpers of every page."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import urlencode

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import response
from sanic.request import Request

from ka2 import helpdesk_store, notify, settings, staff_store
from ka2.database_url import helpdesk_db_url, tracker_db_url
from staff import conversations
from staff.cli import parse_date

from . import auth, queries
from .texts import (
    ACTION_LABELS,
    AGENCY_LABELS,
    DEFAULT_DAYS,
    NOTICES,
    SESSION_COOKIE,
    STATUS_LABELS,
    VERDICT_LABELS,
    answer_html,
    decimal,
    french_datetime,
    percent,
    plural,
)

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


class NotFoundError(Exception):
    status_code = 404


class ForbiddenError(Exception):
    status_code = 403


class Config:
    """What the app reads from the environment once, at start-up."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.secret = auth.check_secret(settings.STAFF_SECRET.get(env))
        self.secure_cookies = settings.STAFF_SECURE_COOKIES.get(env)
        self.session_minutes = settings.STAFF_SESSION_MINUTES.get(env)
        self.max_failures = settings.STAFF_LOGIN_ATTEMPTS.get(env)
        self.host = settings.STAFF_HOST.get(env)
        self.port = settings.STAFF_PORT.get(env)
        self.public_url = (settings.STAFF_URL.get(env) or f"http://{self.host}:{self.port}").rstrip("/")
        self.base = (settings.STAFF_BASE_PATH.get(env) or "").rstrip("/")
        self.retention_days = settings.RETENTION_DAYS.get(env)
        self.tracker_url = tracker_db_url(env)
        self.helpdesk_url = helpdesk_db_url(env)


class Web:
    """What every page needs: the configuration, the templates, the databases, and small helpers."""

    def __init__(self, config: Config):
        self.config = config
        self.templates = Environment(
            loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]), trim_blocks=True
        )
        self.templates.filters.update(
            when=french_datetime, percent=percent, plural=plural, answer=answer_html, decimal=decimal
        )
        self.templates.globals.update(
            agency_labels=AGENCY_LABELS,
            status_labels=STATUS_LABELS,
            verdict_labels=VERDICT_LABELS,
            action_labels=ACTION_LABELS,
            speakers=notify.SPEAKERS,
            base=config.base,
        )
        self.tracker = sa.create_engine(config.tracker_url, future=True)
        self.db = config.helpdesk_url
        # Create the staff tables at start-up, not on the first request.
        staff_store.engine(self.db)

    def address(self, request: Request) -> str:
        return str(request.remote_addr or request.ip or "?")[:64]

    def render(self, request: Request, name: str, code: int = 200, **values: Any) -> response.HTTPResponse:
        notice = NOTICES.get(request.args.get("ok", ""))
        html = self.templates.get_template(name).render(
            user=request.ctx.user, csrf=request.ctx.csrf, notice=notice, path=request.path, **values
        )
        return response.html(html, status=code)

    def set_cookie(self, resp: response.HTTPResponse, name: str, value: str, max_age: int) -> None:
        resp.cookies[name] = value
        cookie = resp.cookies[name]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict" if name == SESSION_COOKIE else "Lax"
        cookie["path"] = self.config.base or "/"
        cookie["max-age"] = max_age
        if self.config.secure_cookies:
            cookie["secure"] = True

    def redirect(self, path: str, **params: str) -> response.HTTPResponse:
        return response.redirect(self.config.base + path + ("?" + urlencode(params) if params else ""), status=303)

    def form(self, request: Request, name: str) -> str:
        return (request.form.get(name) or "").strip() if request.form else ""

    def audit(self, request: Request, action: str, detail: str = "") -> None:
        staff_store.audit(request.ctx.user.email, action, detail, self.db)

    def since_from(self, request: Request) -> tuple:
        """(date, error) from ?depuis=, by default DEFAULT_DAYS ago."""
        text = request.args.get("depuis", "").strip()
        if not text:
            return dt.date.today() - dt.timedelta(days=DEFAULT_DAYS), None
        try:
            return parse_date(text), None
        except Exception as error:  # noqa: BLE001 - argparse's message is French already
            return dt.date.today() - dt.timedelta(days=DEFAULT_DAYS), str(error)

    def utc_midnight(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time()).astimezone(dt.timezone.utc).replace(tzinfo=None)

    def messages_since(self, day: dt.date):
        return conversations.read_messages(self.tracker, dt.datetime.combine(day, dt.time()))

    async def send(self, message: EmailMessage) -> Optional[str]:
        """Send through ka2/notify's SMTP settings; an ERRORS code, or None when sent."""
        smtp = notify.smtp_settings(self.config.env)
        if smtp is None:
            return "smtp_off"
        if not message["From"]:
            message["From"] = smtp.sender
        try:
            await asyncio.get_running_loop().run_in_executor(None, notify.send_email, message, smtp)
        except Exception:  # noqa: BLE001 - reported to staff in one sentence, details in the log
            logger.exception("Staff console: e-mail to %s failed", message["To"])
            return "smtp_failed"
        return None

    def visible_handoff(self, request: Request, handoff_id: int) -> helpdesk_store.StoredHandoff:
        handoff = helpdesk_store.get_handoff(handoff_id, self.db)
        # Another agency's request is answered as a missing one: its existence is not staff's business.
        if handoff is None or not queries.may_see(handoff, request.ctx.user.agency):
            raise NotFoundError()
        return handoff

    def admin_only(self, request: Request) -> None:
        if not request.ctx.user.is_admin:
            raise ForbiddenError()

    def download(self, body: str, name: str, kind: str) -> response.HTTPResponse:
        return response.text(
            body,
            content_type=f"{kind}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

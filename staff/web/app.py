"""The staff web console: a Sanic app rendering Jinja2 templates (autoescaped), with little JavaScript.

Every route but sign-in, "mot de passe oublié" and the static files needs a session: a page redirects
to the sign-in form, a POST or an export answers 401. Every POST carries the session's CSRF token.
The queries are the CLI's (staff/, ka2/helpdesk_store.py) plus staff/web/queries.py and
ka2/staff_store.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import os
import re
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Dict, Mapping, Optional
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sanic import Sanic, response
from sanic.request import Request

from ka2 import helpdesk_store, notify, settings, staff_store
from ka2.database_url import helpdesk_db_url, tracker_db_url
from ka2.knowledge import get_knowledge_base
from staff import conversations, reports, search
from staff.cli import parse_date

from . import auth, queries

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SESSION_COOKIE = "ka2_staff_session"
PRE_COOKIE = "ka2_staff_pre"
PUBLIC_PATHS = {"/connexion", "/mot-de-passe-oublie", "/reinitialiser"}
FAILURE_WINDOW_MINUTES = 15
# Failures from one address (several accounts tried) before it is refused too.
ADDRESS_FACTOR = 4
DEFAULT_DAYS = 30
AGENCY_LABELS = {
    "bij": "BIJ (jeunesse)",
    "aef": "AEF-Europe (éducation et formation)",
    "all": "Toutes (administration)",
}
STATUS_LABELS = {"open": "À traiter", "done": "Traitées", "all": "Toutes"}
VERDICT_LABELS = {"answer": "Réponse à ajouter", "example": "Exemple à ajouter", "off_topic": "Hors sujet"}
ACTION_LABELS = {
    "take": "prise en charge",
    "note": "note interne",
    "reply": "réponse envoyée par e-mail",
    "done": "marquée traitée",
    "reopen": "rouverte",
}
NOTICES = {
    "taken": "Vous avez pris en charge cette demande.",
    "noted": "Note interne ajoutée.",
    "replied": "Réponse envoyée par e-mail et enregistrée avec la demande.",
    "done": "Demande marquée comme traitée.",
    "marked": "Décision enregistrée pour ce groupe.",
    "user_added": "Compte enregistré.",
    "user_disabled": "Compte désactivé.",
    "password_changed": "Mot de passe modifié : vous pouvez vous connecter.",
    "signed_out": "Vous êtes déconnecté.",
}
# Errors passed through a redirect by code, never as text (a link could otherwise make the console say anything).
ERRORS = {
    "empty": "Écrivez un texte avant d'envoyer.",
    "smtp_off": "L'envoi d'e-mails n'est pas configuré (variable KA2_SMTP_HOST) : rien n'a été envoyé.",
    "smtp_failed": "L'envoi de l'e-mail a échoué (détails dans le journal de la console) ; rien n'a été enregistré.",
}
RESET_SENT = (
    "Si un compte existe pour cette adresse, un e-mail contenant un lien de réinitialisation vient de lui être "
    "envoyé. Le lien est valable une heure."
)
BAD_LOGIN = "Adresse e-mail ou mot de passe incorrect."
TOO_MANY = "Trop de tentatives de connexion. Réessayez dans 15 minutes."
BOLD = re.compile(r"\*\*(.+?)\*\*")


def answer_html(text: str) -> Markup:
    """An answer as the chat shows it: escaped first, then its Markdown bold and bullet lists."""
    blocks, items = [], []
    for line in str(text).splitlines():
        html = BOLD.sub(r"<strong>\1</strong>", str(escape(line)))
        if line.startswith("- "):
            items.append(f"<li>{html[2:]}</li>")
            continue
        if items:
            blocks.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if line.strip():
            blocks.append(f"<p>{html}</p>")
    if items:
        blocks.append("<ul>" + "".join(items) + "</ul>")
    return Markup("".join(blocks))


def french_datetime(value: Optional[dt.datetime]) -> str:
    return value.strftime("%d/%m/%Y %H:%M") if value else ""


def decimal(value: Optional[float]) -> str:
    return f"{value or 0:.2f}".replace(".", ",")


def percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f} %".replace(".", ",")


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


def create_app(env: Optional[Mapping[str, str]] = None) -> Sanic:
    env = os.environ if env is None else env
    config = Config(env)
    app = Sanic("ka2_staff_console")
    # Forms only: a request body beyond 256 KiB is refused (413) before any handler runs.
    app.config.REQUEST_MAX_SIZE = 256 * 1024
    app.static("/static", str(HERE / "static"))
    templates = Environment(
        loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]), trim_blocks=True
    )
    templates.filters.update(when=french_datetime, percent=percent, answer=answer_html, decimal=decimal)
    templates.globals.update(
        agency_labels=AGENCY_LABELS,
        status_labels=STATUS_LABELS,
        verdict_labels=VERDICT_LABELS,
        action_labels=ACTION_LABELS,
        speakers=notify.SPEAKERS,
        base=config.base,
    )
    tracker = sa.create_engine(config.tracker_url, future=True)
    # Create the staff tables at start-up, not on the first request.
    staff_store.engine(config.helpdesk_url)
    db = config.helpdesk_url

    # -----------------------------------------------------------------------------------------
    # Sessions, CSRF, headers

    def address(request: Request) -> str:
        return str(request.remote_addr or request.ip or "?")[:64]

    def render(request: Request, name: str, code: int = 200, **values: Any) -> response.HTTPResponse:
        notice = NOTICES.get(request.args.get("ok", ""))
        html = templates.get_template(name).render(
            user=request.ctx.user, csrf=request.ctx.csrf, notice=notice, path=request.path, **values
        )
        return response.html(html, status=code)

    def set_cookie(resp: response.HTTPResponse, name: str, value: str, max_age: int) -> None:
        resp.cookies[name] = value
        cookie = resp.cookies[name]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict" if name == SESSION_COOKIE else "Lax"
        cookie["path"] = config.base or "/"
        cookie["max-age"] = max_age
        if config.secure_cookies:
            cookie["secure"] = True

    @app.on_request
    async def authenticate(request: Request):
        request.ctx.user = None
        request.ctx.new_pre = None
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            request.ctx.user = staff_store.session_user(auth.keyed_hash(config.secret, token), db)
        if request.ctx.user is not None:
            request.ctx.csrf = auth.csrf_token(config.secret, token)
        else:
            # Before sign-in, the forms are tied to a random cookie of their own (login CSRF).
            pre = request.cookies.get(PRE_COOKIE)
            if not pre:
                pre = request.ctx.new_pre = auth.new_token()
            request.ctx.csrf = auth.csrf_token(config.secret, "pre:" + pre)
        public = request.path in PUBLIC_PATHS or request.path.startswith("/static/")
        if request.ctx.user is None and not public:
            if request.method == "GET" and not request.path.endswith((".csv", ".yml")):
                return response.redirect(config.base + "/connexion?suite=" + quote(request.path))
            return response.text("Session requise : connectez-vous.", status=401)
        if request.method == "POST":
            submitted = request.form.get("csrf") if request.form else None
            if not submitted or not hmac.compare_digest(submitted, request.ctx.csrf):
                return response.text(
                    "Formulaire expiré ou invalide (jeton CSRF) : rechargez la page et recommencez.", status=403
                )

    @app.on_response
    async def headers(request: Request, resp: response.HTTPResponse):
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        )
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"
        if getattr(request.ctx, "new_pre", None):
            set_cookie(resp, PRE_COOKIE, request.ctx.new_pre, 3600)

    @app.exception(Exception)
    async def failure(request: Request, error: Exception):
        status = getattr(error, "status_code", 500)
        if status == 500:
            logger.exception("Staff console error on %s", request.path)
            message = "Une erreur est survenue (détails dans le journal de la console). Réessayez plus tard."
        elif status == 404:
            message = "Page introuvable."
        else:
            message = "Requête refusée."
        if not hasattr(request.ctx, "user"):
            return response.text(message, status=status)
        return render(request, "message.html", code=status, title=message, message=message)

    def redirect(path: str, **params: str) -> response.HTTPResponse:
        return response.redirect(config.base + path + ("?" + urlencode(params) if params else ""), status=303)

    def form(request: Request, name: str) -> str:
        return (request.form.get(name) or "").strip() if request.form else ""

    def audit(request: Request, action: str, detail: str = "") -> None:
        staff_store.audit(request.ctx.user.email, action, detail, db)

    def since_from(request: Request) -> tuple:
        """(date, error) from ?depuis=, by default DEFAULT_DAYS ago."""
        text = request.args.get("depuis", "").strip()
        if not text:
            return dt.date.today() - dt.timedelta(days=DEFAULT_DAYS), None
        try:
            return parse_date(text), None
        except Exception as error:  # noqa: BLE001 - argparse's message is French already
            return dt.date.today() - dt.timedelta(days=DEFAULT_DAYS), str(error)

    def utc_midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time()).astimezone(dt.timezone.utc).replace(tzinfo=None)

    def messages_since(day: dt.date):
        return conversations.read_messages(tracker, dt.datetime.combine(day, dt.time()))

    async def send(message: EmailMessage) -> Optional[str]:
        """Send through ka2/notify's SMTP settings; an ERRORS code, or None when sent."""
        smtp = notify.smtp_settings(config.env)
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

    # -----------------------------------------------------------------------------------------
    # Sign-in, sign-out, forgotten password

    @app.get("/connexion")
    async def login_form(request: Request):
        if request.ctx.user:
            return redirect("/demandes")
        return render(request, "login.html", title="Connexion", suite=request.args.get("suite", ""))

    @app.post("/connexion")
    async def login(request: Request):
        email, password = form(request, "email"), request.form.get("password") or ""
        suite = form(request, "suite")
        failures = staff_store.recent_login_failures(email, address(request), FAILURE_WINDOW_MINUTES, db)
        if failures["email"] >= config.max_failures or failures["address"] >= ADDRESS_FACTOR * config.max_failures:
            logger.warning("Staff console: sign-in refused (rate limit) from %s", address(request))
            return render(request, "login.html", code=429, title="Connexion", error=TOO_MANY, email=email)
        user = staff_store.get_user_by_email(email, db) if email else None
        if user is None or not user.active or not auth.verify_password(user.password_hash, password):
            if user is None:
                auth.verify_password(None, password)  # as slow as a wrong password
            staff_store.record_login_failure(email, address(request), db)
            return render(request, "login.html", code=401, title="Connexion", error=BAD_LOGIN, email=email)
        staff_store.clear_login_failures(email, db)
        token = auth.new_token()
        staff_store.create_session(auth.keyed_hash(config.secret, token), user.id, config.session_minutes, db)
        staff_store.audit(user.email, "connexion", address(request), db)
        target = suite if suite.startswith("/") and not suite.startswith("//") else "/demandes"
        resp = response.redirect(config.base + target, status=303)
        set_cookie(resp, SESSION_COOKIE, token, config.session_minutes * 60)
        return resp

    @app.post("/deconnexion")
    async def logout(request: Request):
        staff_store.end_session(auth.keyed_hash(config.secret, request.cookies.get(SESSION_COOKIE, "")), db)
        audit(request, "déconnexion")
        resp = redirect("/connexion", ok="signed_out")
        del resp.cookies[SESSION_COOKIE]
        return resp

    @app.get("/mot-de-passe-oublie")
    async def forgot_form(request: Request):
        return render(request, "forgot.html", title="Mot de passe oublié")

    @app.post("/mot-de-passe-oublie")
    async def forgot(request: Request):
        email = form(request, "email")
        user = staff_store.get_user_by_email(email, db) if email else None
        if user is not None and user.active:
            token = auth.new_token()
            staff_store.create_reset_token(auth.keyed_hash(config.secret, token), user.id, db_url=db)
            message = EmailMessage()
            message["Subject"] = "[Console KA2] Réinitialisation de votre mot de passe"
            message["To"] = user.email
            message.set_content(
                "Bonjour,\n\nUne réinitialisation du mot de passe de votre compte de la console du personnel a été "
                f"demandée. Pour choisir un nouveau mot de passe, ouvrez ce lien dans l'heure :\n\n"
                f"{config.public_url}/reinitialiser?jeton={token}\n\n"
                "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe reste "
                "inchangé.\n"
            )
            problem = await send(message)
            if problem:
                logger.warning("Staff console: reset link not sent: %s", problem)
            staff_store.audit(user.email, "mot de passe oublié", "lien envoyé" if not problem else problem, db)
        # The same answer whether the account exists or not.
        return render(request, "forgot.html", title="Mot de passe oublié", sent=RESET_SENT)

    @app.get("/reinitialiser")
    async def reset_form(request: Request):
        token = request.args.get("jeton", "")
        valid = bool(token) and staff_store.reset_token_valid(auth.keyed_hash(config.secret, token), db)
        return render(request, "reset.html", title="Nouveau mot de passe", token=token, valid=valid)

    @app.post("/reinitialiser")
    async def reset(request: Request):
        token, password = form(request, "jeton"), request.form.get("password") or ""
        problem = auth.password_problem(password)
        if problem or password != (request.form.get("confirmation") or ""):
            error = problem or "Les deux mots de passe ne sont pas identiques."
            return render(
                request, "reset.html", code=400, title="Nouveau mot de passe", token=token, valid=True, error=error
            )
        user_id = staff_store.use_reset_token(auth.keyed_hash(config.secret, token), db) if token else None
        if user_id is None:
            return render(request, "reset.html", code=400, title="Nouveau mot de passe", token="", valid=False)
        staff_store.set_password(user_id, auth.hash_password(password), db)
        user = staff_store.get_user(user_id, db)
        staff_store.audit(user.email if user else str(user_id), "mot de passe réinitialisé", "", db)
        return redirect("/connexion", ok="password_changed")

    # -----------------------------------------------------------------------------------------
    # Contact requests

    @app.get("/")
    async def home(request: Request):
        return redirect("/demandes")

    @app.get("/demandes")
    async def inbox(request: Request):
        status = request.args.get("statut", "open")
        status = status if status in STATUS_LABELS else "open"
        stored = helpdesk_store.list_handoffs(None if status == "all" else status, db_url=db)
        handoffs = queries.visible_handoffs(stored, request.ctx.user.agency)
        history = staff_store.request_history([h.id for h in handoffs], db)
        return render(
            request,
            "inbox.html",
            title="Demandes de contact",
            handoffs=handoffs,
            history=history,
            status=status,
            kb=get_knowledge_base(),
        )

    def visible_handoff(request: Request, handoff_id: int) -> helpdesk_store.StoredHandoff:
        handoff = helpdesk_store.get_handoff(handoff_id, db)
        # Another agency's request is answered as a missing one: its existence is not staff's business.
        if handoff is None or not queries.may_see(handoff, request.ctx.user.agency):
            raise NotFoundError()
        return handoff

    @app.get("/demandes/<handoff_id:int>")
    async def request_page(request: Request, handoff_id: int):
        handoff = visible_handoff(request, handoff_id)
        history = staff_store.request_history([handoff.id], db)[handoff.id]
        return render(
            request,
            "request.html",
            title=f"Demande n° {handoff.id}",
            handoff=handoff,
            history=history,
            kb=get_knowledge_base(),
            error=ERRORS.get(request.args.get("erreur", ""), ""),
        )

    @app.post("/demandes/<handoff_id:int>/<action:(prendre|note|repondre|terminer)>")
    async def request_action(request: Request, handoff_id: int, action: str):
        handoff = visible_handoff(request, handoff_id)
        email = request.ctx.user.email
        page = f"/demandes/{handoff.id}"
        if action == "prendre":
            staff_store.add_request_event(handoff.id, email, "take", db_url=db)
            audit(request, "demande prise en charge", f"n° {handoff.id}")
            return redirect(page, ok="taken")
        if action == "terminer":
            helpdesk_store.mark_done(handoff.id, db)
            staff_store.add_request_event(handoff.id, email, "done", db_url=db)
            audit(request, "demande traitée", f"n° {handoff.id}")
            return redirect(page, ok="done")
        text = form(request, "texte")
        if not text:
            return redirect(page, erreur="empty")
        if action == "note":
            staff_store.add_request_event(handoff.id, email, "note", text, db)
            audit(request, "note interne", f"n° {handoff.id}")
            return redirect(page, ok="noted")
        message = EmailMessage()
        message["Subject"] = f"Votre demande de contact n° {handoff.id} – assistant Erasmus+ KA2"
        message["To"] = handoff.email
        reply_to = notify.helpdesk_address(handoff.agency_id, config.env)
        if reply_to:
            message["Reply-To"] = reply_to
        message.set_content(f"Bonjour {handoff.name},\n\n{text}\n")
        problem = await send(message)
        if problem:
            return redirect(page, erreur=problem)
        staff_store.add_request_event(handoff.id, email, "reply", text, db)
        audit(request, "réponse par e-mail", f"n° {handoff.id}")
        return redirect(page, ok="replied")

    # -----------------------------------------------------------------------------------------
    # Conversations

    @app.get("/conversations")
    async def conversation_search(request: Request):
        since, error = since_from(request)
        until = None
        if request.args.get("jusqua", "").strip():
            try:
                until = parse_date(request.args.get("jusqua").strip())
            except Exception as problem:  # noqa: BLE001
                error = str(problem)
        filters = {k: request.args.get(k, "").strip() for k in ("canal", "texte", "intention", "note")}
        messages = messages_since(since)
        ratings = helpdesk_store.list_feedback(since=utc_midnight(since), db_url=db)
        rows = queries.search_conversations(
            messages, ratings, until, filters["canal"], filters["texte"], filters["intention"], filters["note"]
        )
        channels = sorted({m.channel for m in messages})
        intents = sorted({m.intent for m in messages if m.intent})
        return render(
            request,
            "conversations.html",
            title="Conversations",
            rows=rows[:200],
            total=len(rows),
            since=since,
            until=until,
            filters=filters,
            channels=channels,
            intents=intents,
            error=error,
        )

    # Sender ids may hold ":" (web:..., tg:...) or spaces: the links quote them, the route unquotes.
    @app.get("/conversations/<sender_id:str>", unquote=True)
    async def conversation(request: Request, sender_id: str):
        lines = queries.transcript(tracker, sender_id)
        if not lines:
            raise NotFoundError()
        ratings = [r for r in helpdesk_store.list_feedback(db_url=db) if r.sender_id == sender_id]
        # Reading a user's conversation is an access to personal data: it is logged too.
        audit(request, "consultation d'une conversation", sender_id)
        return render(
            request,
            "transcript.html",
            title=f"Conversation {sender_id}",
            sender_id=sender_id,
            lines=lines,
            ratings=ratings,
            low=conversations.LOW_CONFIDENCE,
        )

    # -----------------------------------------------------------------------------------------
    # Not understood

    def unanswered(since: dt.date):
        groups = reports.group_unanswered(messages_since(since))
        ratings = helpdesk_store.list_feedback(since=utc_midnight(since), db_url=db)
        return groups, reports.down_rated_by_answer(ratings), staff_store.group_marks_by_key(db)

    @app.get("/incompris")
    async def not_understood(request: Request):
        since, error = since_from(request)
        groups, down_rated, marks = unanswered(since)
        return render(
            request,
            "unanswered.html",
            title="Questions non comprises",
            groups=groups,
            down_rated=down_rated,
            marks=marks,
            key=queries.group_key,
            since=since,
            error=error,
            kb=get_knowledge_base(),
        )

    @app.post("/incompris/marquer")
    async def mark_group(request: Request):
        key, verdict, note = form(request, "groupe"), form(request, "decision"), form(request, "note")
        if verdict not in VERDICT_LABELS or not key:
            return response.text("Décision inconnue.", status=400)
        staff_store.mark_group(key, verdict, note, request.ctx.user.email, db)
        audit(request, "groupe non compris marqué", f"« {key} » : {VERDICT_LABELS[verdict]}")
        return redirect("/incompris", ok="marked", depuis=form(request, "depuis"))

    def download(body: str, name: str, kind: str) -> response.HTTPResponse:
        return response.text(
            body,
            content_type=f"{kind}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/incompris.csv")
    async def not_understood_csv(request: Request):
        since, _ = since_from(request)
        groups, _, marks = unanswered(since)
        audit(request, "export CSV des questions non comprises")
        return download(queries.unanswered_csv(groups, marks), "non-compris.csv", "text/csv")

    @app.get("/incompris.yml")
    async def not_understood_yaml(request: Request):
        since, _ = since_from(request)
        groups, _, marks = unanswered(since)
        audit(request, "export YAML des exemples candidats")
        return download(queries.training_yaml(groups, marks), "exemples-candidats.yml", "text/yaml")

    # -----------------------------------------------------------------------------------------
    # Statistics

    def statistics(since: dt.date) -> Dict[str, Any]:
        messages = messages_since(since)
        utc_since = utc_midnight(since)
        stats = reports.compute_stats(
            since,
            messages,
            helpdesk_store.list_handoffs(status=None, since=utc_since, db_url=db),
            helpdesk_store.list_feedback(since=utc_since, db_url=db),
        )
        entities = queries.entity_counts(tracker, dt.datetime.combine(since, dt.time()))
        return {"stats": stats, "understood": queries.understood_share(messages), "entities": entities}

    @app.get("/statistiques")
    async def statistics_page(request: Request):
        since, error = since_from(request)
        values = statistics(since)
        stats = values["stats"]
        chart_data = {
            "days": [d.strftime("%d/%m") for d, _, _ in stats.per_day],
            "conversations": [c for _, c, _ in stats.per_day],
            "messages": [m for _, _, m in stats.per_day],
            "channels": [c for c, _, _ in stats.by_channel],
            "channel_messages": [m for _, _, m in stats.by_channel],
            "intents": [i for i, _ in stats.top_intents],
            "intent_counts": [n for _, n in stats.top_intents],
        }
        return render(
            request, "stats.html", title="Statistiques", since=since, error=error, chart_data=chart_data, **values
        )

    @app.get("/statistiques.csv")
    async def statistics_csv(request: Request):
        since, _ = since_from(request)
        values = statistics(since)
        stats = values["stats"]
        rows = [
            ["total", "conversations", stats.conversations],
            ["total", "messages", stats.user_messages],
            ["total", "part comprise", percent(values["understood"])],
            ["total", "replis", stats.fallbacks],
            ["total", "hors sujet", stats.out_of_scope],
            ["total", "demandes de contact", stats.handoffs],
            ["total", "demandes traitées", stats.handoffs_done],
            ["total", "notes positives", stats.ratings_up],
            ["total", "notes négatives", stats.ratings_down],
        ]
        for day, count, messages in stats.per_day:
            rows += [[day.isoformat(), "conversations", count], [day.isoformat(), "messages", messages]]
        for channel, count, messages in stats.by_channel:
            rows += [[f"canal {channel}", "conversations", count], [f"canal {channel}", "messages", messages]]
        rows += [[f"intention {name}", "messages", count] for name, count in stats.top_intents]
        rows += [[f"entité {entity}={value}", "messages", count] for (entity, value), count in values["entities"]]
        audit(request, "export CSV des statistiques")
        return download(
            queries.csv_text(["période ou élément", "mesure", "valeur"], rows), "statistiques.csv", "text/csv"
        )

    # -----------------------------------------------------------------------------------------
    # Knowledge base

    @app.get("/connaissances")
    async def knowledge(request: Request):
        kb = get_knowledge_base()
        question = request.args.get("q", "").strip()
        if question:
            hits = [(kb.entries[h.entry_id], h.score) for h in search.rank_answers(kb, question, 30)]
        else:
            hits = [(entry, None) for entry in sorted(kb.entries.values(), key=lambda e: (e["type"], e["label"]))]
        return render(
            request, "knowledge.html", title="Base de connaissances", hits=hits, question=question, files=kb.files
        )

    @app.get("/connaissances/<entry_id:str>", unquote=True)
    async def knowledge_entry(request: Request, entry_id: str):
        kb = get_knowledge_base()
        entry = kb.get(entry_id)
        if entry is None:
            raise NotFoundError()
        return render(
            request,
            "entry.html",
            title=entry["label"],
            entry=entry,
            answer=search.body(kb, entry),
            source=search.source_line(kb, entry),
            file=kb.files[entry_id],
        )

    @app.post("/connaissances/verifier")
    async def knowledge_check(request: Request):
        # The very command `make check-knowledge` runs, so the messages are the same.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "scripts" / "knowledge.py"),
            "check",
            cwd=str(ROOT),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        audit(request, "vérification de la base de connaissances", f"code {process.returncode}")
        return render(
            request,
            "check.html",
            title="Vérification de la base",
            ok=process.returncode == 0,
            output=output.decode("utf-8", "replace"),
        )

    # -----------------------------------------------------------------------------------------
    # Privacy, accounts, audit log

    @app.get("/confidentialite")
    async def privacy(request: Request):
        return render(request, "privacy.html", title="Données personnelles", retention=config.retention_days)

    @app.post("/confidentialite/oublier")
    async def forget(request: Request):
        sender = form(request, "sender")
        if not sender:
            return render(
                request,
                "privacy.html",
                code=400,
                title="Données personnelles",
                retention=config.retention_days,
                error="Indiquez l'identifiant de la conversation.",
            )
        if form(request, "confirmation") != "oui":
            events = len(queries.transcript(tracker, sender))
            return render(request, "forget_confirm.html", title="Confirmer l'effacement", sender=sender, events=events)
        handoff_ids = [h.id for h in helpdesk_store.list_handoffs(None, db_url=db) if h.sender_id == sender]
        # The CLI's `forget`: the same two functions, in the same order.
        events = conversations.delete_conversation(tracker, sender)
        deleted = helpdesk_store.forget(sender, db_url=db)
        notes = staff_store.forget_request_events(handoff_ids, db)
        audit(request, "effacement des données d'un utilisateur", sender)
        return render(
            request,
            "privacy.html",
            title="Données personnelles",
            retention=config.retention_days,
            forgotten=sender,
            counts=(events, deleted.handoffs, deleted.feedback, notes),
        )

    def admin_only(request: Request) -> None:
        if not request.ctx.user.is_admin:
            raise ForbiddenError()

    def accounts_page(request: Request, error: str = "", code: int = 200) -> response.HTTPResponse:
        users = staff_store.list_users(db)
        return render(request, "accounts.html", code=code, title="Comptes", users=users, error=error)

    @app.get("/admin/comptes")
    async def accounts(request: Request):
        admin_only(request)
        return accounts_page(request)

    @app.post("/admin/comptes")
    async def add_account(request: Request):
        admin_only(request)
        email, agency, password = form(request, "email"), form(request, "agency"), request.form.get("password") or ""
        problem = auth.password_problem(password)
        if problem:
            return accounts_page(request, problem, 400)
        try:
            staff_store.add_user(email, agency, auth.hash_password(password), db)
        except ValueError as error:
            return accounts_page(request, str(error), 400)
        audit(request, "compte enregistré", f"{email} ({agency})")
        return redirect("/admin/comptes", ok="user_added")

    @app.post("/admin/comptes/<user_id:int>/desactiver")
    async def disable_account(request: Request, user_id: int):
        admin_only(request)
        target = staff_store.get_user(user_id, db)
        if target is None:
            raise NotFoundError()
        staff_store.set_active(user_id, False, db)
        audit(request, "compte désactivé", target.email)
        return redirect("/admin/comptes", ok="user_disabled")

    @app.get("/admin/journal")
    async def audit_page(request: Request):
        admin_only(request)
        return render(request, "audit.html", title="Journal des actions", entries=staff_store.audit_entries(db_url=db))

    app.ctx.config = config
    return app


class NotFoundError(Exception):
    status_code = 404


class ForbiddenError(Exception):
    status_code = 403

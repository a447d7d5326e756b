"""Contact requests (inbox, one request and what staff do on it) and conversations."""

from __future__ import annotations

from email.message import EmailMessage

from sanic import Sanic
from sanic.request import Request

from ka2 import helpdesk_store, notify, staff_store
from ka2.knowledge import get_knowledge_base
from staff import conversations
from staff.cli import parse_date

from . import queries
from .texts import ERRORS, STATUS_LABELS
from .web import NotFoundError, Web


def register(app: Sanic, web: Web) -> None:
    # The page helpers under short names, as in one module.
    config, db, tracker = web.config, web.db, web.tracker
    render, redirect, form, audit = web.render, web.redirect, web.form, web.audit
    send, since_from, utc_midnight, messages_since = web.send, web.since_from, web.utc_midnight, web.messages_since
    visible_handoff = web.visible_handoff

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

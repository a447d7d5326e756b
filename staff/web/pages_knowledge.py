"""The knowledge base and personal data (retention, erasure)."""

from __future__ import annotations

import asyncio
import sys

from sanic import Sanic
from sanic.request import Request

from ka2 import helpdesk_store, staff_store
from ka2.knowledge import get_knowledge_base
from staff import conversations, search

from . import queries
from .texts import ROOT
from .web import NotFoundError, Web


def register(app: Sanic, web: Web) -> None:
    # The page helpers under short names, as in one module.
    config, db, tracker = web.config, web.db, web.tracker
    render, form, audit = web.render, web.form, web.audit

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

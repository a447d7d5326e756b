"""What the assistant did not understand, and the statistics, with their exports."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict

from sanic import Sanic, response
from sanic.request import Request

from ka2 import helpdesk_store, staff_store
from ka2.knowledge import get_knowledge_base
from staff import reports

from . import queries
from .texts import VERDICT_LABELS, percent
from .web import Web


def register(app: Sanic, web: Web) -> None:
    # The page helpers under short names, as in one module.
    db, tracker = web.db, web.tracker
    render, redirect, form, audit = web.render, web.redirect, web.form, web.audit
    since_from, utc_midnight, messages_since, download = (
        web.since_from,
        web.utc_midnight,
        web.messages_since,
        web.download,
    )

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

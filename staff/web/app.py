"""The staff web console: a Sanic app rendering Jinja2 templates (autoescaped), with little JavaScript.

Every route but sign-in, "mot de passe oublié" and the static files needs a session: a page redirects
to the sign-in form, a POST or an export answers 401. Every POST carries the session's CSRF token.
The queries are the CLI's (staff/, ka2/helpdesk_store.py) plus staff/web/queries.py and
ka2/staff_store.py. The pages are in pages_*.py, their shared helpers in web.py.
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import Mapping, Optional
from urllib.parse import quote

from sanic import Sanic, response
from sanic.request import Request

from ka2 import staff_store

from . import auth, pages_accounts, pages_knowledge, pages_reports, pages_requests
from .texts import PRE_COOKIE, PUBLIC_PATHS, SESSION_COOKIE
from .web import HERE, Config, Web

logger = logging.getLogger(__name__)


def create_app(env: Optional[Mapping[str, str]] = None) -> Sanic:
    env = os.environ if env is None else env
    config = Config(env)
    web = Web(config)
    db, render, set_cookie = web.db, web.render, web.set_cookie
    app = Sanic("ka2_staff_console")
    # Forms only: a request body beyond 256 KiB is refused (413) before any handler runs.
    app.config.REQUEST_MAX_SIZE = 256 * 1024
    app.static("/static", str(HERE / "static"))

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

    for pages in (pages_accounts, pages_requests, pages_reports, pages_knowledge):
        pages.register(app, web)
    app.ctx.config = config
    return app

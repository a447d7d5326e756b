"""Sign-in, sign-out, forgotten password, accounts and the audit log."""

from __future__ import annotations

import logging
from email.message import EmailMessage

from sanic import Sanic, response
from sanic.request import Request

from ka2 import staff_store

from . import auth
from .texts import ADDRESS_FACTOR, BAD_LOGIN, FAILURE_WINDOW_MINUTES, RESET_SENT, SESSION_COOKIE, TOO_MANY
from .web import NotFoundError, Web

logger = logging.getLogger(__name__)


def register(app: Sanic, web: Web) -> None:
    # The page helpers under short names, as in one module.
    config, db = web.config, web.db
    render, redirect, form, audit = web.render, web.redirect, web.form, web.audit
    send, address, set_cookie, admin_only = web.send, web.address, web.set_cookie, web.admin_only

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

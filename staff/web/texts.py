"""The console's fixed texts (French), labels and template filters."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Optional

from markupsafe import Markup, escape

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


def plural(count: int, singular: str, plural_form: str = "") -> str:
    """ "1 demande", "2 demandes": the count with the noun agreeing (French: 0 and 1 are singular)."""
    return f"{count} {singular if abs(count) < 2 else (plural_form or singular + 's')}"


def percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f} %".replace(".", ",")

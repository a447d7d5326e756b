"""Email the right agency's helpdesk when a handoff request is stored (off by default).

Configured by environment variables; without `KA2_SMTP_HOST` nothing is sent:

    KA2_SMTP_HOST, KA2_SMTP_PORT (default 587; 465 means SMTP over TLS),
    KA2_SMTP_USER, KA2_SMTP_PASSWORD (optional login), KA2_SMTP_FROM (sender address),
    KA2_HELPDESK_EMAIL_BIJ, KA2_HELPDESK_EMAIL_AEF (each agency's helpdesk address),
    KA2_SMTP_TLS (default on: TLS is required; `off` only for a plain SMTP server in local tests),
    KA2_SMTP_CA_FILE (PEM file of the authority that signed the server's certificate, if not a public one).

TLS is required: implicit TLS on port 465, otherwise STARTTLS, which the server must offer. A server
that does not offer it (or a man in the middle stripping it) gets nothing: no password, no user's
details in clear; the request stays stored and the failure is logged in one line.

The request is always stored first (helpdesk_store.save_handoff); a failed notification is logged,
leaves `notified_at` empty and never raises, so the request is never lost: staff see it with
`ka2-staff handoffs list`. Agency names come from the knowledge base only.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Mapping, Optional, Tuple

from ka2.knowledge import KnowledgeBase, get_knowledge_base

from . import helpdesk_store
from . import settings as env_settings
from .helpdesk_store import HandoffRequest, StoredHandoff

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 15
SMTP_TLS_PORT = 465

# Outcomes of notify_handoff.
SENT = "sent"
DISABLED = "disabled"
NO_ADDRESS = "no_address"
FAILED = "failed"
NOT_FOUND = "not_found"

SPEAKERS = {"user": "Utilisateur", "bot": "Assistant"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: Optional[str] = None
    password: Optional[str] = None
    require_tls: bool = True
    ca_file: Optional[str] = None


class TlsUnavailable(smtplib.SMTPException):
    """The server does not offer STARTTLS while TLS is required: nothing is sent."""


def smtp_settings(env: Mapping[str, str]) -> Optional[SmtpSettings]:
    """The SMTP configuration, or None when notifications are off (no KA2_SMTP_HOST)."""
    host = env.get("KA2_SMTP_HOST", "").strip()
    if not host:
        return None
    user = env.get("KA2_SMTP_USER") or None
    return SmtpSettings(
        host=host,
        port=int(env.get("KA2_SMTP_PORT") or 587),
        sender=env.get("KA2_SMTP_FROM") or user or "assistant-ka2@localhost",
        user=user,
        password=env.get("KA2_SMTP_PASSWORD") or None,
        require_tls=env_settings.SMTP_TLS.get(env),
        ca_file=env_settings.SMTP_CA_FILE.get(env),
    )


def helpdesk_address(
    agency_id: Optional[str], env: Mapping[str, str], kb: Optional[KnowledgeBase] = None
) -> Optional[str]:
    """The configured helpdesk address of an agency, if any.

    The agency's entry names the variable (`helpdesk_email_env` in knowledge/agencies.yml); agencies
    without one are not e-mailed.
    """
    entry = (kb or get_knowledge_base()).get(agency_id or "") if agency_id else None
    variable = (entry or {}).get("helpdesk_email_env")
    if not variable:
        return None
    return (env.get(variable) or "").strip() or None


def _label(kb: Optional[KnowledgeBase], entry_id: Optional[str]) -> str:
    if not entry_id:
        return "non précisé"
    entry = kb.get(entry_id) if kb else None
    return f"{entry['label']} ({entry_id})" if entry else entry_id


def describe_handoff(handoff: StoredHandoff, kb: Optional[KnowledgeBase] = None) -> str:
    """The request in French, for the agency's email and `ka2-staff handoffs show`."""
    created = handoff.created_at.strftime("%d/%m/%Y à %H:%M") if handoff.created_at else "?"
    status = "traitée" if handoff.status == helpdesk_store.STATUS_DONE else "à traiter"
    notified = handoff.notified_at.strftime("%d/%m/%Y à %H:%M") if handoff.notified_at else "non"
    lines = [
        f"Demande n° {handoff.id}, reçue le {created} (UTC) – {status}",
        f"Nom : {handoff.name}",
        f"Adresse e-mail : {handoff.email}",
        f"Secteur : {_label(kb, handoff.sector)}",
        f"Agence : {_label(kb, handoff.agency_id)}",
        f"Canal : {handoff.channel or 'inconnu'}",
        f"Conversation : {handoff.sender_id}",
        f"Agence notifiée par e-mail : {notified}",
        "",
        "Question :",
        f"  {handoff.question}",
        "",
        f"Sujet détecté : {_label(kb, handoff.topic)}",
        "Derniers messages :",
    ]
    lines += [f"  {SPEAKERS.get(speaker, speaker)} : {text}" for speaker, text in handoff.last_messages]
    if not handoff.last_messages:
        lines.append("  (aucun)")
    return "\n".join(lines)


def one_line(text: str) -> str:
    """Text fit for a header: a newline in a name would make the message invalid (and the send fail)."""
    return " ".join(str(text).split())


def handoff_email(handoff: StoredHandoff, to: str, settings: SmtpSettings, kb: Optional[KnowledgeBase]) -> EmailMessage:
    agency = kb.get(handoff.agency_id) if kb and handoff.agency_id else None
    message = EmailMessage()
    message["Subject"] = f"[Assistant KA2] Demande de contact n° {handoff.id} – {one_line(handoff.name)}"
    message["From"] = settings.sender
    message["To"] = to
    message["Reply-To"] = one_line(handoff.email)
    intro = (
        f"Une personne demande à être recontactée par {agency['label'] if agency else 'votre agence'} "
        "via l'assistant Erasmus+ KA2."
    )
    outro = (
        "Répondez directement à la personne (« Répondre » utilise son adresse). Une fois la demande "
        f"traitée : ka2-staff handoffs done {handoff.id}"
    )
    message.set_content(f"{intro}\n\n{describe_handoff(handoff, kb)}\n\n{outro}\n")
    return message


def send_email(message: EmailMessage, settings: SmtpSettings) -> None:
    """Send one message; raises smtplib.SMTPException or OSError on failure."""
    context = ssl.create_default_context(cafile=settings.ca_file)
    if settings.port == SMTP_TLS_PORT:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        client.ehlo()
        if settings.port != SMTP_TLS_PORT:
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif settings.require_tls:
                raise TlsUnavailable(f"{settings.host}:{settings.port} does not offer STARTTLS")
        if settings.user:
            client.login(settings.user, settings.password or "")
        client.send_message(message)


def notify_handoff(
    handoff_id: int,
    db_url: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    kb: Optional[KnowledgeBase] = None,
) -> str:
    """Email a stored request to its agency's helpdesk; returns SENT, DISABLED, NO_ADDRESS, FAILED or NOT_FOUND.

    Never raises: the request stays in the database whatever happens here.
    """
    env = os.environ if env is None else env
    try:
        settings = smtp_settings(env)
        if settings is None:
            return DISABLED
        handoff = helpdesk_store.get_handoff(handoff_id, db_url)
        if handoff is None:
            logger.error("Handoff request %s not found: nothing to notify.", handoff_id)
            return NOT_FOUND
        to = helpdesk_address(handoff.agency_id, env, kb)
        if to is None:
            logger.warning("No helpdesk address for %s: handoff request %s not emailed.", handoff.agency_id, handoff_id)
            return NO_ADDRESS
        send_email(handoff_email(handoff, to, settings, kb), settings)
        helpdesk_store.mark_notified(handoff_id, db_url)
        return SENT
    except TlsUnavailable as error:
        logger.error(
            "Handoff request %s stored but not emailed: %s and TLS is required (KA2_SMTP_TLS).", handoff_id, error
        )
        return FAILED
    except Exception:  # noqa: BLE001 - a notification failure must never lose or block the request
        logger.exception("Handoff request %s stored but its notification failed.", handoff_id)
        return FAILED


def save_and_notify(
    request: HandoffRequest,
    db_url: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    kb: Optional[KnowledgeBase] = None,
) -> Tuple[int, str]:
    """Store the request, then email it: (request id, notification outcome).

    Storing may raise (the database is down: the action must say so); notifying never does.
    """
    handoff_id = helpdesk_store.save_handoff(request, db_url)
    return handoff_id, notify_handoff(handoff_id, db_url, env, kb)

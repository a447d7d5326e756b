"""What a user may send to the model, shared by the REST, socket.io and Telegram channels.

Every channel passes what a user typed through `check_message` before Rasa sees it:

- control characters, lone surrogates and zero-width characters are removed, the text is NFC;
- an empty message, one without a single letter or digit (emoji only, punctuation) or one longer than
  `KA2_MAX_MESSAGE_CHARS` (default 2000) gets a polite French reply and never reaches the model;
- a text starting with `/` is what Rasa reads as an intent payload (`/intent{"entity": "value"}`).
  Only what the bot's own buttons send is let through: an intent of the model's domain (not Rasa's
  internal ones) whose entities are domain entities with a known value (a knowledge-base id of the
  right type, or a short word without @ < > " { } for the others). So `/handoff{"email": ...}` or
  `/inform_sector{"sector": "n'importe quoi"}` are refused politely, a slash followed by anything that
  is not a payload (`/etc/passwd`, `/ bonjour`) is read as ordinary text, and `/restart` (the
  "Recommencer" of the channels) restarts the conversation and greets.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Collection, Dict, Iterable, List, Mapping, Optional, Tuple

from bot.server.errors import (  # noqa: F401 (re-exported)
    HANDLING_ERRORS,
    UNAVAILABLE,
    ServiceUnavailable,
    describe_error,
)
from ka2 import settings

logger = logging.getLogger(__name__)


EMPTY = "Votre message est vide. Posez-moi votre question sur l'Action clé 2 (KA2), s'il vous plaît."
TOO_LONG = (
    "Votre message est trop long ({length} caractères, {limit} au maximum) : je ne l'ai pas lu. "
    "Pouvez-vous résumer votre question en quelques phrases, s'il vous plaît ?"
)
NO_WORDS = "Je ne lis que les mots : écrivez-moi votre question sur l'Action clé 2, s'il vous plaît."
UNKNOWN_PAYLOAD = (
    "Ce choix n'est pas (ou plus) disponible. Posez votre question avec vos mots ou utilisez les boutons "
    "proposés, s'il vous plaît."
)

# Rasa's payload syntax (RegexMessageHandler), without the "@confidence" part nobody needs to type.
PAYLOAD = re.compile(r"^/(?P<intent>[A-Za-z0-9_]+)(?P<entities>\{.*\})?$", re.DOTALL)
# What Rasa would still try to read as a payload: "/word" then nothing, "{", "[" or "@".
PAYLOAD_LIKE = re.compile(r"^/[A-Za-z0-9_]+(?:$|[{\[@])")
# Intents Rasa handles internally: a user never sends them.
INTERNAL_INTENTS = {"session_start", "back", "nlu_fallback"}
RESTART = "restart"
# Values of entities that are not knowledge-base ids (a rating "up"/"down", a mention): a short word
# or phrase, accents allowed, nothing that carries structure or contact data (@ < > " { } / : ;).
IDENTIFIER = re.compile(r"^[^\W_][\w.' -]{0,63}$")
# Cf characters that are invisible and useless in a question (zero-width, bidi controls, BOM).
INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"}


@dataclass(frozen=True)
class Checked:
    """The outcome: `texts` to hand to Rasa in order, or a polite `reply` instead (`texts` empty)."""

    texts: Tuple[str, ...] = ()
    reply: Optional[str] = None
    reason: str = "ok"

    @property
    def refused(self) -> bool:
        return self.reply is not None


def max_chars(environ: Optional[Mapping[str, str]] = None) -> int:
    return settings.MAX_MESSAGE_CHARS.get(environ)


def clean_text(text: str) -> str:
    """NFC text without control characters (newlines and tabs become spaces), surrogates or invisibles."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\n\r\t":
            kept.append(" " if char == "\t" else char)
        elif category in ("Cc", "Cs", "Co", "Cn") or char in INVISIBLE:
            continue
        else:
            kept.append(char)
    cleaned = unicodedata.normalize("NFC", "".join(kept)).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(" ".join(line.split()) for line in cleaned.split("\n")).strip()


class PayloadPolicy:
    """Which `/intent{...}` payloads a user may send: those the bot's own buttons carry."""

    def __init__(
        self,
        intents: Collection[str],
        entities: Collection[str],
        known_values: Optional[Mapping[str, Collection[str]]] = None,
    ):
        """`known_values`: entity -> the values it may take (entities absent from it: identifiers)."""
        self.intents = set(intents) - INTERNAL_INTENTS
        self.entities = set(entities)
        self.known_values = {k: set(v) for k, v in (known_values or {}).items()}

    @classmethod
    def from_domain(cls, domain: Any) -> PayloadPolicy:
        return cls(domain.intents, domain.entities, knowledge_values())

    def allows(self, intent: str, entities: Dict[str, Any]) -> bool:
        if intent != RESTART and intent not in self.intents:
            return False
        for name, value in entities.items():
            if name not in self.entities or not isinstance(value, str):
                return False
            allowed = self.known_values.get(name)
            if allowed is not None and value not in allowed:
                return False
            if allowed is None and not IDENTIFIER.match(value):
                return False
        return True


def knowledge_values() -> Dict[str, List[str]]:
    """Entity -> knowledge-base ids it may carry in a button payload; {} when the base is unavailable."""
    try:
        from ka2.knowledge import ENTITY_ENTRY_TYPES, get_knowledge_base

        kb = get_knowledge_base()
    except Exception as error:  # the Rasa server may run without the knowledge base next to it
        logger.warning(f"Knowledge base not available to check button payloads, ids are checked by form only: {error}")
        return {}
    values: Dict[str, List[str]] = {"topic": list(kb.entries)}
    for entity, entry_type in ENTITY_ENTRY_TYPES.items():
        values[entity] = [entry_id for entry_id, entry in kb.entries.items() if entry["type"] == entry_type]
    if "management" in values:  # management payloads name decentralised/centralised topics
        values["management"] = list(kb.entries)
    return values


def check_payload(text: str, policy: Optional[PayloadPolicy]) -> Optional[Checked]:
    """A well-formed payload: allowed (`texts`) or refused (`reply`); None when `text` is not a payload."""
    match = PAYLOAD.match(text)
    if not match:
        return Checked(reply=UNKNOWN_PAYLOAD, reason="payload_malformed") if PAYLOAD_LIKE.match(text) else None
    intent, raw_entities = match["intent"], match["entities"]
    entities: Any = {}
    if raw_entities:
        try:
            entities = json.loads(raw_entities)
        except ValueError:
            return Checked(reply=UNKNOWN_PAYLOAD, reason="payload_malformed")
        if not isinstance(entities, dict):
            return Checked(reply=UNKNOWN_PAYLOAD, reason="payload_malformed")
    if intent == RESTART and not entities:
        return Checked(texts=("/restart", "/greet"), reason="restart")
    if policy is None or not policy.allows(intent, entities):
        return Checked(reply=UNKNOWN_PAYLOAD, reason="payload_refused")
    canonical = "/" + intent + (json.dumps(entities, ensure_ascii=False, separators=(",", ":")) if entities else "")
    return Checked(texts=(canonical,), reason="payload")


def check_message(text: Any, policy: Optional[PayloadPolicy] = None, limit: Optional[int] = None) -> Checked:
    """What to do with one message a user typed (or a button they pressed)."""
    if not isinstance(text, str):
        return Checked(reply=EMPTY, reason="not_text")
    limit = limit or max_chars()
    if len(text) > limit * 4:  # do not even clean a huge text
        return Checked(reply=TOO_LONG.format(length=len(text), limit=limit), reason="too_long")
    cleaned = clean_text(text)
    if not cleaned:
        return Checked(reply=EMPTY, reason="empty")
    if len(cleaned) > limit:
        return Checked(reply=TOO_LONG.format(length=len(cleaned), limit=limit), reason="too_long")
    if cleaned.startswith("/"):
        payload = check_payload(cleaned, policy)
        if payload is not None:
            return payload
        # Not a payload: read it as text, without the slashes Rasa would take for one.
        cleaned = cleaned.lstrip("/").strip()
        if not cleaned:
            return Checked(reply=EMPTY, reason="empty")
    if not any(char.isalnum() for char in cleaned):
        return Checked(reply=NO_WORDS, reason="no_words")
    return Checked(texts=(cleaned,))


def check_messages(texts: Iterable[str], policy: Optional[PayloadPolicy] = None) -> Checked:
    """Several messages of one update (Telegram's "/recommencer" gives "/restart", "/greet")."""
    out: List[str] = []
    for text in texts:
        checked = check_message(text, policy)
        if checked.refused:
            return checked
        for item in checked.texts:
            if not (out and out[-1] == item == "/greet"):
                out.append(item)
    return Checked(texts=tuple(out)) if out else Checked(reply=EMPTY, reason="empty")


class DomainPolicy:
    """The payload policy of the model the server runs, rebuilt when the model changes."""

    def __init__(self) -> None:
        self.app: Any = None
        self._domain: Any = None
        self._policy: Optional[PayloadPolicy] = None

    def attach(self, blueprint: Any) -> None:
        """Remember the Sanic app (its `ctx.agent` holds the loaded model) when the server starts."""

        @blueprint.listener("before_server_start")
        async def remember_app(app: Any, *_: Any) -> None:
            self.app = app

    def __call__(self) -> Optional[PayloadPolicy]:
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        domain = getattr(agent, "domain", None)
        if domain is None:
            return None
        if domain is not self._domain:
            self._domain, self._policy = domain, PayloadPolicy.from_domain(domain)
        return self._policy

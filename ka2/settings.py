"""Every environment variable of the assistant, declared once, parsed and validated in one place.

A module reads its setting with `SETTING.get()` (or `SETTING.get(env)` in tests); a value that is
set but invalid raises `SettingsError` naming the variable, so a typo in a deployment stops the
process at start-up (`validate()`, called by the servers' start-up code) with one line, instead of
being silently replaced by a default.

Structured groups (the databases' URLs in `database_url`, SMTP in `notify`, Telegram in the channel)
parse their own variables with these readers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Generic, List, Mapping, Optional, Tuple, TypeVar

T = TypeVar("T")
TRUE = {"1", "true", "yes", "on", "oui"}
FALSE = {"0", "false", "no", "off", "non"}


class SettingsError(ValueError):
    """An environment variable is set to a value the assistant cannot use."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r}: {expected}")
        self.name = name


def environ(env: Optional[Mapping[str, str]] = None) -> Mapping[str, str]:
    return os.environ if env is None else env


def raw(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The variable's value without surrounding spaces, None when unset or empty."""
    value = environ(env).get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class Setting(Generic[T]):
    name: str
    default: T
    help: str

    def parse(self, value: str) -> T:
        raise NotImplementedError

    def get(self, env: Optional[Mapping[str, str]] = None) -> T:
        value = raw(self.name, env)
        return self.default if value is None else self.parse(value)


@dataclass(frozen=True)
class Integer(Setting[int]):
    minimum: int = 1
    maximum: Optional[int] = None

    def parse(self, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(self.name, value, "un nombre entier est attendu") from None
        if number < self.minimum or (self.maximum is not None and number > self.maximum):
            bounds = f"au moins {self.minimum}" + (f", au plus {self.maximum}" if self.maximum is not None else "")
            raise SettingsError(self.name, value, f"la valeur doit être {bounds}")
        return number


@dataclass(frozen=True)
class Number(Setting[float]):
    minimum: float = 0.0

    def parse(self, value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(self.name, value, "un nombre est attendu") from None
        if not number > self.minimum:
            raise SettingsError(self.name, value, f"la valeur doit être supérieure à {self.minimum:g}")
        return number


@dataclass(frozen=True)
class Flag(Setting[bool]):
    def parse(self, value: str) -> bool:
        lowered = value.lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise SettingsError(self.name, value, "1 ou 0 est attendu")


@dataclass(frozen=True)
class Text(Setting[Optional[str]]):
    def parse(self, value: str) -> Optional[str]:
        return value


@dataclass(frozen=True)
class Words(Setting[Tuple[str, ...]]):
    """Values separated by spaces or commas (origins...)."""

    def parse(self, value: str) -> Tuple[str, ...]:
        return tuple(word for word in value.replace(",", " ").split() if word)


REGISTRY: Dict[str, Setting[Any]] = {}


def declare(setting: Setting[T]) -> Setting[T]:
    if setting.name in REGISTRY:
        raise ValueError(f"{setting.name} declared twice")
    REGISTRY[setting.name] = setting
    return setting


KNOWLEDGE_DIR = declare(Text("KA2_KNOWLEDGE_DIR", None, "dossier de la base de connaissances (défaut : knowledge/)"))
MAX_MESSAGE_CHARS = declare(Integer("KA2_MAX_MESSAGE_CHARS", 2000, "longueur maximale d'un message", minimum=1))
MAX_BODY_BYTES = declare(
    Integer("KA2_MAX_BODY_BYTES", 64 * 1024, "taille maximale d'une requête REST (octets)", minimum=1024)
)
ACTION_TIMEOUT = declare(Number("KA2_ACTION_TIMEOUT", 10.0, "délai de réponse du serveur d'actions (secondes)"))
DB_RETRY_SECONDS = declare(
    Number("KA2_DB_RETRY_SECONDS", 3.0, "durée des nouvelles tentatives vers la base de conversations (s)")
)
RETENTION_DAYS = declare(
    Integer("KA2_RETENTION_DAYS", 180, "durée de conservation des conversations (jours)", minimum=0)
)
LOG_EMAILS = declare(Flag("KA2_LOG_EMAILS", False, "1 : ne pas masquer les adresses e-mail dans les journaux"))
LAZY_MATCHER = declare(Flag("KA2_LAZY_MATCHER", False, "1 : charger spaCy au premier usage (tests)"))
SMTP_TLS = declare(
    Flag(
        "KA2_SMTP_TLS",
        True,
        "0/off : autoriser l'envoi SMTP sans chiffrement (tests locaux uniquement ; défaut : TLS exigé)",
    )
)
SMTP_CA_FILE = declare(Text("KA2_SMTP_CA_FILE", None, "certificat(s) d'autorité pour vérifier le serveur SMTP (PEM)"))
MAX_HANDOFFS_PER_DAY = declare(
    Integer("KA2_MAX_HANDOFFS_PER_DAY", 3, "demandes de contact par conversation et par jour (au plus)", minimum=1)
)
ALLOWED_ORIGINS = declare(Words("KA2_ALLOWED_ORIGINS", (), "origines autorisées pour le widget (socket.io)"))

# Channels: REST access, throttling, bounded inputs (bot/channels/).
REST_TOKEN = declare(Text("KA2_REST_TOKEN", None, "jeton exigé par le canal REST (Authorization: Bearer ...)"))
REST_OPEN = declare(
    Flag("KA2_REST_OPEN", False, "1 : canal REST ouvert sans jeton, pour les seuls clients de 127.0.0.1 (make run)")
)
SOCKET_WITHOUT_ORIGIN = declare(
    Flag("KA2_SOCKETIO_ALLOW_NO_ORIGIN", False, "1 : accepter les clients socket.io sans en-tête Origin")
)
RATE_PER_SENDER = declare(
    Integer("KA2_RATE_PER_SENDER", 20, "messages par conversation et par fenêtre de limitation", minimum=1)
)
RATE_PER_CLIENT = declare(
    Integer("KA2_RATE_PER_CLIENT", 120, "messages par adresse de client et par fenêtre de limitation", minimum=1)
)
RATE_WINDOW_SECONDS = declare(
    Integer("KA2_RATE_WINDOW_SECONDS", 60, "durée de la fenêtre de limitation (secondes)", minimum=1)
)
TRUSTED_PROXIES = declare(
    Integer("KA2_TRUSTED_PROXIES", 0, "mandataires inverses devant Rasa (X-Forwarded-For lu)", minimum=0, maximum=5)
)
MAX_METADATA_BYTES = declare(
    Integer("KA2_MAX_METADATA_BYTES", 1024, "taille maximale des métadonnées d'un message (octets)", minimum=2)
)
MAX_SOCKET_BYTES = declare(
    Integer("KA2_MAX_SOCKET_BYTES", 16 * 1024, "taille maximale d'un paquet socket.io (octets)", minimum=1024)
)
REDIS_HOST = declare(Text("KA2_REDIS_HOST", None, "hôte Redis (verrous, limitation partagée entre instances)"))
REDIS_PORT = declare(Integer("KA2_REDIS_PORT", 6379, "port Redis", minimum=1, maximum=65535))
REDIS_DB = declare(Integer("KA2_REDIS_DB", 0, "base Redis", minimum=0))
REDIS_PASSWORD = declare(Text("KA2_REDIS_PASSWORD", None, "mot de passe Redis"))


def validate(env: Optional[Mapping[str, str]] = None) -> List[str]:
    """Parse every declared variable; raises the first SettingsError. Returns the names that are set."""
    for setting in REGISTRY.values():
        setting.get(env)
    return sorted(name for name in REGISTRY if raw(name, env) is not None)


# The staff web console (staff/web).
STAFF_SECRET = declare(
    Text("KA2_STAFF_SECRET", None, "secret de la console du personnel (au moins 32 caractères), obligatoire")
)
STAFF_HOST = declare(Text("KA2_STAFF_HOST", "127.0.0.1", "adresse d'écoute de la console du personnel"))
STAFF_PORT = declare(Integer("KA2_STAFF_PORT", 8001, "port de la console du personnel", minimum=1, maximum=65535))
STAFF_URL = declare(Text("KA2_STAFF_URL", None, "adresse publique de la console, pour les liens envoyés par e-mail"))
STAFF_BASE_PATH = declare(
    Text("KA2_STAFF_BASE_PATH", "", "préfixe des adresses de la console derrière un proxy (ex. /console)")
)
STAFF_SECURE_COOKIES = declare(
    Flag("KA2_STAFF_SECURE_COOKIES", False, "1 : cookies de session « Secure » (console servie en HTTPS)")
)
STAFF_SESSION_MINUTES = declare(
    Integer("KA2_STAFF_SESSION_MINUTES", 480, "durée d'une session de la console (minutes)", minimum=5)
)
STAFF_LOGIN_ATTEMPTS = declare(
    Integer("KA2_STAFF_LOGIN_ATTEMPTS", 5, "échecs de connexion permis par compte en 15 minutes", minimum=1)
)

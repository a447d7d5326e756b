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
from typing import Dict, Generic, List, Mapping, Optional, Tuple, TypeVar

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


REGISTRY: Dict[str, Setting] = {}


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


def validate(env: Optional[Mapping[str, str]] = None) -> List[str]:
    """Parse every declared variable; raises the first SettingsError. Returns the names that are set."""
    for setting in REGISTRY.values():
        setting.get(env)
    return sorted(name for name in REGISTRY if raw(name, env) is not None)

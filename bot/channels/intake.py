"""The one way a user's message enters the assistant, for the REST, socket.io and Telegram channels.

    throttle -> check (guard) -> deliver to Rasa -> "indisponible" when the server cannot handle it

Each channel only translates: its transport's request into `Intake.receive(...)`, and the `Outcome`
into its transport's answer (a JSON list and an HTTP status for REST, a `bot_uttered` event for the
widget, a sendMessage for Telegram).

Conversation ids are namespaced by the channel, never by the client: `rest:<sender>`, `web:<session>`,
`tg:<chat>[:<user>]`. A REST client sending the sender "web:abc" gets the conversation
"rest:web:abc", never the widget's. The channels strip their own prefix where they talk to their
transport (socket.io room, Telegram chat id, REST `recipient_id`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Sequence, Tuple

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.server.errors import conversation_tag
from ka2 import settings

from .guard import HANDLING_ERRORS, UNAVAILABLE, DomainPolicy, check_messages, describe_error
from .throttle import Throttle

logger = logging.getLogger(__name__)

THROTTLED = (
    "Vous avez envoyé beaucoup de messages en peu de temps. Patientez {seconds} secondes avant de poser "
    "votre question suivante, s'il vous plaît."
)
# Metadata a client may attach to a message, and the longest string each may hold. Neither the widget
# nor the actions read metadata today: these are what an integration may pass for the staff's reports.
# Anything else is dropped before it reaches the tracker store and the action server.
KNOWN_METADATA = {"locale": 16, "page": 512}


@dataclass(frozen=True)
class Outcome:
    """What became of a message: `handled` (Rasa answered through the output channel), or a `reply`."""

    status: str  # "handled", "refused", "throttled", "unavailable"
    reply: Optional[str] = None
    retry_after: int = 0


def namespaced(prefix: str, local_id: str) -> str:
    return f"{prefix}:{local_id}"


def local(prefix: str, conversation_id: str) -> str:
    """The channel's own id (session, chat) from a conversation id of that channel."""
    head = f"{prefix}:"
    return conversation_id[len(head) :] if conversation_id.startswith(head) else conversation_id


def tag(conversation_id: str) -> str:
    """A short, stable stand-in for a conversation id in logs (the id itself gives access to the session)."""
    return conversation_tag(conversation_id)


def metadata_size(metadata: Any) -> int:
    try:
        return len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        return 1 << 30


def clean_metadata(metadata: Any, env: Optional[Mapping[str, str]] = None) -> Tuple[Dict[str, str], bool]:
    """(the known keys with short string values, whether the raw metadata was over KA2_MAX_METADATA_BYTES)."""
    if not isinstance(metadata, dict) or not metadata:
        return {}, False
    if metadata_size(metadata) > settings.MAX_METADATA_BYTES.get(env):
        return {}, True
    kept = {
        key: value
        for key, value in metadata.items()
        if key in KNOWN_METADATA and isinstance(value, str) and len(value) <= KNOWN_METADATA[key]
    }
    return kept, False


def client_address(peer: Optional[str], forwarded_for: Optional[str], proxies: Optional[int] = None) -> Optional[str]:
    """The client's address for its budget: the peer, or the entry of X-Forwarded-For added by the trusted proxy.

    With KA2_TRUSTED_PROXIES=n (nginx in front: 1), the n-th address from the right of
    X-Forwarded-For is the one the outermost trusted proxy saw; entries further left are the
    client's own claims and are ignored. Without a proxy, a loopback peer is this machine itself
    (`make run`, a test harness, an integration on the host): None, no per-address budget, since
    all its conversations share one address; each conversation keeps its own budget.
    """
    proxies = settings.TRUSTED_PROXIES.get() if proxies is None else proxies
    if not proxies and is_loopback(peer):
        return None
    if proxies and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= proxies:
            candidate = hops[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return peer or "unknown"


def is_loopback(address: Optional[str]) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


class Intake:
    """One channel's intake: its namespace, the payload policy of the running model, the throttle."""

    def __init__(self, channel: str, prefix: str, throttle: Optional[Throttle] = None) -> None:
        self.channel, self.prefix = channel, prefix
        self.policy = DomainPolicy()
        self._throttle = throttle
        self._noticed: Dict[str, float] = {}  # conversation -> until when the throttle notice was given

    @property
    def throttle(self) -> Throttle:
        if self._throttle is None:  # built lazily: the settings are read once the server runs
            self._throttle = Throttle.from_settings()
        return self._throttle

    def attach(self, blueprint: Any) -> None:
        self.policy.attach(blueprint)

    def _first_notice(self, conversation: str, retry_after: int) -> bool:
        """Whether to tell this conversation it is throttled: once per throttled period, in this process."""
        now = self.throttle.clock()
        if self._noticed.get(conversation, 0) > now:
            return False
        if len(self._noticed) > 10_000:
            self._noticed = {key: until for key, until in self._noticed.items() if until > now}
        self._noticed[conversation] = now + retry_after
        return True

    def conversation_id(self, local_id: str) -> str:
        return namespaced(self.prefix, local_id)

    async def receive(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        texts: Sequence[Any],
        local_id: str,
        output: OutputChannel,
        client: Optional[str] = None,
        metadata: Optional[Dict[str, Any]] = None,
    ) -> Outcome:
        conversation = self.conversation_id(local_id)
        retry_after = await self.throttle.check(conversation, client)
        if retry_after is not None:
            if not self._first_notice(conversation, retry_after):
                # Said once already: a flood must not make the bot flood back (Telegram limits bots too).
                return Outcome("throttled", None, retry_after)
            logger.info(f"{self.channel}: messages of conversation {tag(conversation)} throttled ({retry_after} s).")
            return Outcome("throttled", THROTTLED.format(seconds=retry_after), retry_after)
        checked = check_messages(texts, self.policy())
        if checked.refused:
            logger.info(
                f"{self.channel}: message of conversation {tag(conversation)} not passed to the model "
                f"({checked.reason})."
            )
            return Outcome("refused", checked.reply)
        try:
            for text in checked.texts:
                await on_new_message(
                    UserMessage(text, output, conversation, input_channel=self.channel, metadata=metadata or None)
                )
        except HANDLING_ERRORS as failure:  # the tracker store or the lock store is unreachable...
            problem = describe_error(failure)
            logger.error(f"{self.channel}: a message of conversation {tag(conversation)} was not handled: {problem}")
            return Outcome("unavailable", UNAVAILABLE)
        return Outcome("handled")


TOO_LARGE = "La requête est trop volumineuse."


def max_packet_bytes() -> int:
    """KA2_MAX_SOCKET_BYTES, but never less than a message just too long to read (it gets a polite reply)."""
    message = settings.MAX_MESSAGE_CHARS.get() * 4  # UTF-8, JSON escapes aside
    return max(settings.MAX_SOCKET_BYTES.get(), message + settings.MAX_METADATA_BYTES.get() + 1024)


def bound_request_size(blueprint: Any) -> None:
    """Make the Sanic app refuse a body over KA2_MAX_BODY_BYTES before reading it (413, French JSON).

    Sanic reads REQUEST_MAX_SIZE (100 MB by default) when a connection opens: set before the server
    starts, a larger Content-Length is refused from the headers. Websocket frames are bounded too.
    """

    @blueprint.listener("before_server_start")
    async def limit(app: Any, *_: Any) -> None:
        from sanic import response
        from sanic.exceptions import PayloadTooLarge

        app.config.REQUEST_MAX_SIZE = settings.MAX_BODY_BYTES.get()
        app.config.WEBSOCKET_MAX_SIZE = max_packet_bytes()

        def too_large(request: Any, exception: Exception) -> Any:
            return response.json({"error": "too_large", "message": TOO_LARGE}, status=413)

        app.error_handler.add(PayloadTooLarge, too_large)

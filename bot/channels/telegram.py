"""Telegram channel: webhook in, Bot API out, configured from environment variables.

Replaces Rasa 3.6's aiogram-based channel (HTTP 500 "Event loop is closed" with aiogram 2.15):
the Bot API server is configurable, the webhook is registered once at start-up (a failure is
logged, Rasa keeps running), getMe is called once.
credentials.yml entry: `bot.channels.telegram.TelegramInput:` (values there override the variables);
with `optional: true` (deploy/credentials.prod.yml) the channel is off when TELEGRAM_TOKEN is unset.

Security: with TELEGRAM_WEBHOOK_URL set, start-up refuses without TELEGRAM_SECRET_TOKEN (one line
naming it); every update must carry it in X-Telegram-Bot-Api-Secret-Token (compared in constant
time, 403 otherwise; with no secret configured every update is refused). Malformed updates get 400.
Conversations are `tg:<chat>` (`tg:<chat>:<user>` in groups); messages go through the channel intake
(bot/channels/intake.py: rate limit per conversation, checks, "indisponible"). Telegram's requests
all come from Telegram's servers, so the per-address budget does not apply here.
"""

from __future__ import annotations

import hmac
import logging
import os
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

from rasa.core.channels import telegram as rasa_telegram
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from .intake import Intake, bound_request_size
from .redis_client import redis_from_settings
from .telegram_api import DEFAULT_API_URL, BotApi, TelegramApiError
from .telegram_format import PayloadStore, inline_keyboard, split_message, to_html
from .telegram_updates import Incoming, MalformedUpdate, chat_of, parse_update

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEXT_ONLY = "Je ne lis que le texte : écrivez-moi votre question sur l'Action clé 2, s'il vous plaît."
EXPIRED_BUTTON = "Ce bouton n'est plus valable. Posez votre question à nouveau, s'il vous plaît."
ALLOWED_UPDATES = ["message", "callback_query"]


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    bot_name: Optional[str] = None
    webhook_url: Optional[str] = None
    secret_token: Optional[str] = None
    api_url: str = DEFAULT_API_URL

    @classmethod
    def load(cls, credentials: Mapping[str, Any], environ: Mapping[str, str]) -> TelegramSettings:
        def value(key: str, variable: str) -> Optional[str]:
            return str(credentials.get(key) or environ.get(variable) or "").strip() or None

        token = value("access_token", "TELEGRAM_TOKEN")
        if not token:
            raise RasaException("Telegram channel: TELEGRAM_TOKEN is not set.")
        webhook_url = value("webhook_url", "TELEGRAM_WEBHOOK_URL")
        secret_token = value("secret_token", "TELEGRAM_SECRET_TOKEN")
        if webhook_url and not secret_token:
            # Without it anyone who finds the webhook URL can make the bot write to any chat.
            raise RasaException(
                "Telegram channel: TELEGRAM_SECRET_TOKEN is not set while TELEGRAM_WEBHOOK_URL is: "
                "set TELEGRAM_SECRET_TOKEN (1-256 characters A-Z a-z 0-9 _ -) to start."
            )
        return cls(
            token=token,
            bot_name=(value("verify", "TELEGRAM_BOT_NAME") or "").lstrip("@") or None,
            webhook_url=webhook_url,
            secret_token=secret_token,
            api_url=value("api_url", "TELEGRAM_API_URL") or DEFAULT_API_URL,
        )


class TelegramOutput(OutputChannel):
    """Sends the bot's messages through the Bot API, rendered for Telegram."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(self, api: BotApi, payloads: PayloadStore):
        self.api = api
        self.payloads = payloads

    async def _call(self, method: str, **params: Any) -> Any:
        try:
            return await self.api.call(method, **params)
        except TelegramApiError as error:
            logger.error(f"Telegram: {error}")
            return None

    async def _send(self, recipient_id: str, text: str, keyboard: Optional[List[List[Dict[str, str]]]] = None) -> None:
        chunks = split_message(text) or ["…"]
        for number, chunk in enumerate(chunks, start=1):
            params: Dict[str, Any] = {"chat_id": chat_of(recipient_id), "link_preview_options": {"is_disabled": True}}
            if keyboard and number == len(chunks):
                params["reply_markup"] = {"inline_keyboard": keyboard}
            try:
                await self.api.call("sendMessage", text=to_html(chunk), parse_mode="HTML", **params)
            except TelegramApiError as error:
                if error.error_code != 400 or "parse" not in error.description.lower():
                    logger.error(f"Telegram: {error}")
                    continue
                logger.warning(f"Telegram refused the formatting, sending plain text: {error}")
                await self._call("sendMessage", text=chunk, **params)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        keyboard = inline_keyboard(buttons, self.payloads)
        await self.payloads.save()
        await self._send(recipient_id, text, keyboard)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._call("sendPhoto", chat_id=chat_of(recipient_id), photo=image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:  # type: ignore[override]
        await self._send(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """A custom payload is a sendMessage call's parameters (chat_id defaults to the recipient's chat)."""
        await self._call("sendMessage", **{"chat_id": chat_of(recipient_id), **json_message})

    async def typing(self, chat_id: int) -> None:
        try:
            await self.api.call("sendChatAction", chat_id=chat_id, action="typing")
        except TelegramApiError as error:
            logger.debug(f"Telegram: {error}")


class TelegramInput(rasa_telegram.TelegramInput):
    """Telegram webhook at /webhooks/telegram/webhook."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:  # type: ignore[override]
        credentials = credentials or {}
        if credentials.get("optional") and not (credentials.get("access_token") or os.environ.get("TELEGRAM_TOKEN")):
            return TelegramOff()
        return cls(TelegramSettings.load(credentials, os.environ))

    def __init__(self, settings: TelegramSettings):
        super().__init__(settings.token, settings.bot_name, settings.webhook_url, debug_mode=False)
        self.settings = settings
        self.api = BotApi(settings.token, settings.api_url)
        self.payloads = PayloadStore(redis=redis_from_settings())
        self.intake = Intake(self.name(), "tg")

    def get_output_channel(self) -> TelegramOutput:  # type: ignore[override]
        return TelegramOutput(self.api, self.payloads)

    async def register_webhook(self) -> bool:
        """Check the token (getMe) and register the webhook, once; log a failure clearly, never raise."""
        try:
            me = await self.api.call("getMe")
            username = (me or {}).get("username")
            if self.settings.bot_name and username and username.lower() != self.settings.bot_name.lower():
                expected = self.settings.bot_name
                logger.warning(f"Telegram: the token belongs to @{username}, not to TELEGRAM_BOT_NAME @{expected}.")
            if not self.settings.webhook_url:
                logger.warning("Telegram: TELEGRAM_WEBHOOK_URL is not set, the webhook was not registered.")
                return False
            params: Dict[str, Any] = {"url": self.settings.webhook_url, "allowed_updates": ALLOWED_UPDATES}
            if self.settings.secret_token:
                params["secret_token"] = self.settings.secret_token
            await self.api.call("setWebhook", **params)
        except TelegramApiError as error:
            logger.error(
                f"Telegram: could not register the webhook {self.settings.webhook_url!r} with the Bot API at "
                f"{self.settings.api_url} ({error}). Rasa keeps running; Telegram messages will not arrive "
                "until the webhook is registered (check TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_URL, TELEGRAM_API_URL)."
            )
            return False
        logger.info(f"Telegram: webhook registered at {self.settings.webhook_url}.")
        return True

    def authorised(self, request: Request) -> bool:
        if not self.settings.secret_token:  # nothing to tell Telegram's updates from forged ones
            return False
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), self.settings.secret_token.encode())

    async def handle(self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        output = self.get_output_channel()
        if incoming.callback_query_id:
            await output._call("answerCallbackQuery", callback_query_id=incoming.callback_query_id)
        if incoming.chat_id is None:
            return
        if not incoming.texts:
            await output.send_text_message(incoming.sender_id, TEXT_ONLY)
            return
        texts = incoming.texts
        if incoming.callback_query_id:
            payload = await self.payloads.resolve(texts[0])
            if payload is None:
                await output.send_text_message(incoming.sender_id, EXPIRED_BUTTON)
                return
            texts = [payload]
        await output.typing(incoming.chat_id)
        outcome = await self.intake.receive(on_new_message, texts, incoming.sender_id, output)
        if outcome.reply:
            await output.send_text_message(incoming.sender_id, outcome.reply)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram_webhook = Blueprint("telegram_webhook", __name__)
        self.intake.attach(telegram_webhook)
        bound_request_size(telegram_webhook)

        @telegram_webhook.listener("after_server_start")
        async def register(*_: Any) -> None:
            await self.register_webhook()

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.authorised(request):
                return response.text("forbidden", status=403)
            try:
                update = request.json
            except Exception:  # sanic raises on a malformed body
                update = None
            if not isinstance(update, dict):
                return response.text("bad request", status=400)
            try:
                incoming = parse_update(update, self.settings.bot_name)
            except MalformedUpdate as malformed:
                logger.info(f"Telegram: malformed update refused ({malformed}).")
                return response.text("bad request", status=400)
            if incoming is not None:
                try:
                    await self.handle(incoming, on_new_message)
                except Exception:  # answer 200 anyway: Telegram would resend the update forever
                    logger.exception(f"Telegram: update {update.get('update_id')} could not be handled.")
            return response.text("success")

        return telegram_webhook


class TelegramOff(InputChannel):
    """The Telegram channel of the production credentials while TELEGRAM_TOKEN is unset: 404, one log line."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        off = Blueprint("telegram_webhook", __name__)

        @off.listener("after_server_start")
        async def say_off(*_: Any) -> None:
            logger.info("Telegram: off (TELEGRAM_TOKEN is not set).")

        @off.route("/webhook", methods=["POST"])
        async def webhook(_: Request) -> HTTPResponse:
            return response.text("not found", status=404)

        return off

"""Telegram updates as what the assistant should read: who speaks, in which chat, what they said."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

COMMAND = re.compile(r"^/(?P<name>[A-Za-z0-9_]+)(?:@(?P<bot>[A-Za-z0-9_]+))?(?:\s+.*)?$", re.DOTALL)
# Telegram commands the assistant understands, mapped to the user messages Rasa expects.
COMMANDS = {
    "start": ["/greet"],
    "aide": ["/bot_capabilities"],
    "help": ["/bot_capabilities"],
    "recommencer": ["/restart", "/greet"],
    "restart": ["/restart", "/greet"],
}
GROUP_CHATS = {"group", "supergroup"}
# Content a user sends instead of text (service messages such as a pinned message are not in it).
NON_TEXT_CONTENT = {
    "animation",
    "audio",
    "contact",
    "dice",
    "document",
    "location",
    "photo",
    "poll",
    "sticker",
    "venue",
    "video",
    "video_note",
    "voice",
}


class MalformedUpdate(ValueError):
    """An update Telegram would never send: a chat without an id, `from` that is not an object..."""


@dataclass
class Incoming:
    chat_id: Optional[int]
    sender_id: str  # the channel's own id, "<chat>" or "<chat>:<user>" (the conversation is "tg:" + it)
    texts: List[str] = field(default_factory=list)  # empty: a message without text
    callback_query_id: Optional[str] = None
    group: bool = False


def _object(value: Any, what: str) -> Dict[str, Any]:
    """An optional JSON object of the update ({} when absent)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedUpdate(f"{what} is not an object")
    return value


def _id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedUpdate(f"{what} has no numeric id")
    return value


def _chat(value: Any) -> Dict[str, Any]:
    chat = _object(value, "chat")
    _id(chat.get("id"), "chat")
    return chat


def conversation_id(chat: Dict[str, Any], user: Optional[Dict[str, Any]]) -> str:
    """One conversation per chat in private, per user and chat in a group."""
    if chat.get("type") in GROUP_CHATS and user:
        return f"{chat['id']}:{_id(user.get('id'), 'from')}"
    return str(chat["id"])


def chat_of(sender_id: str) -> str:
    """The chat to answer in, from a conversation id ("tg:<chat>[:<user>]") or the channel's own id."""
    return sender_id.removeprefix("tg:").split(":", 1)[0]


def user_texts(text: str, bot_name: Optional[str]) -> Optional[List[str]]:
    """What to pass to Rasa for a typed text; None when a command is meant for another bot."""
    text = text.strip()
    command = COMMAND.match(text)
    if command and command["name"] in COMMANDS:
        if command["bot"] and bot_name and command["bot"].lower() != bot_name.lower():
            return None
        return list(COMMANDS[command["name"]])
    if bot_name:  # "@ka2_bot une question" in a group
        text = re.sub(rf"@{re.escape(bot_name)}\b", "", text, flags=re.IGNORECASE).strip()
    return [text] if text else []


def parse_update(update: Dict[str, Any], bot_name: Optional[str] = None) -> Optional[Incoming]:
    """The update as an Incoming, or None when the assistant should ignore it.

    Edits, channel posts, membership changes and other bots' messages are ignored; a sticker,
    photo or voice message gives an Incoming without texts, so the channel can say it reads text only.
    A message or callback query Telegram would never send (a chat without a numeric id, `from` that
    is not an object) raises MalformedUpdate: the webhook answers 400.
    """
    if "callback_query" in update:
        query = _object(update["callback_query"], "callback_query")
        message = _object(query.get("message"), "callback_query.message")
        user = _object(query.get("from"), "from")
        query_id = query.get("id") if isinstance(query.get("id"), str) else None
        if message.get("chat") is None or not isinstance(query.get("data"), str):
            return Incoming(None, "", callback_query_id=query_id)  # a button of an inline message: acknowledge
        chat = _chat(message.get("chat"))
        return Incoming(
            chat["id"],
            conversation_id(chat, user),
            [query["data"]],
            callback_query_id=query_id,
            group=chat.get("type") in GROUP_CHATS,
        )
    if "message" not in update:
        return None
    message = _object(update["message"], "message")
    chat = _chat(message.get("chat"))
    sender = _object(message.get("from"), "from")
    if sender.get("is_bot"):
        return None
    group = chat.get("type") in GROUP_CHATS
    text = message.get("text")
    if not isinstance(text, str):
        # In a group, only text addressed to the bot matters; in private, say text only is read.
        if group or not NON_TEXT_CONTENT & message.keys():
            return None
        return Incoming(chat["id"], conversation_id(chat, sender))
    texts = user_texts(text, bot_name)
    if texts is None or (group and not texts):
        return None
    return Incoming(chat["id"], conversation_id(chat, sender), texts, group=group)

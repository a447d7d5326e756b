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


@dataclass
class Incoming:
    chat_id: Optional[int]
    sender_id: str
    texts: List[str] = field(default_factory=list)  # empty: a message without text
    callback_query_id: Optional[str] = None
    group: bool = False


def conversation_id(chat: Dict[str, Any], user: Optional[Dict[str, Any]]) -> str:
    """One conversation per chat in private, per user and chat in a group."""
    if chat.get("type") in GROUP_CHATS and user:
        return f"{chat['id']}:{user['id']}"
    return str(chat["id"])


def chat_of(sender_id: str) -> str:
    """The chat to answer in, from a conversation id."""
    return sender_id.split(":", 1)[0]


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
    """
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message") or {}
        chat = message.get("chat")
        if not chat or not isinstance(query.get("data"), str):
            return Incoming(None, "", callback_query_id=query.get("id"))
        return Incoming(
            chat["id"],
            conversation_id(chat, query.get("from")),
            [query["data"]],
            callback_query_id=query.get("id"),
            group=chat.get("type") in GROUP_CHATS,
        )
    message = update.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return None
    sender = message.get("from") or {}
    if sender.get("is_bot"):
        return None
    chat = message["chat"]
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

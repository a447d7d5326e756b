"""Telegram channel: rendering and update parsing, then Rasa against a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List, Optional

import pytest

from bot.channels.telegram import EXPIRED_BUTTON, TEXT_ONLY, TelegramInput, TelegramSettings
from bot.channels.telegram_format import PayloadStore, inline_keyboard, split_message, telegram_length, to_html
from bot.channels.telegram_updates import parse_update
from tests.conftest import Stack
from tests.fake_telegram_api import FakeTelegramApi

TOKEN = "123456:TEST-token-for-the-fake-api"
SECRET = "un-secret-de-test"
WEBHOOK = "https://assistant.example.test/webhooks/telegram/webhook"
GROUP = -1001234


# --- rendering and parsing, no server ----------------------------------------------------------


def test_markdown_subset_becomes_escaped_telegram_html():
    html = to_html("**Priorités** <script>alert(1)</script> & co\n- un\n- deux\n[BIJ](https://www.lebij.be)")
    assert html == (
        "<b>Priorités</b> &lt;script&gt;alert(1)&lt;/script&gt; &amp; co\n• un\n• deux\n"
        '<a href="https://www.lebij.be">BIJ</a>'
    )


def test_long_text_is_split_at_paragraph_boundaries_under_the_limit():
    paragraphs = [f"Paragraphe {n} : " + "é" * 1500 for n in range(5)]
    chunks = split_message("\n\n".join(paragraphs))
    assert len(chunks) == 3
    assert all(telegram_length(to_html(chunk)) <= 4096 for chunk in chunks)
    assert "\n\n".join(chunks) == "\n\n".join(paragraphs)


def test_a_paragraph_longer_than_the_limit_is_cut_at_lines_then_words():
    escaped_heavy = " ".join(["<&>"] * 3000)  # 5x longer once escaped
    chunks = split_message(escaped_heavy)
    assert len(chunks) > 1 and all(telegram_length(to_html(chunk)) <= 4096 for chunk in chunks)
    assert " ".join(chunks) == escaped_heavy


def test_callback_data_fits_64_bytes_counting_accents_double():
    store = PayloadStore()
    short = '/ask_topic{"topic":"topic.activities"}'
    accented = '/inform_sector{"sector":"éducation_et_formation_générale_été"}'  # 62 characters, 67 bytes
    assert len(accented) <= 64 < len(accented.encode("utf-8"))
    keyboard = inline_keyboard([{"title": "Activités", "payload": short}, {"title": "É", "payload": accented}], store)
    data = [row[0]["callback_data"] for row in keyboard]
    assert data[0] == short
    assert len(data[1].encode("utf-8")) <= 64 and store.payload(data[1]) == accented
    assert PayloadStore().payload(data[1]) is None  # another process does not know the key


def test_updates_are_read_per_chat_and_per_user_in_groups():
    private = {"message": {"from": {"id": 7}, "chat": {"id": 7, "type": "private"}, "text": "/start"}}
    assert parse_update(private, "ka2_bot").texts == ["/greet"]
    group = {"message": {"from": {"id": 9}, "chat": {"id": GROUP, "type": "supergroup"}, "text": "@ka2_bot Le KA2 ?"}}
    incoming = parse_update(group, "ka2_bot")
    assert (incoming.sender_id, incoming.texts) == (f"{GROUP}:9", ["Le KA2 ?"])
    other_bot = {"message": {"from": {"id": 9}, "chat": {"id": GROUP, "type": "group"}, "text": "/start@autre_bot"}}
    assert parse_update(other_bot, "ka2_bot") is None
    sticker = {"message": {"from": {"id": 7}, "chat": {"id": 7, "type": "private"}, "sticker": {"file_id": "x"}}}
    assert parse_update(sticker).texts == []
    assert parse_update({"edited_message": private["message"]}) is None
    assert parse_update({"channel_post": {"chat": {"id": -5, "type": "channel"}, "text": "x"}}) is None


def test_settings_come_from_the_environment():
    settings = TelegramSettings.load(
        {}, {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_BOT_NAME": "@ka2_bot", "TELEGRAM_API_URL": "http://127.0.0.1:9"}
    )
    assert (settings.token, settings.bot_name, settings.api_url) == (TOKEN, "ka2_bot", "http://127.0.0.1:9")
    assert TelegramSettings.load({}, {"TELEGRAM_TOKEN": TOKEN}).api_url == "https://api.telegram.org"


def test_a_refused_webhook_is_logged_without_raising(caplog):
    with FakeTelegramApi(TOKEN) as api:
        api.fail.add("setWebhook")
        channel = TelegramInput(TelegramSettings(TOKEN, webhook_url=WEBHOOK, api_url=api.url))
        with caplog.at_level(logging.ERROR):
            assert asyncio.run(channel.register_webhook()) is False
    assert "could not register the webhook" in caplog.text and TOKEN not in caplog.text


# --- Rasa with the Telegram channel, against the fake Bot API ---------------------------------


@pytest.fixture(scope="module")
def telegram(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    with FakeTelegramApi(TOKEN, username="ka2_test_bot") as api:
        stack = Stack(
            tmp_path_factory.mktemp("telegram"),
            credentials="rest:\nbot.channels.telegram.TelegramInput:\n",
            rasa_args=["--enable-api"],
            env={
                "TELEGRAM_TOKEN": TOKEN,
                "TELEGRAM_BOT_NAME": "ka2_test_bot",
                "TELEGRAM_WEBHOOK_URL": WEBHOOK,
                "TELEGRAM_SECRET_TOKEN": SECRET,
                "TELEGRAM_API_URL": api.url,
            },
        )
        try:
            stack.start_actions()
            stack.start_rasa()
            api.wait_for(lambda: api.called("setWebhook"))
            yield stack, api
        finally:
            stack.stop()


def post(stack: Stack, path: str, body: Any, headers: Optional[Dict[str, str]] = None) -> int:
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(stack.url + path, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def send_update(stack: Stack, update: Dict[str, Any], secret: Optional[str] = SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    return post(stack, "/webhooks/telegram/webhook", update, headers)


def text_update(update_id: int, chat_id: int, text: str, user_id: Optional[int] = None) -> Dict[str, Any]:
    chat = {"id": chat_id, "type": "private" if user_id is None else "supergroup"}
    user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Lou", "language_code": "fr"}
    message = {"message_id": update_id, "date": 1700000000, "chat": chat, "from": user, "text": text}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def replies(api: FakeTelegramApi, since: int, chat_id: int) -> List[Dict[str, Any]]:
    sent = [call["params"] for call in api.calls[since:] if call["method"] == "sendMessage"]
    return [params for params in sent if str(params["chat_id"]) == str(chat_id)]


def keyboard_data(message: Dict[str, Any]) -> List[str]:
    return [row[0]["callback_data"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])]


def test_webhook_is_registered_with_the_secret_token(telegram):
    _, api = telegram
    (webhook,) = api.called("setWebhook")
    assert webhook["url"] == WEBHOOK and webhook["secret_token"] == SECRET
    assert set(webhook["allowed_updates"]) == {"message", "callback_query"}


def test_updates_without_the_secret_token_are_refused(telegram):
    stack, api = telegram
    since = len(api.calls)
    assert send_update(stack, text_update(1, 501, "bonjour"), secret=None) == 403
    assert send_update(stack, text_update(2, 501, "bonjour"), secret="mauvais") == 403
    assert replies(api, since, 501) == []


def test_start_gives_the_welcome_message_with_an_inline_keyboard(telegram):
    stack, api = telegram
    since = len(api.calls)
    assert send_update(stack, text_update(10, 502, "/start")) == 200
    (welcome,) = replies(api, since, 502)
    assert welcome["text"].startswith("Bonjour") and welcome["parse_mode"] == "HTML"
    assert "/ask_ka2_definition" in keyboard_data(welcome)


def test_question_then_follow_up_button(telegram):
    stack, api = telegram
    since = len(api.calls)
    assert send_update(stack, text_update(20, 503, "c'est quoi exactement l'action clé 2 ?")) == 200
    answer = "\n".join(m["text"] for m in replies(api, since, 503))
    assert "Coopération entre organisations et institutions" in answer and "Source :" in answer
    data = keyboard_data(replies(api, since, 503)[-1])
    assert data and all(len(d.encode("utf-8")) <= 64 for d in data)

    since = len(api.calls)
    query = {"id": "cbq-1", "from": {"id": 503}, "message": {"message_id": 1, "chat": {"id": 503, "type": "private"}}}
    assert send_update(stack, {"update_id": 21, "callback_query": {**query, "data": data[0]}}) == 200
    assert api.called("answerCallbackQuery")[-1]["callback_query_id"] == "cbq-1"
    follow_up = replies(api, since, 503)
    assert follow_up and "Source :" in "\n".join(m["text"] for m in follow_up)


def test_stickers_get_a_polite_text_only_answer_and_edits_are_ignored(telegram):
    stack, api = telegram
    since = len(api.calls)
    sticker = text_update(30, 504, "x")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {"file_id": "CAACAgIAAxk", "emoji": "👍"}
    assert send_update(stack, sticker) == 200
    assert [m["text"] for m in replies(api, since, 504)] == [TEXT_ONLY]
    since = len(api.calls)
    edited = {"update_id": 31, "edited_message": text_update(31, 504, "bonjour")["message"]}
    channel_post = {"update_id": 32, "channel_post": {"message_id": 3, "chat": {"id": -77, "type": "channel"}}}
    assert send_update(stack, edited) == 200 and send_update(stack, channel_post) == 200
    assert replies(api, since, 504) == [] and replies(api, since, -77) == []


def test_each_user_of_a_group_has_their_own_conversation(telegram):
    stack, api = telegram
    since = len(api.calls)
    assert send_update(stack, text_update(40, GROUP, "@ka2_test_bot c'est quoi le KA2 ?", user_id=11)) == 200
    assert send_update(stack, text_update(41, GROUP, "/start@ka2_test_bot", user_id=22)) == 200
    assert len(replies(api, since, GROUP)) >= 2
    for user, text in ((11, "c'est quoi le KA2 ?"), (22, "/greet")):
        with urllib.request.urlopen(f"{stack.url}/conversations/tg:{GROUP}:{user}/tracker", timeout=30) as response:
            events = json.loads(response.read())["events"]
        assert [e["text"] for e in events if e["event"] == "user"] == [text]


def test_long_answer_is_split_and_a_long_button_payload_still_works(telegram):
    stack, api = telegram
    paragraphs = [f"**Partie {n}** <script>alert({n})</script> " + "é" * 1800 for n in range(4)]
    long_payload = '/greet{"mention":"' + "é" * 40 + '"}'  # 60 characters, 100 bytes
    buttons = [{"title": "Bonjour", "payload": long_payload}]
    event = {"event": "bot", "text": "\n\n".join(paragraphs), "data": {"buttons": buttons}}
    since = len(api.calls)
    path = "/conversations/tg:505/tracker/events?output_channel=telegram&execute_side_effects=true"
    assert post(stack, path, [event]) == 200
    sent = replies(api, since, 505)
    assert len(sent) == 2  # 4 x ~1850 characters: two paragraphs per message
    assert all(len(m["text"]) <= 4096 and "&lt;script&gt;" in m["text"] for m in sent)
    assert sent[0]["text"].startswith("<b>Partie 0</b>") and "reply_markup" not in sent[0]
    (data,) = keyboard_data(sent[1])
    assert len(data.encode("utf-8")) <= 64

    since = len(api.calls)
    query = {"id": "cbq-2", "from": {"id": 505}, "message": {"message_id": 9, "chat": {"id": 505, "type": "private"}}}
    assert send_update(stack, {"update_id": 50, "callback_query": {**query, "data": data}}) == 200
    texts = [m["text"] for m in replies(api, since, 505)]
    assert texts and texts[0].startswith("Bonjour") and EXPIRED_BUTTON not in texts


def test_get_me_and_set_webhook_are_called_once(telegram):
    _, api = telegram
    assert len(api.called("getMe")) == 1 and len(api.called("setWebhook")) == 1

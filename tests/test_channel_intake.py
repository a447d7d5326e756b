"""The channel intake and its parts without a Rasa server: namespaces, throttle, metadata, sessions, access.

Stack-level attacks are in tests/test_attacks.py; Redis counters run against a real redis-server on
127.0.0.1 when the machine has one.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from types import SimpleNamespace
from typing import Any, Iterator, List

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.exceptions import RasaException

from bot.channels.intake import (
    THROTTLED,
    Intake,
    clean_metadata,
    client_address,
    is_loopback,
    local,
    namespaced,
    tag,
)
from bot.channels.rest import authorised
from bot.channels.telegram import TelegramInput, TelegramSettings
from bot.channels.telegram_format import PayloadStore
from bot.channels.telegram_updates import MalformedUpdate, chat_of, parse_update
from bot.channels.throttle import Limits, Throttle
from bot.channels.webchat import Sessions, origin_allowed
from tests.conftest import free_port

TOKEN = "123456:TEST-token-for-the-fake-api"


class Clock:
    def __init__(self, now: float = 60 * 16_667 + 20.0) -> None:  # 20 s into a window
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_conversation_ids_are_namespaced_by_the_channel():
    assert namespaced("rest", "web:abc") == "rest:web:abc"
    assert local("web", "web:abc") == "abc" and local("web", "sid-1") == "sid-1"
    assert chat_of("tg:-1001234:11") == "-1001234" and chat_of("505") == "505"
    assert len(tag("web:secret-session")) == 10 and "secret" not in tag("web:secret-session")


def test_the_throttle_counts_per_sender_and_per_client_and_says_when_to_retry():
    clock = Clock()
    throttle = Throttle(Limits(per_sender=3, per_client=5, window=60), clock=clock)

    async def burst() -> List[Any]:
        sender_a = [await throttle.check("rest:a", "10.0.0.1") for _ in range(4)]
        sender_b = [await throttle.check("rest:b", "10.0.0.1") for _ in range(2)]
        other_client = await throttle.check("rest:c", "10.0.0.2")
        clock.now += 120  # the sliding window has moved past the burst
        return [sender_a, sender_b, other_client, await throttle.check("rest:a", "10.0.0.1")]

    sender_a, sender_b, other_client, later = asyncio.run(burst())
    assert sender_a[:3] == [None] * 3 and sender_a[3] == 40  # 20 s into the window: 40 s to wait
    assert sender_b == [None, 40], "the address has spent its 5 messages"
    assert other_client is None and later is None


def test_a_burst_across_a_window_boundary_is_still_one_burst():
    clock = Clock(60 * 16_667 + 59.0)
    throttle = Throttle(Limits(per_sender=3, per_client=100, window=60), clock=clock)

    async def burst() -> List[Any]:
        before = [await throttle.check("web:s") for _ in range(3)]
        clock.now += 1.5  # 0.5 s into the next fixed window
        return before + [await throttle.check("web:s")]

    assert asyncio.run(burst()) == [None, None, None, 60]


def test_the_throttle_falls_back_to_memory_when_redis_does_not_answer():
    class Down:
        def pipeline(self, **_: Any) -> Any:
            raise ConnectionError("refused")

    throttle = Throttle(Limits(per_sender=1, per_client=10, window=60), redis=Down(), clock=Clock())

    async def twice() -> List[Any]:
        return [await throttle.check("tg:1"), await throttle.check("tg:1")]

    results = asyncio.run(twice())
    assert results[0] is None and results[1] is not None


@pytest.fixture
def redis_url() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make test-scale installs it)")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--requirepass", "mot-de-passe-test"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_two_instances_share_their_budgets_and_button_payloads_in_redis(redis_url):
    from bot.channels.redis_client import redis_from_settings

    env = {"KA2_REDIS_HOST": "127.0.0.1", "KA2_REDIS_PORT": str(redis_url), "KA2_REDIS_PASSWORD": "mot-de-passe-test"}

    async def two_instances() -> List[Any]:
        clock = Clock()
        limits = Limits(per_sender=2, per_client=100, window=60)
        first = Throttle(limits, redis=redis_from_settings(env), clock=clock)
        second = Throttle(limits, redis=redis_from_settings(env), clock=clock)
        checks = [await first.check("web:s1"), await second.check("web:s1"), await first.check("web:s1")]
        writer, reader = PayloadStore(redis=redis_from_settings(env)), PayloadStore(redis=redis_from_settings(env))
        long_payload = '/greet{"mention":"' + "é" * 40 + '"}'
        key = writer.callback_data(long_payload)
        await writer.save()
        return [checks, reader.payload(key), await reader.resolve(key)]

    checks, in_memory, resolved = asyncio.run(two_instances())
    assert checks[:2] == [None, None] and checks[2] is not None
    assert in_memory is None and resolved == '/greet{"mention":"' + "é" * 40 + '"}'


def test_the_intake_throttles_checks_and_delivers_under_the_namespaced_id():
    delivered: List[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        delivered.append(message)

    intake = Intake("rest", "rest", Throttle(Limits(per_sender=2, per_client=100, window=60), clock=Clock()))

    async def run() -> List[Any]:
        output = CollectingOutputChannel()
        return [
            await intake.receive(on_new_message, ["bonjour"], "web:abc", output, "127.0.0.1", {"locale": "fr"}),
            await intake.receive(on_new_message, [""], "web:abc", output, "127.0.0.1"),
            await intake.receive(on_new_message, ["bonjour"], "web:abc", output, "127.0.0.1"),
            await intake.receive(on_new_message, ["bonjour"], "web:abc", output, "127.0.0.1"),
        ]

    handled, refused, throttled, again = asyncio.run(run())
    assert handled.status == "handled" and refused.status == "refused"
    assert throttled.status == "throttled" and throttled.reply == THROTTLED.format(seconds=40)
    assert again.status == "throttled" and again.reply is None, "the notice is given once, not to every message"
    (message,) = delivered
    assert message.sender_id == "rest:web:abc" and message.input_channel == "rest"
    assert message.metadata == {"locale": "fr"}


def test_the_intake_answers_unavailable_when_the_server_fails():
    async def broken(_: UserMessage) -> None:
        raise RuntimeError("tracker store down")

    intake = Intake("socketio", "web", Throttle(Limits(), clock=Clock()))
    outcome = asyncio.run(intake.receive(broken, ["bonjour"], "s" * 32, CollectingOutputChannel()))
    assert outcome.status == "unavailable" and "indisponible" in (outcome.reply or "")


def test_metadata_keeps_known_short_keys_and_flags_oversized():
    assert clean_metadata({"locale": "fr", "page": "https://www.lebij.be/", "x": 1, "locale2": "y"}) == (
        {"locale": "fr", "page": "https://www.lebij.be/"},
        False,
    )
    assert clean_metadata({"locale": "f" * 17}) == ({}, False)
    assert clean_metadata({"locale": "fr", "blob": "b" * 2000}) == ({}, True)
    assert clean_metadata({"locale": "fr", "blob": "b" * 2000}, env={"KA2_MAX_METADATA_BYTES": "4096"})[1] is False
    assert clean_metadata("texte") == ({}, False) and clean_metadata(None) == ({}, False)


def test_client_address_reads_only_the_trusted_proxy_entry():
    assert client_address("172.18.0.5", "6.6.6.6, 203.0.113.7", proxies=1) == "203.0.113.7"
    assert client_address("172.18.0.5", "6.6.6.6, 203.0.113.7", proxies=0) == "172.18.0.5"
    assert client_address("172.18.0.5", "pas-une-adresse", proxies=1) == "172.18.0.5"
    assert client_address("172.18.0.5", None, proxies=1) == "172.18.0.5"


def test_this_machine_has_no_address_budget_without_a_proxy():
    # make run, a test harness or an integration on the host: many conversations, one address.
    assert client_address("127.0.0.1", None, proxies=0) is None
    assert client_address("::1", "6.6.6.6", proxies=0) is None
    # Behind nginx the loopback peer is the proxy: the client is the entry it added.
    assert client_address("127.0.0.1", "203.0.113.7", proxies=1) == "203.0.113.7"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("10.0.0.1") and not is_loopback("")


def request(authorization: str = "", peer: str = "127.0.0.1") -> Any:
    headers = {"authorization": authorization} if authorization else {}
    return SimpleNamespace(headers=headers, conn_info=SimpleNamespace(client_ip=peer))


def test_rest_access_needs_the_token_or_an_explicitly_open_loopback():
    assert authorised(request("Bearer s3cret-jeton"), "s3cret-jeton", False)
    assert authorised(request("bearer s3cret-jeton", peer="203.0.113.7"), "s3cret-jeton", False)
    assert not authorised(request("Bearer autre"), "s3cret-jeton", True)
    assert not authorised(request("s3cret-jeton"), "s3cret-jeton", True)
    assert not authorised(request(), "s3cret-jeton", True), "a token, once set, is always required"
    assert authorised(request(), None, True) and authorised(request(peer="::1"), None, True)
    assert not authorised(request(peer="172.18.0.5"), None, True), "behind nginx: closed"
    assert not authorised(request(), None, False), "no token and not opened: closed"


def test_a_session_belongs_to_the_socket_that_claimed_it():
    sessions = Sessions()
    mine = sessions.claim("sid-1", None)
    assert len(mine) == 32 and sessions.holds("sid-1", mine)
    assert sessions.claim("sid-2", mine) != mine, "held by a live socket"
    assert not sessions.holds("sid-2", mine)
    assert sessions.claim("sid-3", "court") != "court"
    proposed = "0123456789abcdef0123456789abcdef"
    assert sessions.claim("sid-3", proposed) == proposed, "the widget's stored id is accepted when free"
    sessions.release("sid-1")
    assert sessions.claim("sid-4", mine) == mine, "after a disconnect the widget gets its session back"
    assert not sessions.holds("sid-1", mine)


def test_clients_without_an_origin_are_refused_unless_allowed():
    assert not origin_allowed(None, ["https://a.be"]) and not origin_allowed("", ["*"])
    assert origin_allowed(None, ["https://a.be"], without_origin=True)
    assert origin_allowed("https://a.be/", ["https://a.be"]) and not origin_allowed("https://b.be", ["https://a.be"])


@pytest.mark.parametrize(
    "update",
    [
        {"message": {"chat": {"type": "private"}, "text": "x"}},
        {"message": {"chat": {"id": True}, "text": "x"}},
        {"message": {"chat": {"id": 5}, "from": "moi", "text": "x"}},
        {"message": {"chat": {"id": -5, "type": "group"}, "from": {"id": "7"}, "text": "x"}},
        {"message": ["x"]},
        {"callback_query": "x"},
        {"callback_query": {"id": "q", "message": {"chat": {"id": None}}, "data": "/greet"}},
    ],
)
def test_malformed_updates_raise(update):
    with pytest.raises(MalformedUpdate):
        parse_update(update)


def test_telegram_refuses_a_webhook_without_a_secret_and_updates_when_none_is_set(monkeypatch):
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    with pytest.raises(RasaException, match="TELEGRAM_SECRET_TOKEN"):
        TelegramSettings.load({}, {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "https://a.example/webhook"})
    channel = TelegramInput(TelegramSettings(TOKEN))
    assert not channel.authorised(SimpleNamespace(headers={"X-Telegram-Bot-Api-Secret-Token": ""}))
    off = TelegramInput.from_credentials({"optional": True})
    assert off.name() == "telegram" and not isinstance(off, TelegramInput)

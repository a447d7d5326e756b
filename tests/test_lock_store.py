"""The Redis lock store (bot/server/lock_store.py) against a real redis-server on 127.0.0.1.

The test starts its own redis-server on a free port (no persistence) and stops it; it is skipped
where redis-server is not installed (scripts/scale_deps.sh installs it).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from typing import Iterator, List

import pytest
import redis
from rasa.utils.endpoints import EndpointConfig

from bot.server.lock_store import AtomicRedisLockStore

from .conftest import free_port

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen(
        [REDIS, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def store(redis_port) -> AtomicRedisLockStore:
    config = EndpointConfig(url="127.0.0.1", type="bot.server.lock_store.AtomicRedisLockStore", port=redis_port)
    lock_store = AtomicRedisLockStore(config)
    lock_store.red.flushdb()
    return lock_store


class NoBlockingClient:
    """Stands for the synchronous Redis client: any use of it from lock() fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"lock() used the blocking Redis client ({name})")


def test_messages_of_one_conversation_are_served_one_at_a_time_without_the_blocking_client(store):
    store.red = NoBlockingClient()
    order: List[str] = []

    async def turn(name: str) -> None:
        async with store.lock("web:abc"):
            order.append(f"{name} in")
            await asyncio.sleep(0.05)  # the turn's work: another message must wait for it
            order.append(f"{name} out")

    async def main() -> None:
        await asyncio.gather(turn("a"), turn("b"), turn("c"))
        await store.ared.close()

    asyncio.run(main())
    assert [order[i].split()[1] for i in range(6)] == ["in", "out"] * 3
    assert [order[i].split()[0] for i in range(0, 6, 2)] == [order[i].split()[0] for i in range(1, 6, 2)]


def test_a_cancelled_turn_hands_the_conversation_on(redis_port, store):
    async def main() -> bool:
        entered = asyncio.Event()

        async def stuck() -> None:
            async with store.lock("tg:42"):
                entered.set()
                await asyncio.sleep(3600)  # the client went away: the request is cancelled

        task = asyncio.create_task(stuck())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with store.lock("tg:42", lock_lifetime=60):
            served = True
        await store.ared.close()
        return served

    assert asyncio.run(main())
    assert redis.Redis(host="127.0.0.1", port=redis_port, db=1).exists(store._key("tg:42")) == 0


def test_a_failed_release_leaves_a_ticket_that_expires_with_the_lock(redis_port, store, monkeypatch, caplog):
    async def unreachable(*_):
        raise redis.ConnectionError("Redis unreachable")

    async def main() -> None:
        monkeypatch.setattr(store, "async_cleanup", unreachable)
        async with store.lock("rest:x", lock_lifetime=30):
            pass
        await store.ared.close()

    asyncio.run(main())
    client = redis.Redis(host="127.0.0.1", port=redis_port, db=1)
    ttl = client.pttl(store._key("rest:x"))
    assert 0 < ttl <= 30_000  # gone with its ticket: the conversation is never stalled for good
    assert "not released (ConnectionError); it expires with the lock's lifetime" in caplog.text

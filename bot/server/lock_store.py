"""Rasa's Redis lock store with atomic ticket bookkeeping, on the asyncio Redis client.

Rasa 3.6's `RedisLockStore` keeps one JSON "ticket lock" per conversation and updates it by
read-modify-write: two instances receiving the first messages of one conversation at the same time
both read "no lock", both issue ticket 0, both believe it is their turn and process the two messages
in parallel; the SQL tracker store then keeps one of the two turns (`tests/test_scale.py` saw it in
two runs out of three). Here each read-modify-write (issue a ticket, drop expired ones, release one)
runs under a short Redis mutex (SET NX with expiry, redis-py's `Lock`), so tickets are issued one
after the other.

Rasa calls only `lock()`, an async context manager (agent.handle_message, the processor); Rasa's
own implementation does its Redis I/O with the blocking client, in the event loop, and its mutex
would `time.sleep`. `lock()` here uses `redis.asyncio` throughout (waiting is `asyncio.sleep`),
and a ticket is never left behind to stall the conversation:

- the release runs in `finally`, shielded from the cancellation of a request whose client left;
- if the release itself fails (Redis unreachable at that moment), the lock's key still expires
  with its last ticket (`PX`), so the conversation is served again after `lock_lifetime` at worst.

The synchronous methods of the parent (issue_ticket, update_lock, cleanup) keep working, under the
same mutex, for any caller outside the event loop.

endpoints: `lock_store: {type: bot.server.lock_store.AtomicRedisLockStore, url: ..., port: ...}`
(deploy/endpoints.prod.yml).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager, contextmanager
from typing import Any, AsyncIterator, Iterator, Optional

import redis.asyncio
from rasa.core.lock import TicketLock
from rasa.core.lock_store import DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

# A read-modify-write takes a few milliseconds; the expiry only matters if an instance dies holding it.
MUTEX_SECONDS = 5
# How often a queued message checks whether its turn came (Rasa's default is a whole second).
POLL_SECONDS = 0.05


def async_client(endpoint_config: EndpointConfig) -> redis.asyncio.Redis:
    """The asyncio twin of the client RedisLockStore builds from the same endpoint settings."""
    options = endpoint_config.kwargs
    return redis.asyncio.Redis(
        host=endpoint_config.url or "localhost",
        port=int(options.get("port", 6379)),
        db=int(options.get("db", 1)),
        username=options.get("username"),
        password=options.get("password"),
        ssl=bool(options.get("use_ssl", False)),
        ssl_certfile=options.get("ssl_certfile"),
        ssl_keyfile=options.get("ssl_keyfile"),
        ssl_ca_certs=options.get("ssl_ca_certs"),
        socket_timeout=float(options.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT_IN_SECONDS)),
    )


def _expiry_ms(lock: TicketLock) -> int:
    """Milliseconds until the lock's last ticket expires (the key's own expiry), at least 1."""
    last = max((ticket.expires for ticket in lock.tickets), default=time.time())
    return max(1, int((last - time.time()) * 1000) + 1)


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig, **_: Any) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)
        self.ared = async_client(endpoint_config)

    def _key(self, conversation_id: str) -> str:
        return f"{self.key_prefix}{conversation_id}"

    # -- the path Rasa uses: asyncio only -----------------------------------------------------

    @asynccontextmanager
    async def _async_mutex(self, conversation_id: str) -> AsyncIterator[None]:
        async with self.ared.lock(
            f"{self._key(conversation_id)}:mutex",
            timeout=MUTEX_SECONDS,
            blocking_timeout=MUTEX_SECONDS,
            sleep=0.005,
        ):
            yield

    async def async_get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        serialised = await self.ared.get(self._key(conversation_id))
        return TicketLock.from_dict(json.loads(serialised)) if serialised else None

    async def _async_store(self, lock: TicketLock) -> None:
        """Save the lock with the expiry of its last ticket, or delete it once no ticket is left."""
        if lock.is_someone_waiting():
            await self.ared.set(self._key(lock.conversation_id), lock.dumps(), px=_expiry_ms(lock))
        else:
            await self.ared.delete(self._key(lock.conversation_id))

    async def async_issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            async with self._async_mutex(conversation_id):
                lock = await self.async_get_lock(conversation_id) or self.create_lock(conversation_id)
                ticket = lock.issue_ticket(lock_lifetime)
                await self._async_store(lock)
                return ticket
        except Exception as error:  # as Rasa's issue_ticket: the channel answers with its error path
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    async def async_update_lock(self, conversation_id: str) -> Optional[TicketLock]:
        """Drop expired tickets; the lock as it is now (None once it has no ticket left)."""
        async with self._async_mutex(conversation_id):
            lock = await self.async_get_lock(conversation_id)
            if lock is None:
                return None
            lock.remove_expired_tickets()
            await self._async_store(lock)
            return lock if lock.is_someone_waiting() else None

    async def async_cleanup(self, conversation_id: str, ticket_number: int) -> None:
        async with self._async_mutex(conversation_id):
            lock = await self.async_get_lock(conversation_id)
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
                await self._async_store(lock)

    async def _release(self, conversation_id: str, ticket_number: int) -> None:
        try:
            # Shielded: a request cancelled while it held the lock still hands it on.
            await asyncio.shield(self.async_cleanup(conversation_id, ticket_number))
        except Exception as error:  # noqa: BLE001 - the key's expiry frees the conversation anyway
            logger.warning(
                "Lock store: ticket %s not released (%s); it expires with the lock's lifetime.",
                ticket_number,
                type(error).__name__,
            )

    async def _async_acquire(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        lock = await self.async_get_lock(conversation_id)
        while lock is not None:
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(min(wait_time_in_seconds, POLL_SECONDS))
            lock = await self.async_update_lock(conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[TicketLock]:
        ticket = await self.async_issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._async_acquire(conversation_id, ticket, wait_time_in_seconds)
        finally:
            await self._release(conversation_id, ticket)

    # -- the synchronous API of LockStore, atomic too ------------------------------------------

    @contextmanager
    def _mutex(self, conversation_id: str) -> Iterator[None]:
        with self.red.lock(
            f"{self._key(conversation_id)}:mutex",
            timeout=MUTEX_SECONDS,
            blocking_timeout=MUTEX_SECONDS,
            sleep=0.005,
        ):
            yield

    def save_lock(self, lock: TicketLock) -> None:
        self.red.set(self._key(lock.conversation_id), lock.dumps(), px=_expiry_ms(lock))

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)

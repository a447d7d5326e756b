"""Rasa's Redis lock store with its ticket bookkeeping made atomic (several Rasa instances).

Rasa 3.6's `RedisLockStore` keeps one JSON "ticket lock" per conversation and updates it by
read-modify-write: two instances receiving the first messages of one conversation at the same time
both read "no lock", both issue ticket 0, both believe it is their turn and process the two messages
in parallel; the SQL tracker store then keeps one of the two turns (`tests/test_scale.py` saw it in
two runs out of three). Here each read-modify-write (issue a ticket, drop expired ones, release one)
runs under a short Redis mutex (SET NX with expiry, redis-py's `Lock`), so tickets are issued one
after the other; waiting for one's turn is unchanged.

endpoints: `lock_store: {type: bot.server.lock_store.AtomicRedisLockStore, url: ..., port: ...}`
(deploy/endpoints.prod.yml).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

# A read-modify-write takes a few milliseconds; the expiry only matters if an instance dies holding it.
MUTEX_SECONDS = 5


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig, **_: Any) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    @contextmanager
    def _mutex(self, conversation_id: str) -> Iterator[None]:
        with self.red.lock(
            f"{self.key_prefix}{conversation_id}:mutex",
            timeout=MUTEX_SECONDS,
            blocking_timeout=MUTEX_SECONDS,
            sleep=0.005,
        ):
            yield

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)

"""Per-conversation and per-client message budgets, shared by every Rasa instance when Redis is configured.

A sliding window (`KA2_RATE_WINDOW_SECONDS`, default 60 s): each message counts once against its
conversation (`KA2_RATE_PER_SENDER`, default 20) and once against the client's address
(`KA2_RATE_PER_CLIENT`, default 120: several people may share an address, a school behind one NAT).
The count is the current fixed window's plus the previous one's weighted by how much of it the
sliding window still covers: two cheap counters, and a burst across a window boundary is still
seen as one burst. Refused messages count too, so a client that keeps hammering stays refused.

With `KA2_REDIS_HOST` set the counters are Redis keys (`ka2:rate:...`, expiring with their window),
so two instances behind nginx share one budget; otherwise, or while Redis does not answer, they are
kept in this process's memory (bounded).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ka2 import settings

logger = logging.getLogger(__name__)

MAX_MEMORY_KEYS = 50_000  # beyond this, counters of past windows are dropped
REDIS_RETRY_SECONDS = 30  # after a Redis failure, count in memory this long before trying again


@dataclass(frozen=True)
class Limits:
    per_sender: int = 20
    per_client: int = 120
    window: int = 60

    @classmethod
    def from_settings(cls, env: Optional[Mapping[str, str]] = None) -> Limits:
        return cls(
            settings.RATE_PER_SENDER.get(env), settings.RATE_PER_CLIENT.get(env), settings.RATE_WINDOW_SECONDS.get(env)
        )


class MemoryCounters:
    """Counts per (key, window) in this process."""

    def __init__(self) -> None:
        self._counts: Dict[Tuple[str, int], int] = {}

    async def hit(self, key: str, window_index: int, window: int) -> Tuple[int, int]:
        """(this window's count with this hit, the previous window's count)."""
        if len(self._counts) > MAX_MEMORY_KEYS:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window_index - 1}
        count = self._counts.get((key, window_index), 0) + 1
        self._counts[(key, window_index)] = count
        return count, self._counts.get((key, window_index - 1), 0)


class RedisCounters:
    """Counts per (key, window) in Redis: INCR, an expiry of one window past its end, the previous one read."""

    def __init__(self, client: Any, prefix: str = "ka2:rate:") -> None:
        self.client, self.prefix = client, prefix

    async def hit(self, key: str, window_index: int, window: int) -> Tuple[int, int]:
        name = f"{self.prefix}{key}:{window_index}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window * 2)
            pipe.get(f"{self.prefix}{key}:{window_index - 1}")
            count, _, previous = await pipe.execute()
        return int(count), int(previous or 0)


class Throttle:
    """`await throttle.check(conversation, client)`: None when the message may pass, else seconds to wait."""

    def __init__(
        self,
        limits: Optional[Limits] = None,
        redis: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits or Limits.from_settings()
        self.memory = MemoryCounters()
        self.redis = RedisCounters(redis) if redis is not None else None
        self.clock = clock
        self._redis_down = False
        self._retry_redis_at = 0.0

    @classmethod
    def from_settings(cls) -> Throttle:
        from .redis_client import redis_from_settings

        return cls(Limits.from_settings(), redis_from_settings())

    async def _hit(self, key: str, window_index: int) -> Tuple[int, int]:
        if self.redis is not None and time.monotonic() >= self._retry_redis_at:
            try:
                count = await self.redis.hit(key, window_index, self.limits.window)
            except Exception as error:  # Redis down: count locally rather than refuse or let all through
                if not self._redis_down:
                    logger.warning(
                        f"Rate limits counted in memory for {REDIS_RETRY_SECONDS} s, Redis does not answer: "
                        f"{type(error).__name__}"
                    )
                self._redis_down = True
                # Do not make every message wait for Redis's timeout while it is down.
                self._retry_redis_at = time.monotonic() + REDIS_RETRY_SECONDS
            else:
                if self._redis_down:
                    logger.info("Rate limits counted in Redis again.")
                self._redis_down = False
                return count
        return await self.memory.hit(key, window_index, self.limits.window)

    async def _over(self, key: str, limit: int, index: int, covered: float) -> bool:
        current, previous = await self._hit(key, index)
        return current + previous * covered > limit

    async def check(self, conversation: str, client: Optional[str] = None) -> Optional[int]:
        now = self.clock()
        window = self.limits.window
        index = int(now // window)
        elapsed = now - index * window
        covered = 1 - elapsed / window  # the part of the previous window the sliding window still covers
        over = await self._over(f"s:{conversation}", self.limits.per_sender, index, covered)
        if client:
            over = await self._over(f"c:{client}", self.limits.per_client, index, covered) or over
        if not over:
            return None
        # When this window ends the previous one no longer counts: a safe time to come back.
        return max(1, math.ceil(window - elapsed))

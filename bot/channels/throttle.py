"""Per-conversation and per-client message budgets, shared by every Rasa instance when Redis is configured.

A fixed window (`KA2_RATE_WINDOW_SECONDS`, default 60 s): each message counts once against its
conversation (`KA2_RATE_PER_SENDER`, default 20) and once against the client's address
(`KA2_RATE_PER_CLIENT`, default 120: several people may share an address, a school behind one NAT).
Refused messages count too, so a client that keeps hammering stays refused until the window ends.

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

    async def hit(self, key: str, window_index: int, window: int) -> int:
        if len(self._counts) > MAX_MEMORY_KEYS:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window_index}
        count = self._counts.get((key, window_index), 0) + 1
        self._counts[(key, window_index)] = count
        return count


class RedisCounters:
    """Counts per (key, window) in Redis: INCR, and an expiry of one window past its end."""

    def __init__(self, client: Any, prefix: str = "ka2:rate:") -> None:
        self.client, self.prefix = client, prefix

    async def hit(self, key: str, window_index: int, window: int) -> int:
        name = f"{self.prefix}{key}:{window_index}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window * 2)
            count, _ = await pipe.execute()
        return int(count)


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

    @classmethod
    def from_settings(cls) -> Throttle:
        from .redis_client import redis_from_settings

        return cls(Limits.from_settings(), redis_from_settings())

    async def _hit(self, key: str, window_index: int) -> int:
        if self.redis is not None:
            try:
                count = await self.redis.hit(key, window_index, self.limits.window)
            except Exception as error:  # Redis down: count locally rather than refuse or let all through
                if not self._redis_down:
                    logger.warning(f"Rate limits counted in memory, Redis does not answer: {type(error).__name__}")
                self._redis_down = True
            else:
                self._redis_down = False
                return count
        return await self.memory.hit(key, window_index, self.limits.window)

    async def check(self, conversation: str, client: Optional[str] = None) -> Optional[int]:
        now = self.clock()
        window = self.limits.window
        index = int(now // window)
        over = await self._hit(f"s:{conversation}", index) > self.limits.per_sender
        if client:
            over = await self._hit(f"c:{client}", index) > self.limits.per_client or over
        if not over:
            return None
        return max(1, math.ceil((index + 1) * window - now))

"""The asynchronous Redis client of the channels (rate limits, Telegram button payloads), from KA2_REDIS_*."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ka2 import settings


def redis_from_settings(env: Optional[Mapping[str, str]] = None) -> Optional[Any]:
    """A redis.asyncio client when KA2_REDIS_HOST is set, else None (counters and payloads stay in memory).

    Short timeouts: a Redis that does not answer must not hold a user's message for long.
    """
    host = settings.REDIS_HOST.get(env)
    if not host:
        return None
    from redis import asyncio as redis_asyncio

    return redis_asyncio.Redis(
        host=host,
        port=settings.REDIS_PORT.get(env),
        db=settings.REDIS_DB.get(env),
        password=settings.REDIS_PASSWORD.get(env),
        socket_timeout=2,
        socket_connect_timeout=2,
    )

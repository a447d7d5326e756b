"""Extensions of the Rasa server, installed by its entry point (`python -m bot.server run ...`).

- `action_calls`: the action server's responses checked with a schema compiled once (speed).
- `resilience`: a polite answer within a bounded time when the action server is down or slow.
- `tracker_store.ResilientSQLTrackerStore`: the SQL tracker store surviving a database restart.
- `lock_store.AtomicRedisLockStore`: the Redis lock store with atomic ticket updates (several instances).
- `errors`: what the server and the channels answer when a part the conversation needs is down.

Nothing is patched on import: `install()` does it, once, before Rasa's command line runs. The
tracker and lock stores are loaded by Rasa from endpoints.yml and need no installation.
"""

from __future__ import annotations


def install() -> None:
    """Patch the Rasa server in this process (idempotent)."""
    from ka2 import log_privacy

    from . import action_calls, resilience

    action_calls.install()
    resilience.install()
    log_privacy.install()

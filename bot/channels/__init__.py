"""Custom Rasa input channels and server-side extensions, loaded by the Rasa server.

- `rest.RestInput`: Rasa's REST channel (same URL) with input validation (credentials.yml).
- `webchat.SocketIOInput`: Rasa's socket.io channel with the room join awaited (website widget).
- `telegram.TelegramInput`: Telegram over the Bot API, without aiogram.
- `guard`: what a user may send to the model, shared by the three channels.
- `action_calls`: the action server's responses checked with a schema compiled once (speed).
- `resilience`: a polite answer within a bounded time when the action server is down or slow.
- `tracker_store.ResilientSQLTrackerStore`: the SQL tracker store surviving a database restart.
- `lock_store.AtomicRedisLockStore`: the Redis lock store with atomic ticket updates (several instances).
- `bot.actions.log_privacy`: e-mail addresses masked in the logs (installed here for the Rasa server).

Channel-specific rendering (markdown, buttons, message length) lives here, never in the actions.
"""

from bot.actions import log_privacy

from . import action_calls, resilience

action_calls.install()
resilience.install()
log_privacy.install()

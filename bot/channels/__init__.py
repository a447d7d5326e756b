"""Custom Rasa input channels, loaded by the Rasa server from credentials.yml.

- `rest.RestInput`: Rasa's REST channel (same URL) with input validation (credentials.yml).
- `webchat.SocketIOInput`: Rasa's socket.io channel with the room join awaited (website widget).
- `telegram.TelegramInput`: Telegram over the Bot API, without aiogram.
- `guard`: what a user may send to the model, shared by the three channels.
- `intake`: the one way in for the three channels (namespaced conversation ids, `throttle` rate limits,
  bounded metadata, "indisponible"); `redis_client`: the Redis the channels share across instances.

Channel-specific rendering (markdown, buttons, message length) lives here, never in the actions.
The server's own extensions (resilience, stores, log masking) are in `bot.server`, installed by its
entry point `python -m bot.server run`.
"""

"""Custom Rasa input channels, loaded by the Rasa server from credentials.yml.

- `webchat.SocketIOInput`: Rasa's socket.io channel with the room join awaited (website widget).
- `telegram.TelegramInput`: Telegram over the Bot API, without aiogram.

Channel-specific rendering (markdown, buttons, message length) lives here, never in the actions.
"""

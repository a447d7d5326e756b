"""The Rasa side of the assistant: actions (bot/actions), channels (bot/channels), server extensions (bot/server)."""

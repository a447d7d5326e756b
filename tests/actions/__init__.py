"""Tests of bot/actions: the actions and forms on real rasa_sdk trackers and dispatchers."""

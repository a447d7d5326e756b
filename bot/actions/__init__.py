"""The KA2 assistant's action server package (run with `python -m rasa_sdk --actions bot.actions`).

rasa_sdk imports every module of this package at start-up; `startup.py` validates the knowledge
base then.
"""

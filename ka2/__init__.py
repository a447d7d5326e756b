"""The assistant's core: knowledge, text, understanding and rules. Imports neither rasa nor rasa_sdk."""

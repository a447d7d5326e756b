"""The compiled check of the action server's responses (bot/server/action_calls.py) accepts and
refuses exactly what Rasa's own check does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.server import action_calls

VALID = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "sector", "value": "sector.youth"}],
        "responses": [{"text": "Bonjour", "buttons": [{"title": "Oui", "payload": "/affirm"}]}],
    },
    {"events": [{"event": "active_loop", "name": "project_matching_form"}, {"event": "followup", "name": "x"}]},
    {},
]
INVALID = [
    {"events": [{"event": "no_such_event"}]},
    {"events": "slot"},
    {"responses": ["text"]},
    {"events": [{"event": "slot"}]},
]


def stock_check():
    """Rasa's own check, whether or not `python -m bot.server` installed the compiled one in this process."""
    current = RemoteAction._validate_action_result
    return getattr(current, "__wrapped__", current)


@pytest.mark.parametrize("response", VALID)
def test_valid_responses_accepted_like_rasa(response):
    stock = RemoteAction("x", None)
    assert action_calls.validate_action_result(response) is True
    assert stock_check()(stock, response) is True


@pytest.mark.parametrize("response", INVALID)
def test_invalid_responses_refused_like_rasa(response):
    with pytest.raises(ValidationError) as compiled:
        action_calls.validate_action_result(response)
    with pytest.raises(ValidationError) as stock:
        stock_check()(RemoteAction("x", None), response)
    assert compiled.value.message == stock.value.message
    assert "Failed to validate Action server response" in compiled.value.message


def test_installed_once_on_rasa_remote_action():
    from bot.server import install

    install()  # as `python -m bot.server run` does
    action_calls.install()
    assert getattr(RemoteAction._validate_action_result, "_ka2_compiled", False)

"""One module of slot names, one way to reply: checked over the source of bot/actions."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import slots
from bot.actions.reply import Message, Reply, intent_button, say

from ..conftest import ROOT

ACTIONS = ROOT / "bot" / "actions"
DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text("utf-8"))


def _constants() -> dict:
    return {name: value for name, value in vars(slots).items() if name.isupper() and not name.startswith("SLOT_")}


def test_every_slot_name_is_a_slot_or_a_form_of_the_domain():
    names = _constants()
    singles = {n: v for n, v in names.items() if isinstance(v, str) and n != "REQUESTED_SLOT"}
    known = set(DOMAIN["slots"]) | set(DOMAIN["forms"])
    assert {n: v for n, v in singles.items() if v not in known} == {}
    for group in (slots.MATCHING_SLOTS, slots.HANDOFF_SLOTS):
        assert set(group) <= set(DOMAIN["slots"])
    # Each form's own slots are the ones its group lists.
    assert set(slots.HANDOFF_SLOTS) == set(DOMAIN["forms"][slots.HANDOFF_FORM]["required_slots"])


def _string_literals(path: Path):
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_no_action_module_retypes_a_slot_name():
    names = set(DOMAIN["slots"]) | {slots.REQUESTED_SLOT}
    offenders = [
        f"{path.name}:{line}: {value!r}"
        for path in sorted(ACTIONS.glob("*.py"))
        if path.name != "slots.py"
        for line, value in _string_literals(path)
        if value in names
    ]
    assert offenders == []


def test_only_the_reply_module_speaks_to_the_dispatcher():
    speakers = sorted(
        path.name
        for path in ACTIONS.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "utter_message"
    )
    assert speakers == ["reply.py"]
    # Buttons are built by reply.button / intent_button, never written as dicts.
    handmade = [
        path.name
        for path in ACTIONS.glob("*.py")
        if path.name != "reply.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Dict) and {"title", "payload"} <= {getattr(k, "value", None) for k in node.keys}
    ]
    assert handmade == []


def test_a_reply_renders_its_text_source_buttons_and_responses_once():
    dispatcher = CollectingDispatcher()
    events = [{"event": "slot", "name": slots.PENDING_QUESTION, "value": None}]
    sent = Reply(
        [
            Message(
                "Oui.", [intent_button("Et la durée ?", "ask_duration", action_type="action.x")], source="Source : X"
            ),
            Message("ignored", response="utter_greet"),
        ],
        events,
    ).send(dispatcher)
    assert sent == events
    assert dispatcher.messages[0]["text"] == "Oui.\nSource : X"
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "Et la durée ?", "payload": '/ask_duration{"action_type":"action.x"}'}
    ]
    assert dispatcher.messages[1]["response"] == "utter_greet" and not dispatcher.messages[1]["text"]
    assert say(dispatcher, Message("Merci.")) == [] and dispatcher.messages[2]["text"] == "Merci."
    assert "buttons" not in Message("Merci.").as_kwargs()

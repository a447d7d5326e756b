"""Faults: the action server stopped or frozen mid-conversation, Rasa restarted in the middle of a form;
start-up refusals (corrupt or missing model, invalid knowledge base, missing spaCy model).

The user gets "service momentanément indisponible" within a bounded time, and the conversation
resumes when the action server is back; a Rasa restart loses nothing, the form's state included.
(The PostgreSQL outage is in tests/test_scale.py, which has a PostgreSQL server.)
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from typing import Any, Dict, Iterator, List

import pytest

from bot.channels.guard import UNAVAILABLE
from tests.conftest import BIN, MODEL, ROOT, Stack, start_rasa_patiently

ACTION_TIMEOUT = 4
QUESTION = "c'est quoi le KA2 ?"
FUNDING = "quels sont les montants d'un partenariat de coopération ?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(
        tmp_path_factory.mktemp("faults"),
        credentials=(ROOT / "credentials.yml").read_text(),
        env={"KA2_ACTION_TIMEOUT": str(ACTION_TIMEOUT)},
    )
    try:
        running.start_actions()
        start_rasa_patiently(running)
        yield running
    finally:
        running.stop()


def text_of(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def action_server(stack: Stack) -> Any:
    return next(p for p in stack.processes if "rasa_sdk" in p.args)


def timed(stack: Stack, sender: str, text: str) -> tuple:
    started = time.monotonic()
    messages = stack.say(sender, text)
    return text_of(messages), time.monotonic() - started


def test_action_server_stopped_mid_conversation(stack):
    assert "Source :" in timed(stack, "fault-down", QUESTION)[0]
    stack._stop([action_server(stack)])
    reply, seconds = timed(stack, "fault-down", FUNDING)
    assert reply == UNAVAILABLE and seconds < 15  # a refused connection fails at once
    stack.start_actions()
    reply, _ = timed(stack, "fault-down", FUNDING)
    assert "Source :" in reply and UNAVAILABLE not in reply
    with sqlite3.connect(stack.db) as db:
        users = db.execute(
            "SELECT COUNT(*) FROM events WHERE sender_id='rest:fault-down' AND type_name='user'"
        ).fetchone()
    assert users == (3,)


def test_action_server_frozen_answers_within_the_timeout_then_resumes(stack):
    assert "Source :" in timed(stack, "fault-slow", QUESTION)[0]
    process = action_server(stack)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        reply, seconds = timed(stack, "fault-slow", FUNDING)
    finally:
        os.kill(process.pid, signal.SIGCONT)
    assert reply == UNAVAILABLE and seconds < ACTION_TIMEOUT + 10
    reply, _ = timed(stack, "fault-slow", FUNDING)
    assert "Source :" in reply


def form_state(stack: Stack, sender: str) -> Dict[str, Any]:
    """The active loop and the form's slots as stored in the tracker store."""
    state: Dict[str, Any] = {"active_loop": None}
    with sqlite3.connect(stack.db) as db:
        for (data,) in db.execute("SELECT data FROM events WHERE sender_id=? ORDER BY id", (f"rest:{sender}",)):
            event = json.loads(data)
            if event["event"] == "active_loop":
                state["active_loop"] = event.get("name")
            elif event["event"] == "slot":
                state[event["name"]] = event.get("value")
    return state


def test_rasa_restart_in_the_middle_of_the_form_loses_nothing(stack):
    reply = text_of(stack.say("fault-restart", "aide-moi à choisir une priorité pour mon projet"))
    assert "Quel secteur votre projet vise-t-il surtout" in reply
    assert form_state(stack, "fault-restart")["active_loop"] == "project_matching_form"
    stack.stop_rasa()
    start_rasa_patiently(stack)
    reply = text_of(stack.say("fault-restart", "c'est pour une maison de jeunes"))
    assert "Décrivez votre projet en quelques phrases" in reply
    state = form_state(stack, "fault-restart")
    assert state["active_loop"] == "project_matching_form" and state["project_sector"] == "sector.youth"


# --- start-up refusals: one clear line, no trace (scripts/preflight.py, run by scripts/run.sh) ------


def run_script(args: List[str], env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def assert_one_clear_line(result: subprocess.CompletedProcess, expected: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr
    assert len(lines) == 1 and lines[0].startswith("Refusing to start: ") and expected in lines[0], lines


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "is missing"),
        ("garbage", "is corrupt"),
        ("truncated", "is corrupt"),
        ("not_rasa", "not a Rasa model"),
    ],
)
def test_preflight_refuses_a_missing_or_corrupt_model(tmp_path, case, expected):
    model = tmp_path / "ka2.tar.gz"
    if case == "garbage":
        model.write_bytes(b"ceci n'est pas un modele" * 100)
    elif case == "truncated":
        model.write_bytes(MODEL.read_bytes()[:2_000_000])
    elif case == "not_rasa":
        with tarfile.open(model, "w:gz") as archive:
            archive.add(ROOT / "config.yml", arcname="config.yml")
    result = run_script([str(BIN / "python"), "scripts/preflight.py", "--model", str(model)], {})
    assert_one_clear_line(result, expected)


def test_preflight_refuses_an_invalid_knowledge_base(broken_knowledge):
    path = broken_knowledge / "actions.yml"
    path.write_text(path.read_text().replace('    label: "Partenariats à petite échelle (KA210)"\n', ""))
    result = run_script([str(BIN / "python"), "scripts/preflight.py"], {"KA2_KNOWLEDGE_DIR": str(broken_knowledge)})
    assert_one_clear_line(result, "knowledge/actions.yml, entry 'action.small_scale', field 'label'")


def test_preflight_refuses_an_invalid_environment_variable_by_name():
    result = run_script([str(BIN / "python"), "scripts/preflight.py"], {"KA2_ACTION_TIMEOUT": "dix"})
    assert_one_clear_line(result, "KA2_ACTION_TIMEOUT='dix'")


def test_preflight_names_a_missing_spacy_model_and_passes_on_the_real_setup():
    sys.path.insert(0, str(ROOT / "scripts"))
    import preflight

    assert "spaCy model fr_core_news_xx is not installed" in (preflight.check_spacy("fr_core_news_xx") or "")
    assert preflight.main([]) == 0


def test_run_sh_refuses_a_corrupt_model_before_starting_anything(tmp_path):
    model = tmp_path / "ka2.tar.gz"
    model.write_bytes(b"\x1f\x8b" + b"corrompu" * 1000)
    result = run_script(["scripts/run.sh"], {"KA2_MODEL": str(model), "WEB_PORT": "1"})
    assert_one_clear_line(result, "is corrupt")
    assert "Action server ready" not in result.stdout

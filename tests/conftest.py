"""Shared fixtures: the real knowledge base, rasa_sdk trackers, and a running stack on loopback."""

from __future__ import annotations

import asyncio
import asyncore
import contextlib
import json
import os
import shutil
import smtpd
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "ka2.tar.gz"
OUTPUT = ROOT / "tests" / "output"

sys.path.insert(0, str(ROOT))

from ka2.knowledge import KnowledgeBase, get_knowledge_base  # noqa: E402


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return get_knowledge_base()


def make_tracker(
    intent: str,
    text: str = "",
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    active_loop: Optional[str] = None,
) -> Tracker:
    """A rasa_sdk Tracker as the action server builds it from Rasa's request."""
    message = {
        "text": text or f"/{intent}",
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": 0.99}],
    }
    return Tracker(
        sender_id="test-user",
        slots=dict(slots or {}),
        latest_message=message,
        events=[{"event": "user", "text": message["text"], "parse_data": message}],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def run_action(action: Any, tracker: Tracker) -> tuple:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def model_path() -> Path:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run the tests with `make test`, which trains it first.")
    return MODEL


# Servers started by the tests listen on loopback only; rasa_sdk's server has no --host but reads SANIC_HOST.
# The REST channel is open without a token to loopback clients only with KA2_REST_OPEN=1, as in `make run`.
# Every test speaks from 127.0.0.1: the shared stacks get budgets no test reaches; tests/test_attacks.py
# runs a stack with the default limits and shows the throttle.
LOOPBACK_ENV = {
    "SANIC_HOST": "127.0.0.1",
    "KA2_REST_OPEN": "1",
    "KA2_RATE_PER_SENDER": "100000",
    "KA2_RATE_PER_CLIENT": "100000",
}


def action_server_args(port: int) -> List[str]:
    """The action server as scripts/run.sh starts it: rasa_sdk directly (`rasa run actions` would import
    Rasa's command line for nothing), on loopback with LOOPBACK_ENV in its environment."""
    return [str(BIN / "python"), "-m", "rasa_sdk", "--actions", "bot.actions", "--port", str(port)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


class Stack:
    """The action server and the Rasa server with the REST channel, on 127.0.0.1."""

    def __init__(
        self,
        workdir: Path,
        credentials: str = "rest:\n",
        rasa_args: Sequence[str] = (),
        env: Optional[Dict[str, str]] = None,
    ):
        """`credentials`: credentials.yml text; `rasa_args`: extra `rasa run` options; `env`: extra variables."""
        self.workdir = workdir
        self.credentials, self.rasa_args, self.env = credentials, list(rasa_args), dict(env or {})
        self.action_port, self.rasa_port = free_port(), free_port()
        self.processes: List[subprocess.Popen] = []
        self.db = workdir / "tracker.db"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def _spawn(self, args: List[str], log_name: str) -> tuple:
        log = self.workdir / log_name
        env = {**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.update({"RASA_TELEMETRY_ENABLED": "false", **LOOPBACK_ENV, **self.env})
        process = subprocess.Popen(
            args, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self.processes.append(process)
        return process, log

    def start_actions(self) -> None:
        process, log = self._spawn(
            action_server_args(self.action_port),
            "actions.log",
        )
        wait_for(f"http://127.0.0.1:{self.action_port}/health", process, log, timeout=60)

    def start_rasa(self) -> None:
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{self.db}"\n'
        )
        credentials = self.workdir / "credentials.yml"
        credentials.write_text(self.credentials)
        process, log = self._spawn(
            [
                str(BIN / "python"),
                "-m",
                "bot.server",
                "run",
                "--model",
                str(model_path()),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(credentials),
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
                *self.rasa_args,
            ],
            "rasa.log",
        )
        wait_for(self.url + "/", process, log)

    def stop_rasa(self) -> None:
        self._stop([p for p in self.processes if "rasa_sdk" not in p.args])

    def _stop(self, processes: List[subprocess.Popen]) -> None:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            self.processes.remove(process)

    def stop(self) -> None:
        self._stop(list(self.processes))

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        request = urllib.request.Request(
            self.url + "/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


def running_stack(workdir: Path) -> Iterator[Stack]:
    """Start both servers in `workdir`, yield them, stop them."""
    # The action server's helpdesk tables (handoffs, ratings) go to the stack's own database.
    running = Stack(workdir, env={"KA2_DB_URL": f"sqlite:///{workdir / 'tracker.db'}"})
    try:
        running.start_actions()
        running.start_rasa()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory.mktemp("stack"))


def run_form_validation(action: Any, intent: str, text: str, slots: Dict[str, Any], form: str, entities=None) -> tuple:
    """A FormValidationAction run by rasa_sdk's own machinery: (messages, {slot: value})."""
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text("utf-8"))
    tracker = make_tracker(intent, text, entities, slots=slots, active_loop=form)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture
def broken_knowledge(tmp_path: Path) -> Path:
    """A writable copy of knowledge/ to break in a test."""
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", target)
    return target


class RecordingSMTPServer(smtpd.SMTPServer):
    """A real SMTP server on 127.0.0.1 that keeps what it receives: (from, recipients, message)."""

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), None, decode_data=False)
        self.received: List[tuple] = []

    @property
    def port(self) -> int:
        return self.socket.getsockname()[1]

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        self.received.append((mailfrom, rcpttos, message_from_bytes(data, policy=email_policy)))


@contextlib.contextmanager
def recording_smtp_server() -> Iterator[RecordingSMTPServer]:
    """A RecordingSMTPServer on a free 127.0.0.1 port, served by a thread, closed on exit."""
    server = RecordingSMTPServer(free_port())
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.1}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def smtp_server() -> Iterator[RecordingSMTPServer]:
    with recording_smtp_server() as server:
        yield server


def helpdesk_smtp_env(port: int) -> Dict[str, str]:
    """Notification settings (ka2/notify.py) pointing at a local SMTP server."""
    return {
        "KA2_SMTP_HOST": "127.0.0.1",
        "KA2_SMTP_PORT": str(port),
        "KA2_SMTP_FROM": "assistant-ka2@example.org",
        # smtpd offers no STARTTLS: the tests' plain server needs the explicit opt-out.
        "KA2_SMTP_TLS": "off",
        "KA2_HELPDESK_EMAIL_BIJ": "helpdesk-bij@example.org",
        "KA2_HELPDESK_EMAIL_AEF": "helpdesk-aef@example.org",
    }


def start_rasa_patiently(stack: Stack, timeout: float = 600) -> None:
    """`stack.start_rasa()`, waiting longer than its 180 s when the machine is busy (CI's 2 shared cores)."""
    try:
        stack.start_rasa()
    except RuntimeError as error:
        rasa = [p for p in stack.processes if "rasa_sdk" not in p.args]
        if "not ready" not in str(error) or not rasa:
            raise
        wait_for(stack.url + "/", rasa[-1], stack.workdir / "rasa.log", timeout=timeout)


# --- the `stack` marker: tests that start servers (Rasa, the action server) or a browser ------------
# A test gets it when one of its fixtures, at any depth, starts them (its code builds a Stack, calls
# running_stack, opens a Browser or a Cluster), so a new stack test needs no marker of its own.
# `make test-fast` runs `pytest -m "not stack"`.
STACK_STARTERS = ("Stack(", "running_stack(", "Browser(", "Cluster(")


def _starts_servers(fixturedef: Any, seen: Dict[Any, bool]) -> bool:
    func = fixturedef.func
    if func not in seen:
        try:
            import inspect

            source = inspect.getsource(func)
        except (OSError, TypeError):
            source = ""
        seen[func] = any(starter in source for starter in STACK_STARTERS)
    return seen[func]


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    seen: Dict[Any, bool] = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("stack"):
            continue
        defs = [d for name in info.names_closure for d in info.name2fixturedefs.get(name, ())]
        if any(_starts_servers(d, seen) for d in defs):
            item.add_marker(pytest.mark.stack)

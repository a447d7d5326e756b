"""Scale-out on a real distributed set-up: PostgreSQL + Redis + two Rasa instances + one action server.

Run by `make test-scale` (which installs PostgreSQL and Redis from Debian packages if missing); skipped
by a plain `pytest tests` unless KA2_SCALE_TEST=1. Everything runs on 127.0.0.1 on free ports with its
own data directories, and is stopped at the end.

1. 50 concurrent conversations of 6 turns, consecutive turns of a conversation alternating between
   the two Rasa instances (deploy/endpoints.prod.yml: PostgreSQL tracker store, Redis lock store):
   every reply is the expected one, and in the database every conversation has all its events
   exactly once and in order.
2. Two messages of one conversation sent at the same time to the two instances: the Redis lock
   serialises them, both turns are stored whole and not interleaved.
3. PostgreSQL stopped then started: the user gets "service momentanément indisponible" (503) while it
   is down, and the same Rasa process answers again, in the same conversation, once it is back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from bot.channels.guard import UNAVAILABLE
from tests.conftest import BIN, LOOPBACK_ENV, ROOT, action_server_args, free_port, model_path, wait_for

pytestmark = pytest.mark.skipif(
    os.environ.get("KA2_SCALE_TEST") != "1", reason="run by `make test-scale` (KA2_SCALE_TEST=1)"
)

CONVERSATIONS = 50
DEADLINE_SECONDS = 600  # the 300 turns, on 2 busy cores
# (message, a piece of the expected reply): deterministic turns through rules, actions and the form.
TURNS = [
    ("/greet", "Bonjour ! Je suis l'assistant Erasmus+"),
    ("aide-moi à choisir une priorité pour mon projet", "Quel secteur votre projet vise-t-il surtout"),
    ('/inform_sector{"sector":"sector.youth"}', "Décrivez votre projet en quelques phrases"),
    ("stop", "j'arrête l'analyse de votre projet"),
    ("c'est quoi le KA2 ?", "Source :"),
    ("merci", "Avec plaisir"),
]


def pg_bin() -> Optional[Path]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class Services:
    """PostgreSQL and Redis on loopback, in a temporary directory, as the right users."""

    def __init__(self) -> None:
        bindir = pg_bin()
        redis = shutil.which("redis-server")
        if bindir is None or redis is None:
            pytest.fail("PostgreSQL or Redis is not installed: run `make test-scale`, which installs them.")
        self.pg_bin, self.redis_bin = bindir, redis
        self.dir = Path(tempfile.mkdtemp(prefix="ka2-scale-"))
        self.pg_port, self.redis_port = free_port(), free_port()
        self.pg_data = self.dir / "pgdata"
        self.redis: Optional[subprocess.Popen] = None
        self.as_postgres: List[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_postgres, *args], check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if self.as_postgres:
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, "postgres")
        self._pg(str(self.pg_bin / "initdb"), "-D", str(self.pg_data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start_postgres()
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "-c", "CREATE DATABASE ka2"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        log = (self.dir / "redis.log").open("w")
        self.redis = subprocess.Popen(
            [
                self.redis_bin,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while (
            subprocess.run(["redis-cli", "-p", str(self.redis_port), "ping"], capture_output=True).stdout.strip()
            != b"PONG"
        ):
            if time.monotonic() > deadline or self.redis.poll() is not None:
                raise RuntimeError("Redis did not start: " + (self.dir / "redis.log").read_text()[-2000:])
            time.sleep(0.2)

    def start_postgres(self) -> None:
        options = f"-p {self.pg_port} -c listen_addresses=127.0.0.1 -k {self.dir} -c max_connections=60"
        self._pg(
            str(self.pg_bin / "pg_ctl"),
            "-D",
            str(self.pg_data),
            "-l",
            str(self.dir / "postgres.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop_postgres(self) -> None:
        self._pg(str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast", "-w", "stop", check=False)

    def stop(self) -> None:
        self.stop_postgres()
        if self.redis is not None:
            self.redis.terminate()
            try:
                self.redis.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, query: str) -> List[Tuple[str, ...]]:
        result = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.pg_port),
                "-U",
                "postgres",
                "-d",
                "ka2",
                "-At",
                "-F",
                "\t",
                "-c",
                query,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return [tuple(line.split("\t")) for line in result.stdout.splitlines() if line]


class Cluster:
    def __init__(self, services: Services, workdir: Path):
        self.services, self.workdir = services, workdir
        self.action_port = free_port()
        self.rasa_ports = [free_port(), free_port()]
        self.processes: Dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            **LOOPBACK_ENV,
            "KA2_ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_port}/webhook",
            "KA2_DB_HOST": "127.0.0.1",
            "KA2_DB_PORT": str(services.pg_port),
            "KA2_DB_NAME": "ka2",
            "KA2_DB_USER": "postgres",
            "KA2_DB_PASSWORD": "",
            "KA2_REDIS_HOST": "127.0.0.1",
            "KA2_REDIS_PORT": str(services.redis_port),
            "KA2_REDIS_DB": "0",
            "KA2_REDIS_PASSWORD": "",
            "KA2_DB_RETRY_SECONDS": "2",
            "SQL_POOL_SIZE": "5",
            "SQL_MAX_OVERFLOW": "10",
        }

    def spawn(self, name: str, args: List[str]) -> Tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}.log"
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process, log

    def start(self) -> None:
        actions = self.spawn("actions", action_server_args(self.action_port))
        rasas = [
            self.spawn(
                f"rasa{n}",
                [
                    str(BIN / "python"),
                    "-m",
                    "bot.server",
                    "run",
                    "--model",
                    str(model_path()),
                    "--endpoints",
                    "deploy/endpoints.prod.yml",
                    "--credentials",
                    "deploy/credentials.prod.yml",
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
            )
            for n, port in enumerate(self.rasa_ports)
        ]
        wait_for(f"http://127.0.0.1:{self.action_port}/health", *actions, timeout=120)
        for port, (process, log) in zip(self.rasa_ports, rasas, strict=False):
            wait_for(f"http://127.0.0.1:{port}/", process, log, timeout=400)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    def say(self, instance: int, sender: str, text: str, timeout: float = 120) -> Tuple[int, List[Dict[str, Any]]]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.rasa_ports[instance]}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"[]")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    services = Services()
    running: Optional[Cluster] = None
    try:
        services.start()
        running = Cluster(services, tmp_path_factory.mktemp("scale"))
        running.start()
        yield running
    finally:
        if running is not None:
            running.stop()
        services.stop()


def converse(cluster: Cluster, number: int, durations: List[float]) -> List[str]:
    """One conversation; its turns alternate between the instances. Returns the problems found."""
    sender = f"scale-{number:03d}"
    problems = []
    for turn, (text, expected) in enumerate(TURNS):
        started = time.monotonic()
        status, messages = cluster.say((number + turn) % 2, sender, text)
        durations.append(time.monotonic() - started)
        reply = "\n".join(m.get("text", "") for m in messages)
        if status != 200 or expected not in reply:
            problems.append(f"{sender} turn {turn + 1} ({text!r}): {status} {reply[:160]!r}")
    return problems


def rss_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) // 1024


def test_fifty_conversations_alternating_between_two_instances(cluster, capsys):
    started = time.monotonic()
    durations: List[float] = []
    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
        found = pool.map(lambda n: converse(cluster, n, durations), range(CONVERSATIONS))
        problems = [p for each in found for p in each]
    elapsed = time.monotonic() - started
    durations.sort()
    with capsys.disabled():
        print(
            f"\n{CONVERSATIONS}x{len(TURNS)} turns in {elapsed:.0f} s ({len(durations) / elapsed:.1f} turns/s), "
            f"reply median {durations[len(durations) // 2]:.2f} s, p95 {durations[int(len(durations) * 0.95)]:.2f} s; "
            f"RSS: " + ", ".join(f"{name} {rss_mb(p.pid)} MB" for name, p in cluster.processes.items())
        )
    assert problems == [], "\n".join(problems[:20])
    assert elapsed < DEADLINE_SECONDS, f"{CONVERSATIONS}x{len(TURNS)} turns took {elapsed:.0f} s"

    rows = cluster.services.sql(
        "SELECT sender_id, id, type_name, timestamp, data FROM events WHERE sender_id LIKE 'rest:scale-%' ORDER BY sender_id, id"
    )
    conversations: Dict[str, List[Tuple[str, ...]]] = {}
    for row in rows:
        conversations.setdefault(row[0], []).append(row)
    assert len(conversations) == CONVERSATIONS
    for sender, events in conversations.items():
        data = [json.loads(e[4]) for e in events]
        users = [d["text"] for d in data if d["event"] == "user"]
        assert users == [text for text, _ in TURNS], f"{sender}: user events {users}"
        # Exactly once: no event stored twice (same type, time and content).
        keys = [(e[2], e[3], e[4]) for e in events]
        assert len(set(keys)) == len(keys), f"{sender}: duplicated events"
        # In order: timestamps never go back, and each turn's bot replies come after its user message.
        stamps = [float(e[3]) for e in events]
        assert stamps == sorted(stamps), f"{sender}: events out of order"
        bots_per_turn = [0] * len(TURNS)
        turn = -1
        for d in data:
            if d["event"] == "user":
                turn += 1
            elif d["event"] == "bot" and turn >= 0:
                bots_per_turn[turn] += 1
        assert all(bots_per_turn), f"{sender}: a turn without a stored reply {bots_per_turn}"


def test_simultaneous_messages_of_one_conversation_are_handled_one_after_the_other(cluster):
    """Two messages of the same conversation sent at once to the two instances: the Redis lock makes
    one wait for the other, so both turns are stored whole, one after the other, never interleaved."""
    pairs = [("merci", "Avec plaisir"), ("c'est quoi le KA2 ?", "Source :")]

    def both_at_once(number: int) -> List[str]:
        sender = f"lock-{number:02d}"
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda i: cluster.say(i, sender, pairs[i][0]), range(2)))
        return [
            f"{sender} {pairs[i][0]!r}: {status} {messages!r:.160}"
            for i, (status, messages) in enumerate(results)
            if status != 200 or pairs[i][1] not in "\n".join(m.get("text", "") for m in messages)
        ]

    with ThreadPoolExecutor(max_workers=10) as pool:
        problems = [p for found in pool.map(both_at_once, range(10)) for p in found]
    assert problems == [], "\n".join(problems)
    for number in range(10):
        rows = cluster.services.sql(f"SELECT data FROM events WHERE sender_id = 'rest:lock-{number:02d}' ORDER BY id")
        events = [json.loads(data) for (data,) in rows]
        users = [i for i, e in enumerate(events) if e["event"] == "user"]
        assert len(users) == 2
        # The first turn is complete (its replies, then listening) before the second user message.
        first_turn = events[users[0] + 1 : users[1]]
        assert any(e["event"] == "bot" for e in first_turn)
        assert first_turn[-1].get("event") == "action" and first_turn[-1].get("name") == "action_listen"


def test_postgresql_briefly_unreachable_recovers_without_restarting_rasa(cluster):
    sender = "scale-outage"
    status, messages = cluster.say(0, sender, "c'est quoi le KA2 ?")
    assert status == 200 and any("Source :" in m["text"] for m in messages)
    cluster.services.stop_postgres()
    try:
        started = time.monotonic()
        status, messages = cluster.say(
            0, sender, "quels sont les montants d'un partenariat de coopération ?", timeout=60
        )
        assert status == 503 and messages[-1]["text"] == UNAVAILABLE
        assert time.monotonic() - started < 30
    finally:
        cluster.services.start_postgres()
    assert cluster.processes["rasa0"].poll() is None  # the same process, not restarted
    status, messages = cluster.say(0, sender, "quels sont les montants d'un partenariat de coopération ?")
    assert status == 200 and any("Source :" in m["text"] for m in messages)
    status, messages = cluster.say(1, sender, "merci")
    assert status == 200 and "Avec plaisir" in messages[0]["text"]
    users = [
        json.loads(d)["text"]
        for (d,) in cluster.services.sql(
            f"SELECT data FROM events WHERE sender_id = 'rest:{sender}' AND type_name = 'user' ORDER BY id"
        )
    ]
    assert users == ["c'est quoi le KA2 ?", "quels sont les montants d'un partenariat de coopération ?", "merci"]
    log = (cluster.workdir / "rasa0.log").read_text()
    assert "tracker store postgresql://postgres" in log and "unreachable" in log

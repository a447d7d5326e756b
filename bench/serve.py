"""Serving benchmark: the action server and Rasa with the REST channel on 127.0.0.1, a bounded load.

Used by bench/run.py; alone: `.venv/bin/python bench/serve.py [--model models/ka2.tar.gz]`.
Measures the cold start of each server, resident memory after warm-up and after the load, and the
latency of every turn of realistic multi-turn conversations (FAQ questions, follow-ups, the
priority-matching form) at 1, 8 and 32 concurrent conversations, plus errors (a non-200 answer, an
exception or an empty answer). The number of conversations is fixed, so the run is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Realistic conversations, as users type them (typos, no accents, button payloads, the form).
SCRIPTS: List[List[str]] = [
    [
        "bonjour",
        "c'est quoi exactement l'action clé 2 ?",
        "quelles sont les actions possibles ?",
        "et pour un petit partenariat, c'est combien ?",
        "c'est quand la date limite ?",
        "merci beaucoup",
    ],
    [
        "salut",
        "je dois déposer mon projet où ?",
        '/inform_sector{"sector":"sector.youth"}',
        "quelles sont les priorités pour un projet jeunesse ?",
        "et la troisième ?",
        "combien de partenaires faut-il ?",
        "au revoir",
    ],
    [
        "aide-moi à choisir une priorité pour mon projet",
        "on est une maison de jeunes",
        "des ateliers de réparation de vélos avec des jeunes réfugiés, pour apprendre un métier et réduire les déchets",
        "/affirm",
        "merci",
    ],
    [
        "quelles priorités pour mon projet ?",
        '/inform_sector{"sector":"sector.school"}',
        "des ateliers de théâtre contre le harcèlement et le racisme, avec des élèves de 14 ans et des écoles en Grèce",
        "en fait c'est plutôt pour des jeunes",
        "/deny",
        "quel temps fera-t-il demain à Liège ?",
    ],
    [
        "slt c koi le ka2",
        "les priorites horizontales c quoi",
        "quels pays peuvent participer ?",
        "ca dure combien de temps un projet",
        "je voudrais parler a quelqu'un",
        "ok merci",
    ],
]
TURNS_PER_ROUND = sum(len(s) for s in SCRIPTS)
# Latency: concurrency -> conversations run, each user pausing THINK_S seconds before each message (a
# chat user reads and types for several seconds; one second on average is a busy site).
LEVELS = {1: 5, 8: 40, 32: 96}
THINK_S = (0.5, 1.5)
# Saturation: the same scripts with no pause at all, as fast as the server answers (throughput). With
# no pause, latency is concurrency / throughput by construction (Little's law), so it is reported too
# but says nothing about what a user waits for.
SATURATION_LEVELS = {8: 40, 32: 96}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pids.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return round(total / 1024, 1)


def post(url: str, sender: str, text: str, timeout: float = 30) -> list:
    request = urllib.request.Request(
        url + "/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Servers:
    """The action server and one Rasa process on free loopback ports, stopped by `stop()`."""

    def __init__(self, model: Path, workdir: Path, env: Optional[Dict[str, str]] = None):
        self.model, self.workdir = model, workdir
        self.env = {
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SANIC_HOST": "127.0.0.1",  # the action server listens on loopback only
            **(env or {}),
        }
        self.action_port, self.rasa_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.rasa_port}"
        self.processes: List[subprocess.Popen] = []
        self.actions: Optional[subprocess.Popen] = None
        self.rasa: Optional[subprocess.Popen] = None

    def _spawn(self, args: List[str], log: str) -> subprocess.Popen:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=(self.workdir / log).open("w"),
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def _check(self, process: subprocess.Popen, log: str) -> None:
        if process.poll() is not None:
            raise RuntimeError(f"{log} exited early:\n{(self.workdir / log).read_text()[-3000:]}")

    def start_actions(self, timeout: float = 90) -> float:
        start = time.perf_counter()
        self.actions = self._spawn(
            [str(BIN / "python"), "-m", "rasa_sdk", "--actions", "bot.actions", "--port", str(self.action_port)],
            "actions.log",
        )
        deadline = start + timeout
        while time.perf_counter() < deadline:
            self._check(self.actions, "actions.log")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.action_port}/health", timeout=2):
                    return time.perf_counter() - start
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the action server did not start")

    def start_rasa(self, timeout: float = 240) -> float:
        """Start Rasa; returns the seconds from process start to the first answered message."""
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{self.workdir / "tracker.db"}"\n'
        )
        # The project's channels and server extensions as `make run` opens them (python -m bot.server).
        credentials = ROOT / "credentials.yml"
        start = time.perf_counter()
        self.rasa = self._spawn(
            [
                str(BIN / "python"),
                "-m",
                "bot.server",
                "run",
                "--model",
                str(self.model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(credentials),
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
            ],
            "rasa.log",
        )
        deadline = start + timeout
        while time.perf_counter() < deadline:
            self._check(self.rasa, "rasa.log")
            try:
                if post(self.url, "cold-start", "bonjour", timeout=30):
                    return time.perf_counter() - start
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Rasa did not answer")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


async def run_level(
    url: str, concurrency: int, conversations: int, tag: str, think_s: Optional[Tuple[float, float]] = None
) -> dict:
    """`conversations` scripted conversations, `concurrency` at a time; latency of every turn.
    `think_s`: a user's pause before each message, uniform in that range (seeded), or none."""
    import aiohttp

    pauses = random.Random(f"{tag}-{concurrency}")
    latencies: List[float] = []
    errors: List[str] = []
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(conversations):
        queue.put_nowait(i)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)

    async def user(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            sender = f"bench-{tag}-{concurrency}-{i}"
            for text in SCRIPTS[i % len(SCRIPTS)]:
                if think_s:
                    await asyncio.sleep(pauses.uniform(*think_s))
                start = time.perf_counter()
                try:
                    async with session.post(
                        url + "/webhooks/rest/webhook", json={"sender": sender, "message": text}
                    ) as response:
                        body = await response.json()
                        if response.status != 200 or not body:
                            errors.append(f"{response.status} {text!r}: {str(body)[:100]}")
                except Exception as error:  # noqa: BLE001 - every failure counts as an error
                    errors.append(f"{type(error).__name__} {text!r}")
                latencies.append((time.perf_counter() - start) * 1000)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        await asyncio.gather(*(user(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "concurrency": concurrency,
        "think_s": list(think_s) if think_s else None,
        "conversations": conversations,
        "turns": len(latencies),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "turns_per_s": round(len(latencies) / elapsed, 1),
        "errors": len(errors),
        "error_samples": errors[:5],
    }


def benchmark(model: Path, env: Optional[Dict[str, str]] = None, levels: Optional[Dict[int, int]] = None) -> dict:
    levels = levels or LEVELS
    with tempfile.TemporaryDirectory(prefix="ka2-bench-serve-") as tmp:
        servers = Servers(model, Path(tmp), env)
        try:
            result: dict = {"model": str(model), "model_mb": round(model.stat().st_size / 1e6, 1)}
            result["actions_cold_start_s"] = round(servers.start_actions(), 2)
            result["rasa_cold_start_s"] = round(servers.start_rasa(), 2)
            # Warm-up: every script once, so every code path (form, matcher, actions) has run.
            asyncio.run(run_level(servers.url, 1, len(SCRIPTS), "warmup"))
            result["rss_mb_after_warmup"] = {"rasa": rss_mb(servers.rasa.pid), "actions": rss_mb(servers.actions.pid)}
            result["levels"] = [asyncio.run(run_level(servers.url, c, n, "paced", THINK_S)) for c, n in levels.items()]
            result["saturation"] = [
                asyncio.run(run_level(servers.url, c, n, "saturation")) for c, n in SATURATION_LEVELS.items()
            ]
            result["rss_mb_after_load"] = {"rasa": rss_mb(servers.rasa.pid), "actions": rss_mb(servers.actions.pid)}
            result["turns_per_s_saturation"] = max(level["turns_per_s"] for level in result["saturation"])
            result["errors"] = sum(level["errors"] for level in result["levels"] + result["saturation"])
        finally:
            servers.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "models" / "ka2.tar.gz"))
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for both servers")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    print(json.dumps(benchmark(Path(args.model), env), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

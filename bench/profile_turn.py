"""Where a turn's time and the Rasa process's memory go.

    .venv/bin/python bench/profile_turn.py [--model models/ka2.tar.gz] [--rounds 3]

Starts the action server on a free 127.0.0.1 port, loads the model in this process (as `rasa run`
does) with a SQLite tracker store, and replays bench/serve.py's conversations. Every NLU component's
`process`, every policy's prediction, the action server call and the tracker store are wrapped with
wall-clock timers. Memory: RSS after importing Rasa/TensorFlow, after loading the model, after the
conversations; and the model archive's size per component. Writes bench/profile.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import json
import logging
import os
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from serve import SCRIPTS, Servers  # noqa: E402

TIMES: dict = defaultdict(float)
CALLS: dict = defaultdict(int)


def wrap(owner, name: str, label: str) -> None:
    original = owner.__dict__.get(name)
    if original is None:
        return
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def timed_async(*args, **kwargs):
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                TIMES[label] += time.perf_counter() - start
                CALLS[label] += 1

        setattr(owner, name, timed_async)
    else:

        @functools.wraps(original)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                TIMES[label] += time.perf_counter() - start
                CALLS[label] += 1

        setattr(owner, name, timed)


def instrument() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.policies.memoization import MemoizationPolicy
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
    from rasa.nlu.extractors.entity_synonyms import EntitySynonymMapper
    from rasa.nlu.featurizers.dense_featurizer.spacy_featurizer import SpacyFeaturizer
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.featurizers.sparse_featurizer.lexical_syntactic_featurizer import LexicalSyntacticFeaturizer
    from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
    from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    wrap(MessageProcessor, "handle_message", "turn total (handle_message)")
    wrap(MessageProcessor, "parse_message", "NLU total (parse_message)")
    for cls in (
        SpacyNLP,
        SpacyTokenizer,
        SpacyFeaturizer,
        RegexFeaturizer,
        LexicalSyntacticFeaturizer,
        CountVectorsFeaturizer,
        DIETClassifier,
        EntitySynonymMapper,
        FallbackClassifier,
    ):
        wrap(cls, "process", f"NLU {cls.__name__}")
    wrap(MessageProcessor, "predict_next_with_tracker_if_should", "policies total (predict next action)")
    for cls in (RulePolicy, MemoizationPolicy, TEDPolicy):
        wrap(cls, "predict_action_probabilities", f"policy {cls.__name__}")
    wrap(RemoteAction, "run", "action server call (RemoteAction.run)")
    wrap(SQLTrackerStore, "retrieve", "tracker store retrieve")
    wrap(SQLTrackerStore, "save", "tracker store save")


def own_rss_mb() -> float:
    """This process only (the action server it started is a child and is not counted)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def model_breakdown(model: Path) -> dict:
    sizes: dict = defaultdict(int)
    with tarfile.open(model) as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            key = parts[1] if len(parts) > 2 and parts[0] == "components" else parts[0]
            sizes[key] += member.size
    return {k: round(v / 1e6, 2) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1]) if v > 10_000}


async def converse(agent, rounds: int) -> int:
    turns = 0
    for r in range(rounds):
        for i, script in enumerate(SCRIPTS):
            for text in script:
                await agent.handle_text(text, sender_id=f"profile-{r}-{i}")
                turns += 1
    return turns


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "models" / "ka2.tar.gz"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    memory = {"python": own_rss_mb()}
    import rasa.core.agent  # noqa: F401
    import tensorflow  # noqa: F401
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.utils.log_utils import configure_structlog

    # As `python -m bot.server run`: the compiled response validator and the action timeout.
    from bot.server import install

    install()

    # As `rasa run` does (INFO): unconfigured, structlog prints every debug event and inflates the timings.
    configure_structlog(logging.INFO)
    memory["after importing rasa + tensorflow"] = own_rss_mb()
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    with tempfile.TemporaryDirectory(prefix="ka2-profile-") as tmp:
        servers = Servers(Path(args.model), Path(tmp))
        try:
            servers.start_actions()
            endpoint = EndpointConfig(f"http://127.0.0.1:{servers.action_port}/webhook")
            store = SQLTrackerStore(dialect="sqlite", db=str(Path(tmp) / "tracker.db"))
            start = time.perf_counter()
            agent = Agent.load(args.model, tracker_store=store, action_endpoint=endpoint)
            load_s = time.perf_counter() - start
            memory["after loading the model"] = own_rss_mb()
            instrument()

            async def run() -> tuple:
                await converse(agent, 1)  # warm-up, not counted
                TIMES.clear()
                CALLS.clear()
                start = time.perf_counter()
                turns = await converse(agent, args.rounds)
                return turns, time.perf_counter() - start

            turns, elapsed = asyncio.run(run())
            memory["after the conversations"] = own_rss_mb()
        finally:
            servers.stop()
    per_turn = {k: round(v / turns * 1000, 2) for k, v in sorted(TIMES.items(), key=lambda kv: -kv[1])}
    result = {
        "model": args.model,
        "model_load_s": round(load_s, 2),
        "turns": turns,
        "ms_per_turn_wall": round(elapsed / turns * 1000, 2),
        "ms_per_turn": per_turn,
        "calls": dict(CALLS),
        "rss_mb": memory,
        "model_mb_by_component": model_breakdown(Path(args.model)),
    }
    (ROOT / "bench" / "profile.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

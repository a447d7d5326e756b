"""Evaluate one NLU pipeline: k-fold cross-validation on the training data and the held-out file.

Run by bench/run.py in its own process, one pipeline at a time (one training at a time):
    .venv/bin/python bench/nlu_eval.py CONFIG --name NAME [--folds 5] [--skip-cv] [--out FILE]
Prints one JSON object: per-fold and mean metrics, training time of every training, held-out metrics.
Metrics: intent accuracy and macro F1 over the intents (as `rasa test nlu` counts them: the
FallbackClassifier's prediction undone), entity F1 (micro, exact span and type), the share of
messages that fall back (nlu_fallback), and the served accuracy (a fallback counted as wrong).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bot" / "data"
HELDOUT = ROOT / "tests" / "data" / "nlu_heldout.yml"
SEED = 42


def load_training_data():
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config(
        str(ROOT / "config.yml"), str(ROOT / "bot" / "domain.yml"), [str(DATA)]
    )
    return importer.get_nlu_data()


def folds(data, n: int):
    """Stratified folds with a fixed seed (rasa's own generate_folds is not seeded)."""
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    examples = data.intent_examples
    labels = [e.get_full_intent() for e in examples]
    splitter = StratifiedKFold(n_splits=n, shuffle=True, random_state=SEED)
    for train_index, test_index in splitter.split(examples, labels):
        shared = dict(
            entity_synonyms=data.entity_synonyms,
            regex_features=data.regex_features,
            lookup_tables=data.lookup_tables,
        )
        yield (
            TrainingData(training_examples=[examples[i] for i in train_index], **shared),
            TrainingData(training_examples=[examples[i] for i in test_index], **shared),
        )


def train(config: str, data, workdir: Path, name: str) -> Tuple[str, float]:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter

    data_file = workdir / f"{name}.yml"
    RasaYAMLWriter().dump(data_file, data)
    start = time.perf_counter()
    model = train_nlu(config, str(data_file), str(workdir), fixed_model_name=name)
    return model, time.perf_counter() - start


def parse_all(model: str, examples) -> List[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)

    async def run() -> List[dict]:
        return [await agent.parse_message(e.get("text")) for e in examples]

    return asyncio.run(run())


def metrics(examples, parsed: List[dict]) -> Dict[str, float]:
    from rasa.nlu.classifiers.fallback_classifier import is_fallback_classifier_prediction, undo_fallback_prediction
    from sklearn.metrics import f1_score

    gold = [e.get("intent") for e in examples]
    served = [(p.get("intent") or {}).get("name") or "None" for p in parsed]
    # As `rasa test nlu` (and tests/test_rasa.py) counts: the classifier's intent, fallback undone;
    # the fallback is reported on its own.
    undone = [undo_fallback_prediction(p) if is_fallback_classifier_prediction(p) else p for p in parsed]
    predicted = [(p.get("intent") or {}).get("name") or "None" for p in undone]
    labels = sorted(set(gold))
    correct_entities = gold_entities = predicted_entities = 0
    for example, result in zip(examples, parsed, strict=False):
        expected = {(e["start"], e["end"], e["entity"]) for e in example.get("entities") or []}
        found = {(e["start"], e["end"], e["entity"]) for e in result.get("entities") or []}
        correct_entities += len(expected & found)
        gold_entities += len(expected)
        predicted_entities += len(found)
    precision = correct_entities / predicted_entities if predicted_entities else 0.0
    recall = correct_entities / gold_entities if gold_entities else 0.0
    return {
        "messages": len(examples),
        "intent_accuracy": sum(g == p for g, p in zip(gold, predicted, strict=False)) / len(gold),
        "intent_macro_f1": float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
        "entity_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "fallback_share": sum(p == "nlu_fallback" for p in served) / len(served),
        "served_accuracy": sum(g == p for g, p in zip(gold, served, strict=False)) / len(gold),
    }


def evaluate(config: str, n_folds: int, skip_cv: bool) -> dict:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_training_data()
    heldout = load_data(str(HELDOUT))
    result: dict = {"config": config, "training_examples": len(data.intent_examples)}
    with tempfile.TemporaryDirectory(prefix="ka2-bench-nlu-") as tmp:
        workdir = Path(tmp)
        if not skip_cv:
            fold_results = []
            for i, (train_data, test_data) in enumerate(folds(data, n_folds)):
                model, seconds = train(config, train_data, workdir, f"fold{i}")
                row = metrics(test_data.intent_examples, parse_all(model, test_data.intent_examples))
                row["train_seconds"] = seconds
                fold_results.append(row)
                os.remove(model)
                print(f"  fold {i}: {json.dumps(row)}", file=sys.stderr, flush=True)
            keys = [k for k in fold_results[0] if k != "messages"]
            result["cv"] = {k: statistics.mean(r[k] for r in fold_results) for k in keys}
            result["cv"]["folds"] = n_folds
            result["cv_folds"] = fold_results
        model, seconds = train(config, data, workdir, "full")
        result["heldout"] = metrics(heldout.intent_examples, parse_all(model, heldout.intent_examples))
        result["heldout"]["train_seconds"] = seconds
        result["model_mb"] = os.path.getsize(model) / 1e6
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = evaluate(args.config, args.folds, args.skip_cv)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

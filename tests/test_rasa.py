"""The trained assistant: data validation, held-out NLU accuracy, end-to-end test stories."""

from __future__ import annotations

import json
import subprocess

import pytest

from .conftest import BIN, OUTPUT, ROOT, model_path

# Each test runs the trained model through rasa's CLI (minutes): with the stack tests.
pytestmark = pytest.mark.stack
HELDOUT = ROOT / "tests" / "data" / "nlu_heldout.yml"
MIN_HELDOUT_ACCURACY = 0.95  # measured 0.978 with config.yml (README, Performance)


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "rasa"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"SQLALCHEMY_SILENCE_UBER_WARNING": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": str(BIN) + ":/usr/bin:/bin"},
    )


def test_training_data_and_domain_validate_cleanly():
    result = rasa(
        "data",
        "validate",
        "--domain",
        "bot/domain.yml",
        "--data",
        "bot/data",
        "--config",
        "config.yml",
        "--fail-on-warnings",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_heldout_messages_are_never_in_the_training_data():
    import yaml

    def examples(path):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for block in doc.get("nlu", []):
            for line in (block.get("examples") or "").splitlines():
                yield line.strip()[2:].lower()

    training = {e for path in (ROOT / "bot" / "data").rglob("*.yml") for e in examples(path)}
    overlap = [e for e in examples(HELDOUT) if e in training]
    assert not overlap


@pytest.fixture(scope="module")
def nlu_report():
    out = OUTPUT / "nlu_heldout"
    result = rasa("test", "nlu", "--model", str(model_path()), "--nlu", str(HELDOUT), "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "intent_report.json").read_text())


def test_heldout_intent_accuracy(nlu_report):
    accuracy = nlu_report["accuracy"]
    print(f"held-out intent accuracy: {accuracy:.3f}, macro F1: {nlu_report['macro avg']['f1-score']:.3f}")
    assert accuracy >= MIN_HELDOUT_ACCURACY


def test_end_to_end_test_stories_all_pass():
    out = OUTPUT / "stories"
    result = rasa(
        "test", "core", "--model", str(model_path()), "--stories", "tests/test_stories.yml", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failed = (out / "failed_test_stories.yml").read_text()
    assert "None of the test stories failed" in failed, failed

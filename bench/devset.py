"""The public development set (../shared/dev, questions and conversations written by other people)
against a stack started on free loopback ports: the answer-level score, per category.

    .venv/bin/python bench/devset.py          # prints the harness's table, returns its numbers

The set is read-only and is never used for training (see ../shared/dev/README.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEV = ROOT.parent / "shared" / "dev"
sys.path.insert(0, str(HERE))

import serve  # noqa: E402

ROW = re.compile(r"^(\w+)\s+(\d+)/(\d+)\s+[\d.]+%$")
SINGLE = re.compile(r"single-turn (\d+)/(\d+)")
FOLLOWUPS = re.compile(r"follow-ups (\d+)/(\d+) conversations · (\d+)/(\d+) turns")


def parse(output: str) -> dict:
    categories = {m.group(1): [int(m.group(2)), int(m.group(3))] for m in map(ROW.match, output.splitlines()) if m}
    single, followups = SINGLE.search(output), FOLLOWUPS.search(output)
    return {
        "cases": [int(single.group(1)), int(single.group(2))] if single else None,
        "conversations": [int(followups.group(1)), int(followups.group(2))] if followups else None,
        "turns": [int(followups.group(3)), int(followups.group(4))] if followups else None,
        "categories": categories,
    }


def run(model: Path = ROOT / "models" / "ka2.tar.gz") -> dict:
    if not (DEV / "run_dev.py").exists():
        return {"skipped": f"{DEV} not found"}
    with tempfile.TemporaryDirectory(prefix="ka2-devset-") as tmp:
        servers = serve.Servers(model, Path(tmp))
        try:
            servers.start_actions()
            servers.start_rasa()
            with tempfile.NamedTemporaryFile(suffix=".json") as report:
                done = subprocess.run(
                    [
                        sys.executable,
                        str(DEV / "run_dev.py"),
                        "--summary",
                        "--report",
                        report.name,
                        "--url",
                        servers.url + "/webhooks/rest/webhook",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
        finally:
            servers.stop()
    print(done.stdout)
    return parse(done.stdout)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

"""A real headless Chromium for tests, driven by playwright-core (tests/browser_driver.mjs) over stdin."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
DRIVER = ROOT / "tests" / "browser_driver.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing_browser_tools() -> List[str]:
    """What the browser tests need and this machine lacks (`make install` provides all of it)."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not shutil.which("node"):
        missing.append("node")
    for package in ("playwright-core", "axe-core"):
        if not (ROOT / "node_modules" / package).exists():
            missing.append(f"node_modules/{package} (npm ci)")
    if not (ROOT / "web" / "vendor" / "socket.io.min.js").exists():
        missing.append("web/vendor/socket.io.min.js (make install)")
    return missing


class BrowserError(AssertionError):
    pass


class Browser:
    """One page in a fresh Chromium profile; each method is one command to the driver."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._process = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "CHROMIUM": CHROMIUM},
        )

    def call(self, op: str, **args: Any) -> Any:
        command_id = next(self._ids)
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps({"id": command_id, "op": op, **args}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise BrowserError(f"the browser driver stopped during {op} (exit code {self._process.poll()})")
        answer: Dict[str, Any] = json.loads(line)
        if not answer["ok"]:
            raise BrowserError(f"{op} {args}: {answer['error']}")
        return answer["result"]

    def __getattr__(self, op: str) -> Any:
        return lambda **args: self.call(op, **args)

    def close(self) -> None:
        if self._process.stdin and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()

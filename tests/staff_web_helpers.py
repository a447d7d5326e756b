"""The staff web console as the tests run it: a real server process on 127.0.0.1, and an HTTP client."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

from .conftest import BIN, ROOT, free_port, wait_for

SECRET = "test-secret-" + "x" * 40
PASSWORD = "un mot de passe assez long"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Console:
    """`python -m staff.web` on a free loopback port, over the given databases."""

    def __init__(self, workdir: Path, env: Dict[str, str]):
        self.workdir = workdir
        self.port = free_port()
        self.env = {
            **os.environ,
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "KA2_STAFF_SECRET": SECRET,
            "KA2_STAFF_PORT": str(self.port),
            "KA2_STAFF_HOST": "127.0.0.1",
            **env,
        }
        self.log = workdir / f"staff-web-{self.port}.log"
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Console:
        self.process = subprocess.Popen(
            [str(BIN / "python"), "-m", "staff.web"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.url + "/connexion", self.process, self.log, timeout=120)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def add_user(self, email: str, agency: str, password: str = PASSWORD) -> None:
        """`ka2-staff users add`, the password on standard input (not a terminal)."""
        result = subprocess.run(
            [str(BIN / "ka2-staff"), "users", "add", email, "--agency", agency],
            input=password + "\n",
            capture_output=True,
            text=True,
            env=self.env,
            cwd=ROOT,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "enregistré" in result.stdout


def running_console(workdir: Path, env: Dict[str, str]) -> Iterator[Console]:
    console = Console(workdir, env).start()
    try:
        yield console
    finally:
        console.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """A browser-like HTTP client with cookies; no redirect is followed, so tests see them."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.csrf = ""

    def request(self, path: str, data: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=60) as response:
                status, headers, text = response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            status, headers, text = error.code, dict(error.headers), error.read().decode()
        found = CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return status, headers, text

    def get(self, path: str) -> Tuple[int, Dict[str, str], str]:
        return self.request(path)

    def post(self, path: str, with_csrf: bool = True, **data: str) -> Tuple[int, Dict[str, str], str]:
        if with_csrf:
            data = {"csrf": self.csrf, **data}
        return self.request(path, data)

    def sign_in(self, email: str, password: str = PASSWORD) -> Tuple[int, Dict[str, str], str]:
        self.get("/connexion")
        return self.post("/connexion", email=email, password=password)

    def cookie(self, name: str) -> Optional[http.cookiejar.Cookie]:
        return next((c for c in self.jar if c.name == name), None)

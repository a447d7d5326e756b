"""Security settings: no secret in the repository, no "*" origin in production, API off, e-mails masked."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from ka2.log_privacy import mask_emails
from tests.conftest import ROOT

# Token-like strings: Telegram bot tokens, private keys, cloud/API keys, passwords in URLs or settings.
SECRET_PATTERNS = {
    "telegram token": re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b"),
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP )?PRIVATE KEY-----"),
    "AWS key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:(?P<value>[^\s@/'\"$]{4,})@"),
    "secret setting": re.compile(
        r"""(?i)\b[\w-]*(?:password|passwd|secret|token|api_key|apikey)["']?\s*[:=]\s*["'](?P<value>[^"'\s]{8,})["']"""
    ),
}
# Values that are obviously not secrets: placeholders and the fakes of the tests.
PLACEHOLDER = re.compile(
    r"(?i)\$\{|\{\{|test|example|fake|dummy|changeme|placeholder|xxx|<|\.\.\.|…|^secret$|s3cret|motdepasse|^password$"
)
BINARY = {".png", ".jpg", ".gif", ".ico", ".gz", ".tar", ".woff", ".woff2", ".pdf"}


def repository_files() -> List[Path]:
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    files = [ROOT / name for name in listed if name]
    # This file holds real-looking samples on purpose, to test the patterns.
    skip = {Path(__file__).resolve()}
    return [f for f in files if f.is_file() and f.suffix not in BINARY and "vendor" not in f.parts and f not in skip]


def test_no_secret_in_the_repository():
    found = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for name, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                value = match.groupdict().get("value") or match.group(0)
                if not PLACEHOLDER.search(value) and not PLACEHOLDER.search(match.group(0)):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert found == [], "token-like strings in the repository:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "text",
    [
        'TELEGRAM_TOKEN="1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"',
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "url: postgresql://ka2:Tr0ub4dor3@db:5432/ka2",
        'smtp_password: "hunter2hunter2"',
    ],
)
def test_the_secret_patterns_catch_real_looking_secrets(text):
    hits = [
        m
        for p in SECRET_PATTERNS.values()
        for m in p.finditer(text)
        if not PLACEHOLDER.search(m.groupdict().get("value") or m.group(0))
    ]
    assert hits


def test_production_settings_take_secrets_from_the_environment_and_never_allow_any_origin():
    endpoints = (ROOT / "deploy" / "endpoints.prod.yml").read_text()
    for key in ("url", "port", "db", "username", "password"):
        values = re.findall(rf"^\s+{key}:\s*(.+)$", endpoints, flags=re.M)
        assert values and all(v.strip().startswith("${") for v in values), (key, values)
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"POSTGRES_PASSWORD: \$\{POSTGRES_PASSWORD:\?", compose)
    for path in ["docker-compose.yml", "deploy/credentials.prod.yml", "deploy/rasa-entrypoint.sh", "scripts/run.sh"]:
        text = (ROOT / path).read_text()
        assert not re.search(r"""(--cors|ORIGINS:?=?)\s*["']?\*""", text), path
    entrypoint = (ROOT / "deploy" / "rasa-entrypoint.sh").read_text()
    assert "KA2_ENABLE_API=1 requires RASA_AUTH_TOKEN" in entrypoint and "must list origins, not *" in entrypoint


def test_rasa_http_api_is_off_for_make_run():
    run = (ROOT / "scripts" / "run.sh").read_text()
    assert "--enable-api" not in run.replace("RASA_ENABLE_API", "")


def test_emails_are_masked_in_every_log_record(caplog):
    from bot.server import install

    install()  # as the Rasa server's entry point does

    assert mask_emails("écrire à marie.dupont@example.org ou JP+ka2@ecole.be.") == (
        "écrire à m***@***.org ou J***@***.be."
    )
    with caplog.at_level(logging.INFO):
        logging.getLogger("rasa.core.processor").info("Received user message '%s'", "mon mail: lou@ex.be")
        logging.getLogger("bot.actions.handoff").warning("handoff for lou.martin@asbl-jeunes.be")
    assert "lou@ex.be" not in caplog.text and "lou.martin@asbl-jeunes.be" not in caplog.text
    assert "l***@***.be" in caplog.text


def test_deploy_channels_are_protected_in_the_proxy_and_compose():
    """Issue 15's deploy/ findings, checked in the files docker compose uses."""
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "$http_host" not in nginx and 'data-server-url="same-origin"' in nginx, "no Host header in the page"
    csp = re.search(r'Content-Security-Policy "([^"]+)"', nginx)[1]
    assert "connect-src 'self' wss://${KA2_PUBLIC_HOST};" in csp and " ws:" not in csp and " wss: " not in csp
    for zone in ("ka2_socket", "ka2_rest", "ka2_telegram"):
        assert re.search(rf"limit_req_zone \$binary_remote_addr zone={zone}:", nginx)
        assert f"limit_req zone={zone} " in nginx
    assert "limit_conn ka2_conn" in nginx
    rest = re.search(r"location = /webhooks/rest/webhook \{(.*?)\n    \}", nginx, flags=re.S)[1]
    assert "$http_authorization" in rest and "return 401" in rest
    compose = (ROOT / "docker-compose.yml").read_text()
    assert '"--requirepass", "${KA2_REDIS_PASSWORD:?' in compose
    assert "KA2_REDIS_PASSWORD: ${KA2_REDIS_PASSWORD:?" in compose and 'KA2_TRUSTED_PROXIES: "1"' in compose
    assert "/etc/nginx/templates/default.conf.template" in compose
    credentials = (ROOT / "deploy" / "credentials.prod.yml").read_text()
    assert "bot.channels.telegram.TelegramInput:\n  optional: true" in credentials
    entrypoint = (ROOT / "deploy" / "rasa-entrypoint.sh").read_text()
    assert "KA2_REST_OPEN is for make run only" in entrypoint
    assert "KA2_REST_OPEN=${KA2_REST_OPEN:-1}" in (ROOT / "scripts" / "run.sh").read_text()


def test_the_nginx_template_only_fills_in_the_public_host():
    """What the nginx image's envsubst step does with NGINX_ENVSUBST_FILTER=^KA2_ (nginx's own $vars stay)."""
    envsubst = shutil.which("envsubst")
    if envsubst is None:
        pytest.skip("envsubst (gettext-base) is not installed")
    template = (ROOT / "deploy" / "nginx.conf").read_text()
    done = subprocess.run(
        [envsubst, "${KA2_PUBLIC_HOST}"],
        input=template,
        capture_output=True,
        text=True,
        env={"KA2_PUBLIC_HOST": "assistant.example.be"},
        check=True,
    )
    assert "connect-src 'self' wss://assistant.example.be;" in done.stdout
    replaced = template.count("${KA2_PUBLIC_HOST}")
    assert replaced and done.stdout.count("$") == template.count("$") - replaced, "only KA2_PUBLIC_HOST is filled in"

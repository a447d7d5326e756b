"""The settings module: every variable declared once, an invalid value named at start-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ka2 import settings


def test_defaults_when_unset_or_blank():
    assert settings.MAX_MESSAGE_CHARS.get({}) == 2000
    assert settings.MAX_MESSAGE_CHARS.get({"KA2_MAX_MESSAGE_CHARS": "  "}) == 2000
    assert settings.LOG_EMAILS.get({}) is False
    assert settings.ALLOWED_ORIGINS.get({"KA2_ALLOWED_ORIGINS": "https://a.be, https://b.be"}) == (
        "https://a.be",
        "https://b.be",
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("KA2_MAX_MESSAGE_CHARS", "beaucoup"),
        ("KA2_MAX_MESSAGE_CHARS", "0"),
        ("KA2_MAX_BODY_BYTES", "12"),
        ("KA2_ACTION_TIMEOUT", "-1"),
        ("KA2_LOG_EMAILS", "peut-être"),
    ],
)
def test_an_invalid_value_is_refused_naming_the_variable(name, value):
    with pytest.raises(settings.SettingsError) as raised:
        settings.validate({name: value})
    assert raised.value.name == name and str(raised.value).startswith(f"{name}={value!r}")


def test_validate_lists_what_is_set():
    assert settings.validate({"KA2_ACTION_TIMEOUT": "4", "UNRELATED": "x"}) == ["KA2_ACTION_TIMEOUT"]


def test_the_rasa_entry_point_stops_on_an_invalid_variable_with_one_line():
    process = subprocess.run(
        [sys.executable, "-m", "bot.server", "run"],
        env={"KA2_ACTION_TIMEOUT": "dix", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode != 0
    assert process.stderr.strip().splitlines()[-1] == (
        "Configuration invalide, Rasa non démarré : KA2_ACTION_TIMEOUT='dix': un nombre est attendu"
    )

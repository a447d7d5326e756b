"""`python -m bot.server run ...`: Rasa's command line with this project's server extensions installed."""

from __future__ import annotations

import sys

from bot.server import install
from ka2 import settings


def main() -> None:
    try:
        settings.validate()
    except settings.SettingsError as error:
        raise SystemExit(f"Configuration invalide, Rasa non démarré : {error}") from None
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()

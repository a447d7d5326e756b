"""`python -m staff.web`: serve the staff console on KA2_STAFF_HOST:KA2_STAFF_PORT (127.0.0.1:8001)."""

from __future__ import annotations

import logging
import sys

from ka2.database_url import DatabaseConfigError
from ka2.settings import SettingsError

from .auth import SecretError


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .app import create_app

    try:
        app = create_app()
    except (SecretError, SettingsError, DatabaseConfigError) as error:
        print(f"console du personnel : {error}", file=sys.stderr)
        return 1
    config = app.ctx.config
    print(f"Console du personnel sur http://{config.host}:{config.port}/", flush=True)
    app.run(host=config.host, port=config.port, access_log=False, motd=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the conversation store and the helpdesk tables live, as SQLAlchemy URLs.

One configuration for the Rasa server, the action server and the staff console:

- `KA2_DB_URL`: the conversation store (Rasa's SQL tracker store), e.g.
  `postgresql://ka2:secret@db.example/ka2` in production;
- otherwise the `tracker_store` section of `endpoints.yml` (`$KA2_ENDPOINTS`, default the
  repository's), with Rasa's `${VARIABLE}` substitution, so a production file holding
  `url: ${DB_HOST}`, `password: ${DB_PASSWORD}` works unchanged;
- `KA2_HELPDESK_DB_URL`: the handoff and feedback tables, by default the conversation store's
  database (the same SQLite file `var/tracker.db` in development).

A relative SQLite path is taken relative to the directory of the endpoints file (the repository
root, where `make run` starts Rasa), so the console finds the same file from any directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml
from sqlalchemy.engine import URL, make_url

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ENDPOINTS = REPO_ROOT / "endpoints.yml"
ENV_TRACKER_URL = "KA2_DB_URL"
ENV_HELPDESK_URL = "KA2_HELPDESK_DB_URL"
ENV_ENDPOINTS = "KA2_ENDPOINTS"
ENV_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class DatabaseConfigError(Exception):
    """The database cannot be located from the configuration."""


def expand_variables(value: Any, env: Mapping[str, str]) -> Any:
    """Rasa's `${VARIABLE}` substitution in endpoints.yml values (a missing variable is an error)."""
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise DatabaseConfigError(f"endpoints.yml uses ${{{name}}}, which is not set in the environment")
        return env[name]

    return ENV_VARIABLE.sub(substitute, value)


def url_from_tracker_store(section: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]) -> str:
    """The SQLAlchemy URL of an SQL `tracker_store` section, built as Rasa's SQLTrackerStore does."""
    values: Dict[str, Any] = {k: expand_variables(v, env) for k, v in section.items()}
    if str(values.get("type", "")).upper() != "SQL":
        raise DatabaseConfigError(f"the tracker store is of type '{values.get('type')}', not SQL")
    dialect = values.get("dialect") or "sqlite"
    host = values.get("url")
    if host and "://" in str(host):
        return str(host)
    database = str(values.get("db") or "rasa.db")
    if dialect.startswith("sqlite"):
        path = Path(database)
        return f"sqlite:///{path if path.is_absolute() else base_dir / path}"
    port = values.get("port")
    return str(
        URL.create(
            dialect,
            username=values.get("username"),
            password=values.get("password"),
            host=host,
            port=int(port) if port else None,
            database=database,
            query=values.get("query") or {},
        ).render_as_string(hide_password=False)
    )


def endpoints_file(env: Mapping[str, str]) -> Path:
    return Path(env.get(ENV_ENDPOINTS) or DEFAULT_ENDPOINTS)


def tracker_db_url(env: Optional[Mapping[str, str]] = None, endpoints: Optional[Path] = None) -> str:
    """The conversation store's URL: $KA2_DB_URL, else endpoints.yml's tracker_store."""
    env = os.environ if env is None else env
    if env.get(ENV_TRACKER_URL):
        return env[ENV_TRACKER_URL]
    path = Path(endpoints) if endpoints else endpoints_file(env)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise DatabaseConfigError(f"{path} cannot be read ({error.strerror})") from None
    section = config.get("tracker_store")
    if not isinstance(section, dict):
        raise DatabaseConfigError(f"{path} has no tracker_store section")
    return url_from_tracker_store(section, path.resolve().parent, env)


def helpdesk_db_url(env: Optional[Mapping[str, str]] = None, endpoints: Optional[Path] = None) -> str:
    """The helpdesk tables' URL: $KA2_HELPDESK_DB_URL, else the conversation store's."""
    env = os.environ if env is None else env
    return env.get(ENV_HELPDESK_URL) or tracker_db_url(env, endpoints)


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return str(make_url(url).render_as_string(hide_password=True))

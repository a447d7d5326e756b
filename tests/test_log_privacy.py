"""No e-mail address in clear in the logs: messages, tracebacks, stacks and failed SQL statements.

The logging tests run in a child process: `log_privacy.install()` changes logging for the whole
process, and the other tests read addresses in their own captured logs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from ka2 import helpdesk_store as store

from .conftest import ROOT

CHILD = textwrap.dedent(
    """
    import io, logging, sys
    sys.path.insert(0, {root!r})
    from ka2 import log_privacy

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.getLogger().addHandler(handler)
    bare = logging.StreamHandler(out)  # no formatter of its own: logging's default one
    logging.getLogger("bare").addHandler(bare)
    log_privacy.install()
    late = logging.StreamHandler(out)  # added after install(), as Rasa does when it configures logging
    late.setFormatter(logging.Formatter("late %(message)s"))
    logging.getLogger("late").addHandler(late)

    log = logging.getLogger("app")
    log.warning("request from %s", "marie.dupont@example.org")
    def fail(address):
        raise ValueError(f"duplicate key (email)=({{address}})")
    try:
        fail("jean.martin@example.org")
    except ValueError:
        log.exception("insert failed")
        logging.getLogger("bare").error("again", exc_info=True)
        logging.getLogger("late").error("late", exc_info=True)
    log.warning("stack", stack_info=True)  # the stack shows this line: awa@example.be
    print(out.getvalue())
    """
)


def child_log(tmp_path, **env: str) -> str:
    """What the child's handlers wrote (the script is a file, so its stack shows its source lines)."""
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT)), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k != "KA2_LOG_EMAILS"}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env={**environment, **env}, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_addresses_in_tracebacks_stacks_and_messages_are_masked(tmp_path):
    log = child_log(tmp_path)
    assert "Traceback (most recent call last)" in log and "ValueError: duplicate key (email)=(j***@***.org)" in log
    assert log.count("j***@***.org") >= 3  # each handler's traceback: root, default formatter, late one
    assert "request from m***@***.org" in log
    assert "Stack (most recent call last)" in log and "a***@***.be" in log
    for address in ("marie.dupont@example.org", "jean.martin@example.org", "awa@example.be"):
        assert address not in log


def test_ka2_log_emails_turns_the_masking_off_for_debugging(tmp_path):
    log = child_log(tmp_path, KA2_LOG_EMAILS="1")
    assert "jean.martin@example.org" in log and "marie.dupont@example.org" in log


def test_a_failed_insert_does_not_carry_its_parameters(tmp_path):
    url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    values = dict(
        id=1,
        created_at=store.utc_now(),
        sender_id="web:abc",
        name="Marie Dupont",
        email="marie.dupont@example.org",
        question="?",
        last_messages="[]",
        status="open",
    )
    engine = store.engine_for(url)
    with engine.begin() as connection:
        connection.execute(store.handoff_requests.insert().values(**values))
    with pytest.raises(sa.exc.IntegrityError) as failure:
        with engine.begin() as connection:
            connection.execute(store.handoff_requests.insert().values(**values))
    text = str(failure.value)
    assert "SQL parameters hidden" in text
    assert "marie.dupont@example.org" not in text and "Marie Dupont" not in text

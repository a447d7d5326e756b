"""Users' e-mail addresses never appear in clear in the logs (Rasa server and action server).

`install()` sets a log-record factory that masks every e-mail address in a record's message
(`marie.dupont@example.org` -> `m***@***.org`) before any handler sees it, whatever the logger.
The action server installs it at start-up (`bot/actions/startup.py`), the Rasa server in its entry
point (`bot.server.install`). Set KA2_LOG_EMAILS=1 to turn it off while debugging
on a machine without real users.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from . import settings

EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*@[\w-]+(?:\.[\w-]+)*\.([A-Za-z]{2,24})\b")


def mask_emails(text: str) -> str:
    return EMAIL.sub(lambda m: f"{m.group(1)}***@***.{m.group(2)}", text)


def install() -> None:
    if settings.LOG_EMAILS.get():
        return
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_ka2_masks_emails", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return record
        if "@" in message:
            record.msg, record.args = mask_emails(message), None
        return record

    factory._ka2_masks_emails = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)

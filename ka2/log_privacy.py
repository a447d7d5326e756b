"""Users' e-mail addresses never appear in clear in the logs (Rasa server and action server).

`install()` sets a log-record factory that masks every e-mail address in a record's message
(`marie.dupont@example.org` -> `m***@***.org`) before any handler sees it, whatever the logger,
and makes every `logging.Formatter` (the root handlers', Rasa's coloured one, the default one of a
handler without formatter, those created later) mask its output too: a traceback or an exception's
text (a failed SQL insert quoting the address) is written by the formatter, after the factory ran.
The action server installs it at start-up (`bot/actions/startup.py`), the Rasa server in its entry
point (`bot.server.install`). Set KA2_LOG_EMAILS=1 to turn it off while debugging
on a machine without real users.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

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
    mask_formatters()


def _masking(method: Callable[..., str]) -> Callable[..., str]:
    def masked(self: logging.Formatter, *args: Any) -> str:
        text = method(self, *args)
        return mask_emails(text) if "@" in text else text

    masked._ka2_masks_emails = True  # type: ignore[attr-defined]
    masked._ka2_original = method  # type: ignore[attr-defined]
    return masked


def mask_formatters() -> None:
    """Every Formatter masks what it writes: the message, the traceback and the stack (idempotent)."""
    for name in ("format", "formatException", "formatStack"):
        method = getattr(logging.Formatter, name)
        if not getattr(method, "_ka2_masks_emails", False):
            setattr(logging.Formatter, name, _masking(method))

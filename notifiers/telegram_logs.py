"""python-telegram-bot's own log lines, made to fit recallbot's: one line per event, no duplicate tracebacks.

When a proxy in front of the Bot API answers an HTML error page (a 502 during an outage),
PTB logs "Can not load invalid JSON data" at ERROR with a traceback and the whole page,
then raises ``TelegramError("Invalid server response")``. recallbot handles that error
where it is raised (a retried send is one WARNING from the delivery worker), so PTB's
record is turned into a one-line DEBUG record. PTB has no setting for this, hence a filter.
"""

from __future__ import annotations

import logging

PTB_REQUEST_LOGGER = "telegram.request.BaseRequest"  # telegram._utils.logging names it after the class
_INVALID_JSON = "Can not load invalid JSON data"


class _Downgrade(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(_INVALID_JSON):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.msg, record.args = f"{_INVALID_JSON} (an HTML error page?); the caller retries", None
            record.exc_info = record.exc_text = None
        return True


def quiet_ptb_logs() -> None:
    """Install the filter once (idempotent)."""
    logger = logging.getLogger(PTB_REQUEST_LOGGER)
    if not any(isinstance(f, _Downgrade) for f in logger.filters):
        logger.addFilter(_Downgrade())


def short_error(error: Exception) -> str:
    """Return an error's message in one short line (PTB quotes a whole HTML error page in some)."""
    text = str(error).split(". Parsing the server response", 1)[0]
    first = text.splitlines()[0] if text else type(error).__name__
    return first if len(first) <= 160 else first[:157] + "..."

"""Logging set-up: one line per record, and no secret in any of it, tracebacks included."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

# user:password@ in any URL (a database URL, a proxy), whether or not the URL parses.
_URL_PASSWORD = re.compile(r"(?<=://)([^:/@\s'\"]*):([^@\s'\"]+)@")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask_passwords(text: str) -> str:
    """Return ``text`` with the password of every URL in it replaced by ***."""
    return _URL_PASSWORD.sub(r"\1:***@", text)


class RedactingFormatter(logging.Formatter):
    """Formats a record, then removes secrets from the whole text.

    Redaction happens here, on the finished text, and not in a filter on the record,
    so that a traceback (formatted by the Formatter) or a library's own message is
    redacted as well as recallbot's.
    """

    def __init__(self, secrets: Iterable[str] = (), fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        """Return ``text`` with URL passwords masked and every secret replaced."""
        text = mask_passwords(text)
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        return text


class JsonFormatter(RedactingFormatter):
    """Formats a record as one JSON object on one line, for a log collector; redacted as the text lines are.

    Each value is redacted before it is encoded, so a secret is found however JSON escapes it.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exc_info"] = self.redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = self.redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: int) -> None:
    """Log to stderr at ``level``, with passwords in URLs masked from the first record on."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token in the URL
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def hide_secrets(secrets: Iterable[str]) -> None:
    """Keep these secrets (the bot tokens) out of every log line from now on."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, RedactingFormatter):
            handler.formatter.secrets += [s for s in secrets if s]
        else:
            handler.setFormatter(RedactingFormatter(secrets))


def use_format(name: str) -> None:
    """Write every log line as ``name`` from now on: "json" (one object a line) or "text"; secrets stay hidden."""
    for handler in logging.getLogger().handlers:
        secrets = handler.formatter.secrets if isinstance(handler.formatter, RedactingFormatter) else []
        handler.setFormatter(JsonFormatter(secrets) if name == "json" else RedactingFormatter(secrets))

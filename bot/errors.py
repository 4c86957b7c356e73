"""Every error recallbot raises on purpose.

RecallbotError
├── ConfigError        a configuration key is wrong; the message names the key and the fix
├── RecordError        one dataset record breaks the format; the others still load
├── UsageError         a command got input it cannot take; the message is for the user
└── SourceError        a source could not be read this time (network, status, body)
"""

from __future__ import annotations


class RecallbotError(Exception):
    """Base of all recallbot errors."""


class ConfigError(RecallbotError):
    """The configuration cannot be used as it is."""


class RecordError(RecallbotError):
    """One record of a dataset breaks the format."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UsageError(RecallbotError):
    """A command was given input it cannot take; ``str(error)`` is the reply."""


class SourceError(RecallbotError):
    """A source could not be read; the reason is safe to show an operator."""

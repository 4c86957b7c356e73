"""Every error recallbot raises on purpose.

RecallbotError
├── ConfigError        a configuration key is wrong; the message names the key and the fix
├── RecordError        one dataset record breaks the format; the others still load
├── UsageError         a command got input it cannot take; the message is for the user
├── SourceError        a source could not be read this time (network, status, body)
└── PhotoError         a photo of a label cannot be read now
    ├── PhotoBusy      the chat's previous photo is still being read, or too many are
    └── PhotoTooLarge  the file is larger than a bot may download
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


class PhotoError(RecallbotError):
    """A photo cannot be read now; the adapter answers with a sentence."""


class PhotoBusy(PhotoError):
    """A photo cannot be read now: ``own`` if the chat's previous photo is still being read, else the reader is full."""

    def __init__(self, chat: str, own: bool) -> None:
        super().__init__(chat, own)
        self.chat = chat
        self.own = own


class PhotoTooLarge(PhotoError):
    """A photo is larger than a chat platform lets a bot download."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(size, limit)
        self.size = size
        self.limit = limit
